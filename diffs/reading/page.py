"""Pages of a sorted set's diffs after an exact position, for clients that follow a feed.

A position is a diff's ``arrival``, ``(score, id)``: the score is where the write script put
the diff when it was stored (:mod:`diffs.storage.store`), so a diff stored late, whatever its
change time, comes after every position issued before it was stored. Scores of one key do not
tie (each is a microsecond above the last) except for diffs written with given scores; ids
never tie, and Redis sorts members of one score by their text, which starts with the id. So
"after a position" is exact: nothing is skipped or repeated.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .diff import Diff

#: ``(score, id)`` of the last diff a client has seen; None for "from the start".
Position = tuple[float, str]


@dataclass(frozen=True)
class Page:
    """Up to ``limit`` diffs after a position, oldest first, and whether more follow.

    ``last`` is the position of the last diff read, when the page left some out (a filter):
    the next page starts after it, so what was left out is not read again.
    """

    diffs: list[Diff]
    more: bool
    last: Position | None = None

    def end(self, after: Position | None) -> Position | None:
        """Return the position to read the next page after (``after`` when nothing was read)."""
        if self.last is not None:
            return self.last
        return self.diffs[-1].arrival if self.diffs else after


Pairs = list[tuple[str, float]]


def page_of(
    replies: list[Pairs], after: Position | None, limit: int, decode: Callable[[Pairs], list[Diff]]
) -> Page:
    """Return the page read by :func:`diffs.storage.store.read_after` (``[ties, later]``)."""
    ties, later = replies
    found = [d for d in decode(ties) if after is None or d.arrival > after] + decode(later)
    return Page(found[:limit], len(found) > limit)
