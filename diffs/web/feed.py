"""The JSON changes feeds, in the order diffs were stored, with cursors: an object's,
``GET <prefix>/<app_label.model>/<pk>/``, and a model's, ``GET <prefix>/<app_label.model>/``
(a model registered with ``model_feed=True``; each diff names its object's pk).

``?cursor=`` (from the previous answer) returns only what was stored after it, a diff stored
late included, ``?limit=`` bounds the page (``feed_limit`` by default, at most
``feed_max_limit``), ``?fields=a,b`` keeps only the diffs that changed one of those fields
(and deletes), ``?delta=1`` answers the object's net change instead of the diffs (not on a model
feed, nor with ``fields``), and ``?wait=N`` (at most ``feed_max_wait``) holds an empty answer
until a worker announces a write to the feed or N seconds pass. The ``feed_filter`` setting
hides the objects a request may not see (:func:`keeper`); the cursor moves past what a filter
hid (:mod:`diffs.reading.filtering`). The view is async: under ASGI a waiting request holds no
thread, and the waiting requests of a process share one Redis subscription
(:mod:`diffs.web.hub`); under WSGI it runs in a loop of its own per request, holding the
server's thread for at most ``feed_max_wait`` seconds. Asked with ``Accept: text/event-stream``,
both feeds answer a stream of Server-Sent Events instead (:mod:`diffs.web.stream`).

Answers: 200 with ``{"diffs" | "delta", "cursor", "more"}``; 304 when ``If-None-Match`` names
the answer's ``ETag``; 400 with ``{"error": ...}`` for a bad query; 403 without permission; 404
for an unknown label or pk, or a model without ``model_feed``; 503 when the storage Redis does
not answer; 500 when the settings name no storage (a misconfiguration is no outage: retrying
does not help, and the answer names no setting, which the server's log does). Nothing is cached
by a shared cache (``Cache-Control: private``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import redis
from asgiref.sync import sync_to_async
from django.core.exceptions import ValidationError
from django.core.handlers.asgi import ASGIRequest
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, router
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.http.response import HttpResponseBase
from django.utils.http import parse_etags

from ..conf import diffs_settings
from ..exceptions import ConfigurationError, StorageUnavailable, UnknownField
from ..reading.diff import Diff
from ..reading.diffset import DiffSet
from ..reading.filtering import Keep, Read, afiltered_page, changed_any
from ..reading.modelfeed import ModelFeed
from ..reading.page import Page, Position
from ..reading.render import delta_as_json, diff_as_json
from ..registry import registration_for_label, resolve_field_names
from ..storage.connection import aclose_async_redis
from ..wire import MAX_PK_LENGTH, encode_pk
from . import access, cursor, hub, stream

logger = logging.getLogger("diffs")


class BadQuery(ValueError):
    """A query parameter the feed cannot use; its message is the 400 answer's error."""


@dataclass(frozen=True)
class Query:
    """What a feed request asks for, checked."""

    after: Position | None
    limit: int
    delta: bool
    wait: float
    #: The field names of ``?fields=``, or None: every diff.
    fields: frozenset[str] | None = None


def parse_query(params: Any, label: str, pk: int | str | None,
                model: type[models.Model] | None = None, resume: str | None = None) -> Query:
    """Return the checked query of a request's GET parameters; raise BadQuery saying why not.

    ``pk`` is None for a model's feed; ``model``, when given, checks the names of ``fields``;
    ``resume``, when given, is the cursor to start after (an event stream's ``Last-Event-ID``).
    """
    text = resume or params.get("cursor")
    try:
        after = None if not text else cursor.decode(label, pk, text)
    except cursor.BadCursor as exc:
        raise BadQuery(str(exc)) from exc
    query = Query(after, _limit(params.get("limit")), _flag(params.get("delta")),
                  _wait(params.get("wait")), _fields(params.get("fields"), model))
    if query.delta and query.fields is not None:
        raise BadQuery("delta cannot be combined with fields")
    return query


def request_query(request: HttpRequest, label: str, pk: int | str | None,
                  model: type[models.Model]) -> Query:
    """Return the checked query of a feed request, an event stream's included."""
    if not stream.wanted(request):
        return parse_query(request.GET, label, pk, model)
    query = parse_query(request.GET, label, pk, model, stream.resume_text(request))
    if query.delta:
        raise BadQuery("delta is not available on an event stream")
    return query


def _fields(text: str | None, model: type[models.Model] | None) -> frozenset[str] | None:
    if text is None:
        return None
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise BadQuery("fields must name at least one field, separated by commas")
    if model is None:
        return frozenset(names)
    try:
        return frozenset(resolve_field_names(model, names, "fields"))
    except UnknownField as exc:
        raise BadQuery(f"fields: {exc}") from exc


def _limit(text: str | None) -> int:
    most = diffs_settings.feed_max_limit
    if text is None:
        return min(diffs_settings.feed_limit, most)
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= most:
        raise BadQuery(f"limit must be a whole number from 1 to {most}")
    return int(text)


def _flag(text: str | None) -> bool:
    if text in (None, "", "0", "false"):
        return False
    if text in ("1", "true"):
        return True
    raise BadQuery("delta must be 1 or 0")


def _wait(text: str | None) -> float:
    most = diffs_settings.feed_max_wait
    if text is None:
        return 0.0
    try:
        value = float(text) if text.isascii() else math.nan
    except ValueError:
        value = math.nan
    if not 0 <= value <= most:  # also refuses NaN
        raise BadQuery(f"wait must be a number of seconds from 0 to {most:g}")
    return value


def _object(label: str, raw_pk: str) -> tuple[type[models.Model], int | str] | None:
    """Return the registered model of ``label`` and the pk as diffs name it, or None."""
    registration = registration_for_label(label)
    if registration is None or len(raw_pk) > MAX_PK_LENGTH:
        return None
    try:
        value = registration.model._meta.pk.to_python(raw_pk)
    except (ValidationError, TypeError, ValueError):
        return None
    return None if value is None else (registration.model, encode_pk(value))


def _error(status: int, message: str) -> JsonResponse:
    response = JsonResponse({"error": message}, status=status)
    response["Cache-Control"] = "private, no-store"
    return response


@dataclass(frozen=True)
class Feed:
    """What a request reads: a feed's key, its pages, its cursors and what it may show."""

    label: str
    #: The pk its cursors are signed for: the object's, or None for a model's feed.
    pk: int | str | None
    key: str
    read: Read
    keep: Keep | None
    #: Whether the request may still read the feed (asked again before each batch of events).
    may_read: Callable[[], bool]


async def changes(request: HttpRequest, label: str, pk: str) -> HttpResponseBase:
    """Answer one request for an object's feed (see the module's docstring)."""
    # Not @require_GET: Django 4.2's decorators would hide that the view is async.
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    found = _object(label, pk)
    if found is None:
        return _error(404, f"no diffs of {label} pk={pk!r}: not a registered model and pk")
    model, key_pk = found
    try:
        query = request_query(request, label, key_pk, model)
    except BadQuery as exc:
        return _error(400, str(exc))
    if not await sync_to_async(_may_read_object)(request, model, key_pk):
        return _error(403, f"you may not read the diffs of {label}")
    history = DiffSet(label, key_pk, using=router.db_for_read(model))
    keep = None if query.fields is None else _kept_by_fields(query.fields)
    feed = Feed(label, key_pk, history.key, history.apage, keep,
                lambda: _may_read_object(request, model, key_pk))
    return await _serve(request, feed, query, history)


async def model_changes(request: HttpRequest, label: str) -> HttpResponseBase:
    """Answer one request for a model's feed (see the module's docstring)."""
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    registration = registration_for_label(label)
    if registration is None or not registration.model_feed:
        return _error(404, f"no feed of {label}: not a model registered with model_feed=True")
    model = registration.model
    try:
        query = request_query(request, label, None, model)
    except BadQuery as exc:
        return _error(400, str(exc))
    if query.delta:
        return _error(400, "delta is not available on a model feed: it is the net change of "
                           "one object")
    if not await sync_to_async(access.may_read)(request, model, None):
        return _error(403, f"you may not read the diffs of {label}")
    found = ModelFeed(label, using=router.db_for_read(model))
    feed = Feed(label, None, found.key, found.apage, keeper(request, model, query.fields),
                lambda: access.may_read(request, model, None))
    return await _serve(request, feed, query)


def keeper(request: HttpRequest, model: type[models.Model],
           fields: Iterable[str] | None) -> Keep | None:
    """Return what keeps the diffs of a model's feed ``request`` may see and asked for: those
    that changed one of ``fields`` (None: all), of the objects ``feed_filter`` allows (called
    once per read, with the pks of that read); None when nothing is left out."""
    by_fields = None if fields is None else changed_any(fields)
    decide = diffs_settings.feed_filter
    if by_fields is None and decide is None:
        return None

    async def keep(diffs: list[Diff]) -> list[Diff]:
        if by_fields is not None:
            diffs = by_fields(diffs)
        if decide is not None and diffs:
            pks = list(dict.fromkeys(d.pk for d in diffs))
            allowed = _pks(await sync_to_async(decide)(request, model, pks))
            diffs = [d for d in diffs if d.pk in allowed]
        return diffs

    return keep


def _kept_by_fields(fields: Iterable[str]) -> Keep:
    by_fields = changed_any(fields)

    async def keep(diffs: list[Diff]) -> list[Diff]:
        return by_fields(diffs)

    return keep


def _pks(allowed: Any) -> set[int | str]:
    """Return the pks a ``feed_filter`` allowed, as diffs name them (a UUID as its text)."""
    found: set[int | str] = set()
    for pk in allowed or ():
        try:
            found.add(encode_pk(pk))
        except TypeError:
            continue
    return found


def _may_read_object(request: HttpRequest, model: type[models.Model], pk: int | str) -> bool:
    """Return whether the request may read one object's feed: the permission, then the
    ``feed_filter`` (an object it hides has no feed for this request)."""
    if not access.may_read(request, model, pk):
        return False
    decide = diffs_settings.feed_filter
    return decide is None or pk in _pks(decide(request, model, [pk]))


async def _serve(request: HttpRequest, feed: Feed, query: Query,
                 history: DiffSet | None = None) -> HttpResponseBase:
    """Return the answer of a checked, allowed request; ``history`` answers ``delta``."""
    if stream.wanted(request):
        return _stream(request, feed, query)
    try:
        payload = await _answer(feed, query, history)
    except (StorageUnavailable, redis.RedisError) as exc:  # a read's, or the wait's
        logger.warning("diffs: feed of %s pk=%r failed, storage Redis: %s", feed.label,
                       feed.pk, exc)
        return _error(503, "the diffs storage is not answering; try again later")
    except ConfigurationError as exc:
        logger.error("diffs: feed of %s pk=%r failed: %s", feed.label, feed.pk, exc)
        return _error(500, "the diffs storage is not configured correctly; see the server log")
    finally:
        if not isinstance(request, ASGIRequest):
            await hub.aclose_hub()  # this loop ends with the request (see module docstring)
            await aclose_async_redis()
    return _respond(request, payload)


def _stream(request: HttpRequest, feed: Feed, query: Query) -> HttpResponseBase:
    """Return the event stream of ``feed`` after the query's cursor (:mod:`.stream`)."""

    async def read_shared(after: Position | None, limit: int) -> Page:
        # the streams of this feed woken by one write read the same page: once, together,
        # through the hub of the loop the stream runs on (under WSGI not the request's loop)
        return await hub.get_hub().shared((feed.key, after, limit),
                                          lambda: feed.read(after, limit))

    async def read(after: Position | None) -> Page:
        if feed.keep is None:
            return await read_shared(after, query.limit)
        return await afiltered_page(read_shared, after, query.limit, feed.keep)

    async def allowed() -> bool:
        return bool(await sync_to_async(feed.may_read)())

    source = stream.Source(key=feed.key, read=read, allowed=allowed,
                           cursor=lambda position: cursor.encode(feed.label, feed.pk, position))
    return stream.respond(request, source, query.after)


async def _answer(feed: Feed, query: Query, history: DiffSet | None) -> dict[str, Any]:
    """Return the answer's payload, waiting (up to ``query.wait``) while nothing is new.

    A read whose diffs a filter hid all moves the cursor on: the wait goes on from there.
    """
    payload, new, after = await _read(feed, query, query.after, history)
    if new or query.wait <= 0:
        return payload
    deadline = time.monotonic() + query.wait
    async with hub.get_hub().watching([feed.key]) as watch:
        payload, new, after = await _read(feed, query, after, history)  # subscribed now
        while not new and (left := deadline - time.monotonic()) > 0:
            if await watch.wait(left):
                payload, new, after = await _read(feed, query, after, history)
    return payload


async def _read(feed: Feed, query: Query, after: Position | None,
                history: DiffSet | None) -> tuple[dict[str, Any], bool, Position | None]:
    """Return one page's payload, whether it is worth answering now (it holds diffs, or more
    are to be read), and where it ended."""
    page: Page
    if query.delta and history is not None:
        delta, page = await history.adelta_after(after, query.limit)
        body: dict[str, Any] = {"delta": delta_as_json(delta)}
    else:
        page = await (feed.read(after, query.limit) if feed.keep is None
                      else afiltered_page(feed.read, after, query.limit, feed.keep))
        body = {"diffs": [diff_as_json(diff) for diff in page.diffs]}
    end = page.end(after)
    body["cursor"] = cursor.encode(feed.label, feed.pk, end)
    body["more"] = page.more
    return body, bool(page.diffs) or page.more, end


def _respond(request: HttpRequest, payload: dict[str, Any]) -> HttpResponse:
    content = json.dumps(payload, cls=DjangoJSONEncoder, separators=(",", ":")).encode()
    etag = f'"{hashlib.blake2b(content, digest_size=16).hexdigest()}"'
    wanted = parse_etags(request.headers.get("If-None-Match", ""))
    response = (
        HttpResponse(status=304) if etag in wanted or "*" in wanted
        else HttpResponse(content, content_type="application/json")
    )
    response["ETag"] = etag
    response["Cache-Control"] = "private, no-cache"
    return response
