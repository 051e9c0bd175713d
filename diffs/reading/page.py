"""Pages of an object's diffs after an exact position, for clients that follow a feed.

A position is a diff's ``order``, ``(timestamp, id)``: scores can tie (two processes, one
microsecond), ids never do, and Redis sorts members of one score by their text, which starts
with the id. So "after a position" is exact: nothing is skipped or repeated at a tie.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .diff import Diff

#: ``(timestamp, id)`` of the last diff a client has seen; None for "from the start".
Position = tuple[float, str]


@dataclass(frozen=True)
class Page:
    """Up to ``limit`` diffs after a position, oldest first, and whether more follow."""

    diffs: list[Diff]
    more: bool

    def end(self, after: Position | None) -> Position | None:
        """Return the position to read the next page after (``after`` when this one is empty)."""
        return self.diffs[-1].order if self.diffs else after


Pairs = list[tuple[str, float]]


def page_of(
    replies: list[Pairs], after: Position | None, limit: int, decode: Callable[[Pairs], list[Diff]]
) -> Page:
    """Return the page read by :func:`diffs.storage.store.read_after` (``[ties, later]``)."""
    ties, later = replies
    found = [d for d in decode(ties) if after is None or d.order > after] + decode(later)
    return Page(found[:limit], len(found) > limit)
