"""Server-Sent Events: a feed asked with ``Accept: text/event-stream`` streams its diffs.

The stream first sends what the JSON feed would answer after ``?cursor=`` or the
``Last-Event-ID`` header (else from the oldest kept diff), page after page, then each diff as
a worker stores it. Each diff is one event: ``id:`` is the cursor that resumes right after it
(what ``EventSource`` sends back as ``Last-Event-ID`` when it reconnects) and ``data:`` the
diff as the JSON feed writes it. A quiet stream sends a comment every ``feed_sse_heartbeat``
seconds, so proxies keep it open; after ``feed_sse_max_duration`` seconds it ends with
``retry:``, and the client reconnects where it was. Who may read is asked again before a batch
of events once :data:`PERMISSION_TTL` seconds have passed since it was last asked: a user who
lost the permission gets no more after that. Diffs a filter hides
(``?fields=``, ``feed_filter``) send nothing; when they end a batch, an event with only an
``id:`` moves the client's ``Last-Event-ID`` past them (``EventSource`` dispatches no message
for it).

Under ASGI the stream is an async iterator that holds no thread, waiting on the process's
shared subscription (:mod:`diffs.web.hub`). Under WSGI it is a sync iterator that runs the same
code in an event loop of its own, holding the server's thread for at most
``feed_sse_max_duration`` seconds (Django would otherwise consume an async iterator in full
before sending a byte). When the storage stops answering, the stream ends with ``retry:``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterator
from dataclasses import dataclass

import redis
from django.core.handlers.asgi import ASGIRequest
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, StreamingHttpResponse

from ..conf import diffs_settings
from ..exceptions import ConfigurationError, StorageUnavailable
from ..reading.diff import Diff
from ..reading.page import Page, Position
from ..reading.render import diff_as_json
from ..storage.connection import aclose_async_redis
from . import hub

logger = logging.getLogger("diffs")

#: Milliseconds a client waits before it reconnects (the ``retry:`` field).
RETRY_MS = 1000
MEDIA_TYPE = "text/event-stream"
#: Seconds a stream trusts its last answer to "may this request read?": it asks again before
#: the first batch after that (a thread hop each time, which a thousand streams woken by one
#: write would otherwise all make at once).
PERMISSION_TTL = 1.0
#: How many encoded events are kept for other streams of the same feed (see :func:`event`).
EVENTS_KEPT = 4096
_encoded: dict[tuple[str, str], bytes] = {}
_encoding = threading.Lock()


def wanted(request: HttpRequest) -> bool:
    """Return whether the request asks for an event stream (``Accept: text/event-stream``)."""
    accepted = request.headers.get("Accept", "")
    return any(part.split(";")[0].strip().lower() == MEDIA_TYPE for part in accepted.split(","))


def resume_text(request: HttpRequest) -> str | None:
    """Return the cursor a stream starts after: ``?cursor=``, else ``Last-Event-ID``."""
    return request.GET.get("cursor") or request.headers.get("Last-Event-ID") or None


@dataclass(frozen=True)
class Source:
    """What a stream follows: the key whose writes wake it and how to read and name positions."""

    #: The storage key whose announced writes wake the stream.
    key: str
    #: ``read(after)``: the next batch after a position, filtered for the request.
    read: Callable[[Position | None], Awaitable[Page]]
    #: ``cursor(position)``: the cursor that resumes right after it (the events' ``id:``).
    cursor: Callable[[Position], str]
    #: ``allowed()``: whether the request may still read (asked again before a batch, at most
    #: once every :data:`PERMISSION_TTL` seconds).
    allowed: Callable[[], Awaitable[bool]]


def respond(request: HttpRequest, source: Source, after: Position | None) -> StreamingHttpResponse:
    """Return the streaming answer: async under ASGI, sync under WSGI."""
    events = _events(source, after)
    content = events if isinstance(request, ASGIRequest) else _blocking(events)
    response = StreamingHttpResponse(content, content_type=MEDIA_TYPE)
    response["Cache-Control"] = "private, no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: send each event as it comes
    return response


def event(source: Source, diff: Diff) -> bytes:
    """Return one event: ``id:`` (the cursor right after the diff) and ``data:`` (its JSON).

    Every stream of a feed sends the same bytes for a diff: the last :data:`EVENTS_KEPT` are
    kept, so a diff sent to a thousand streams is signed and encoded once.
    """
    key = (source.key, diff.id)
    found = _encoded.get(key)
    if found is None:
        data = json.dumps(diff_as_json(diff), cls=DjangoJSONEncoder, separators=(",", ":"))
        found = f"id: {source.cursor(diff.arrival)}\ndata: {data}\n\n".encode()
        with _encoding:  # WSGI streams run in threads of their own
            if len(_encoded) >= EVENTS_KEPT:
                _encoded.pop(next(iter(_encoded)))  # the oldest: dicts keep their order
            _encoded[key] = found
    return found


async def _events(source: Source, after: Position | None) -> AsyncGenerator[bytes, None]:
    heartbeat = diffs_settings.feed_sse_heartbeat
    deadline = time.monotonic() + diffs_settings.feed_sse_max_duration
    yield f"retry: {RETRY_MS}\n\n".encode()
    try:
        async with hub.get_hub().watching([source.key]) as watch:
            sent = checked = time.monotonic()
            while (left := deadline - time.monotonic()) > 0:
                page = await source.read(after)
                if page.diffs:
                    if time.monotonic() - checked >= PERMISSION_TTL:
                        if not await source.allowed():
                            break
                        checked = time.monotonic()
                    yield b"".join(event(source, d) for d in page.diffs)
                    sent = time.monotonic()
                end = page.end(after)
                if end is not None and end != after and (
                    not page.diffs or page.diffs[-1].arrival != end
                ):  # a filter hid the last diffs read: move the client's Last-Event-ID past them
                    yield f"id: {source.cursor(end)}\n\n".encode()
                after = end
                if page.more:
                    continue
                quiet = sent + heartbeat - time.monotonic()
                if not await watch.wait(max(0.0, min(quiet, left))) and quiet <= left:
                    yield b": keep-alive\n\n"
                    sent = time.monotonic()
    except (StorageUnavailable, redis.RedisError) as exc:
        logger.warning("diffs: a stream of %s ended, storage Redis: %s", source.key, exc)
    except ConfigurationError as exc:
        logger.error("diffs: a stream of %s ended: %s", source.key, exc)
    yield f": end\nretry: {RETRY_MS}\n\n".encode()


def _blocking(events: AsyncGenerator[bytes, None]) -> Iterator[bytes]:
    """Return ``events`` as a sync iterator, run in an event loop of its own (WSGI)."""
    loop = asyncio.new_event_loop()
    try:
        while True:
            try:
                yield loop.run_until_complete(events.__anext__())
            except StopAsyncIteration:
                return
    finally:  # also when the server closes the iterator early (the client went away)
        loop.run_until_complete(_close(events))
        loop.close()


async def _close(events: AsyncGenerator[bytes, None]) -> None:
    await events.aclose()
    await hub.aclose_hub()
    await aclose_async_redis()
