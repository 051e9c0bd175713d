"""Async reads of one object's diffs (redis.asyncio), for async views and the feed.

The ``DiffSet`` methods ``alist``, ``alen``, ``asince``, ``auntil``, ``anewest``, ``apage`` and
``adelta_after`` call these; they read what their sync twins read, through the running event
loop's client (:func:`diffs.storage.connection.get_async_redis`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from ..storage import store
from ..storage.connection import get_async_redis
from .delta import ModelDelta, caught_up_delta, net_delta
from .diff import Diff
from .outage import translated
from .page import Page, Position, page_of

if TYPE_CHECKING:
    from .diffset import DiffSet


class Feed(Protocol):
    """What a page is read from: a sorted set's key and how its members decode."""

    @property
    def key(self) -> str: ...

    def decode(self, pairs: list[tuple[str, float]]) -> list[Diff]: ...


@translated
async def alist(diffs: DiffSet) -> list[Diff]:
    """Return every diff of ``diffs`` (its window, if narrowed), oldest first."""
    client = get_async_redis()
    if diffs.window == (None, None):
        return diffs.changed(await store.aread_range(client, diffs.key, 0, -1))
    return diffs.changed(await store.aread_window(client, diffs.key, *diffs.scores))


@translated
async def alen(diffs: DiffSet) -> int:
    """Return how many diffs ``diffs`` holds."""
    if diffs.window == (None, None):
        return await store.acount(get_async_redis(), diffs.key)
    return len(await alist(diffs))


@translated
async def anewest(diffs: DiffSet, count: int) -> list[Diff]:
    """Return the ``count`` newest diffs, oldest first."""
    if count <= 0:
        return []
    if diffs.window != (None, None):
        return (await alist(diffs))[-count:]
    return diffs.decode(await store.aread_range(get_async_redis(), diffs.key, -count, -1))


@translated
async def apage(diffs: Feed, after: Position | None, limit: int) -> Page:
    """Return up to ``limit`` diffs after the position ``after``, and whether more follow."""
    pipe = store.read_after(get_async_redis(), diffs.key, None if after is None else after[0],
                            limit)
    return page_of(await pipe.execute(), after, limit, diffs.decode)


class _Earlier(Exception):
    """Raised by the first pass of :func:`adelta_after`: the diffs before are needed."""


@translated
async def adelta_after(
    diffs: DiffSet, after: Position | None, limit: int
) -> tuple[ModelDelta, Page]:
    """Return the net change of the object's own diffs in the page after ``after``, and the page.

    ``net_delta`` asks for the diffs before the window only when a value before it is unknown;
    a sync callback cannot await, so the first pass stops there and the second has them. A
    page that may hold a diff made before one already seen (stored late: its change time is
    not after the cursor's position) is compared state to state (``caught_up_delta``).
    """
    page = await apage(diffs, after, limit)
    window = diffs.own(page.diffs)
    new_record = window[-1] if window else None
    if after is not None and any(d.timestamp <= after[0] for d in window):
        seen = await _seen(diffs, after)
        return caught_up_delta(seen, window, new_record=new_record), page

    def stop() -> list[Diff]:
        raise _Earlier

    try:
        delta = net_delta(window, old_record=None, new_record=new_record, earlier=stop)
    except _Earlier:
        history = [] if after is None else await _seen(diffs, after)
        delta = net_delta(window, old_record=None, new_record=new_record,
                          earlier=lambda: history)
    return delta, page


async def _seen(diffs: DiffSet, after: Position) -> list[Diff]:
    """Return the object's own diffs stored up to the position ``after``, in stored order."""
    pairs = await store.aread_window(get_async_redis(), diffs.key, None, after[0])
    return diffs.stored_up_to(pairs, after)
