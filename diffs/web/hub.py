"""One Redis subscription per process: every waiting feed request and stream shares it.

A request that waits for new diffs (``?wait=``, a Server-Sent Events stream) takes a
:class:`Watch` on the keys it follows from its event loop's :class:`Hub`. The hub holds one
subscription to the written-keys channel (:mod:`diffs.storage.notify`) for all of them, and
wakes the watches of each announced key: a thousand streams cost one Redis connection, not a
thousand. It subscribes when the first watch is taken and lets go :data:`LINGER` seconds
after the last one is returned (under WSGI, where a request's loop dies with it, at once:
:func:`aclose_hub`).

Streams woken by the same write usually read the same page (the same key after the same
cursor): :meth:`Hub.shared` lets them make that read once, together, and bounds how many
reads run at once (:data:`MAX_READS`).

When the subscription is lost (Redis restarted, a failover, a killed connection) the hub wakes
every watch, subscribes again (backing off while Redis does not answer, at once when a request
waits for it) and, once it is back, wakes every watch again: each re-reads from its own cursor,
so what was written meanwhile is not missed. A watch taken while the hub cannot subscribe
raises the Redis error (the feed answers 503).
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Iterable
from contextlib import asynccontextmanager, suppress
from typing import Any, TypeVar

import redis

from ..conf import diffs_settings
from ..storage import notify
from ..storage.connection import get_async_redis
from ..storage.topology import configured

logger = logging.getLogger("diffs")

T = TypeVar("T")

#: Seconds the subscription stays open after the last watch is returned (a long-poll client
#: that asks again at once finds it open).
LINGER = 5.0
#: Longest pause, in seconds, between two attempts to subscribe while Redis does not answer.
MAX_BACKOFF = 5.0
#: Seconds between two looks at whether anyone still watches.
TICK = 1.0
#: How many shared reads run at once (each holds a connection of the loop's pool): a thousand
#: streams connecting together open this many Redis connections, not a thousand.
MAX_READS = 16

_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[Hashable, str], Hub]] = (
    weakref.WeakKeyDictionary()
)


class Watch:
    """Interest in writes to some keys, woken by the hub (see :meth:`wait`)."""

    def __init__(self, keys: Iterable[str]) -> None:
        self.keys = frozenset(keys)
        self._woken = asyncio.Event()

    def wake(self) -> None:
        """Mark the watch woken (a write was announced, or announcements may have been lost)."""
        self._woken.set()

    async def wait(self, timeout: float) -> bool:
        """Return True once woken since the last wait (then re-read), False after ``timeout``."""
        try:
            await asyncio.wait_for(self._woken.wait(), timeout)
        except asyncio.TimeoutError:
            return False
        self._woken.clear()
        return True


class Hub:
    """The shared subscription of one event loop and key prefix (see the module docstring)."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self._watches: dict[str, set[Watch]] = {}
        self._count = 0
        self._idle_since = time.monotonic()
        self._task: asyncio.Task[None] | None = None
        #: Resolved by each attempt to subscribe: None once subscribed, else its error.
        self._attempt: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.subscribed = False
        self._reads: dict[Hashable, asyncio.Future[Any]] = {}
        self._readers = asyncio.Semaphore(MAX_READS)
        #: Set to cut a pause between attempts short (a request is waiting).
        self._retry_now = asyncio.Event()

    async def shared(self, key: Hashable, read: Callable[[], Awaitable[T]]) -> T:
        """Return ``await read()``, or the result of the same read (same ``key``) that another
        request of this loop is making now: a thousand streams woken by one write, reading the
        same page, make one Redis read, not a thousand."""
        found = self._reads.get(key)
        if found is None:
            found = self._reads[key] = asyncio.ensure_future(self._bounded(read))
            found.add_done_callback(lambda done: self._reads.pop(key, None))
        return await asyncio.shield(found)

    async def _bounded(self, read: Callable[[], Awaitable[T]]) -> T:
        async with self._readers:  # a connection of the pool each: bound how many at once
            return await read()

    @asynccontextmanager
    async def watching(self, keys: Iterable[str]) -> AsyncIterator[Watch]:
        """Watch ``keys`` for the block; return once subscribed, so no later write is missed.

        Raises a ``redis.RedisError`` when the hub cannot subscribe (within
        :data:`diffs.storage.notify.CONFIRM_TIMEOUT` seconds, or its last attempt failed).
        """
        watch = Watch(keys)
        self._add(watch)
        try:
            await self._subscribed()
            yield watch
        finally:
            self._remove(watch)

    async def _subscribed(self) -> None:
        """Return once the subscription is confirmed; raise the error of a failed attempt."""
        if self._task is None or self._task.done():
            self._attempt = asyncio.get_running_loop().create_future()
            self._task = asyncio.ensure_future(self._run())
        if self.subscribed:
            return
        if self._attempt.done():  # the last attempt failed: make the next one now, not later
            self._unsettle()
            self._retry_now.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._attempt), notify.CONFIRM_TIMEOUT + 1)
        except asyncio.TimeoutError as exc:
            raise redis.TimeoutError("the subscription to new diffs is not confirmed") from exc

    def _add(self, watch: Watch) -> None:
        for key in watch.keys:
            self._watches.setdefault(key, set()).add(watch)
        self._count += 1

    def _remove(self, watch: Watch) -> None:
        for key in watch.keys:
            found = self._watches.get(key)
            if found is not None:
                found.discard(watch)
                if not found:
                    del self._watches[key]
        self._count -= 1
        if not self._count:
            self._idle_since = time.monotonic()

    def _wake(self, keys: Iterable[str] | None) -> None:
        """Wake the watches of ``keys`` (None: every watch)."""
        if keys is None:
            for watches in self._watches.values():
                for watch in watches:
                    watch.wake()
            return
        for key in keys:
            for watch in self._watches.get(key, ()):
                watch.wake()

    def _wanted(self) -> bool:
        return bool(self._count) or time.monotonic() - self._idle_since < LINGER

    async def _run(self) -> None:
        """Subscribe, dispatch announcements, and subscribe again after a loss, while wanted."""
        backoff, lost = 0.1, False
        while self._wanted():
            try:
                async with notify.subscribed(get_async_redis(), self.prefix) as subscription:
                    self._settle(None)
                    if lost:  # a watch that read before the loss reads again now
                        self._wake(None)
                    backoff, lost = 0.1, False
                    while self._wanted():
                        keys = await subscription.next_keys(TICK)
                        if keys:
                            self._wake(keys)
                    self._unsettle()  # a watch taken while this closes waits for the next
            except Exception as exc:  # a Redis error, or anything else: never end silently
                logger.warning("diffs: lost the subscription to new diffs, retrying: %s", exc)
                self._settle(exc)
                self._wake(None)
                lost = True
                self._retry_now.clear()
                with suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._retry_now.wait(), backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
                if self._attempt.done():  # else a waiting request made the next one already
                    self._unsettle()

    def _settle(self, error: BaseException | None) -> None:
        """Resolve the current attempt: subscribed (``error`` None) or failed."""
        self.subscribed = error is None
        if not self._attempt.done():
            if error is None:
                self._attempt.set_result(None)
            else:
                self._attempt.set_exception(error)
                self._attempt.exception()  # retrieved: nobody waiting is no error to log

    def _unsettle(self) -> None:
        """Start a new attempt: watches taken from now on wait for it."""
        self.subscribed = False
        self._attempt = asyncio.get_running_loop().create_future()

    async def aclose(self) -> None:
        """Stop the subscription now."""
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task


def get_hub() -> Hub:
    """Return the running event loop's hub for the configured storage and key prefix (raises
    :class:`~diffs.ConfigurationError` when the settings name no storage)."""
    key = (configured(), diffs_settings.key_prefix)
    per_loop = _hubs.setdefault(asyncio.get_running_loop(), {})
    hub = per_loop.get(key)
    if hub is None:
        hub = per_loop[key] = Hub(key[1])
    return hub


async def aclose_hub() -> None:
    """Stop the running loop's hubs: call it before a short-lived loop ends (WSGI)."""
    for hub in _hubs.pop(asyncio.get_running_loop(), {}).values():
        await hub.aclose()
