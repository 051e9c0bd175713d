"""Pages that leave some diffs out (``?fields=``, the ``feed_filter`` setting) and never stall.

A filter may hide every diff of a page. The page is then refilled from where the last read
stopped, a bounded number of times, and its end (the next cursor) is the position of the last
diff *read*, shown or not: a client moves past what it may not see, learns nothing of it, and
never reads it again. When the bound is reached the page may be short, even empty, with
``more`` set: the client asks again at once, from further on.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator, Iterable

from .diff import Diff
from .page import Page, Position

#: How many reads one filtered page makes at most, and how many diffs each reads at least
#: (a filter that hides most diffs should not cost one round trip per diff shown).
MAX_READS = 5
MIN_READ = 100

#: ``read(after, limit)``: a page of a feed after a position (``DiffSet.apage``,
#: ``ModelFeed.apage``).
Read = Callable[[Position | None, int], Awaitable[Page]]
#: ``keep(diffs)``: the diffs of a read that the reader may see, in their order.
Keep = Callable[[list[Diff]], Awaitable[list[Diff]]]


async def afiltered_page(read: Read, after: Position | None, limit: int, keep: Keep) -> Page:
    """Return up to ``limit`` diffs after ``after`` that ``keep`` keeps, and where it ended."""
    steps = _filling(after, limit)
    request = next(steps)
    while True:
        page = await read(request, max(limit, MIN_READ))
        try:
            request = steps.send((page, await keep(page.diffs)))
        except StopIteration as done:
            return done.value


def filtered_page(
    read: Callable[[Position | None, int], Page], after: Position | None, limit: int,
    keep: Callable[[list[Diff]], list[Diff]],
) -> Page:
    """Return what :func:`afiltered_page` returns, reading and keeping synchronously."""
    steps = _filling(after, limit)
    request = next(steps)
    while True:
        page = read(request, max(limit, MIN_READ))
        try:
            request = steps.send((page, keep(page.diffs)))
        except StopIteration as done:
            return done.value


def _filling(
    after: Position | None, limit: int
) -> Generator[Position | None, tuple[Page, list[Diff]], Page]:
    """Fill one filtered page: yield where to read next, receive ``(page read, kept)``,
    return the page (the logic both :func:`afiltered_page` and :func:`filtered_page` drive)."""
    shown: list[Diff] = []
    end = after
    for _ in range(MAX_READS):
        page, kept = yield end
        room = limit - len(shown)
        if len(kept) > room:  # the page is full: end at its last diff, read the rest again
            shown += kept[:room]
            return Page(shown, True, shown[-1].arrival)
        shown += kept
        end = page.end(end)
        if not page.more or len(shown) == limit:
            return Page(shown, page.more, end)
    return Page(shown, True, end)


def changed_any(fields: Iterable[str]) -> Callable[[list[Diff]], list[Diff]]:
    """Return a filter keeping the diffs that changed one of ``fields``, and every delete (a
    client following some fields of an object must learn that it is gone)."""
    wanted = frozenset(fields)
    return lambda diffs: [d for d in diffs if d.deleted or not wanted.isdisjoint(d.new.keys()
                                                                               | d.old.keys())]
