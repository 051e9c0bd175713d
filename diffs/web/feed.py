"""The JSON changes feed: ``GET <prefix>/<app_label.model>/<pk>/``, oldest first, with cursors.

``?cursor=`` (from the previous answer) returns only what came after it, ``?limit=`` bounds the
page (``feed_limit`` by default, at most ``feed_max_limit``), ``?delta=1`` answers the net change
instead of the diffs, and ``?wait=N`` (at most ``feed_max_wait``) holds an empty answer until a
worker announces a write to the object or N seconds pass. The view is async: under ASGI a
waiting request holds no thread, and the waiting requests of a process share one Redis
subscription (:mod:`diffs.web.hub`); under WSGI it runs in a loop of its own per request,
holding the server's thread for at most ``feed_max_wait`` seconds.

Answers: 200 with ``{"diffs" | "delta", "cursor", "more"}``; 304 when ``If-None-Match`` names
the answer's ``ETag``; 400 with ``{"error": ...}`` for a bad query; 403 without permission; 404
for an unknown label or pk; 503 when the storage Redis does not answer; 500 when the settings
name no storage (a misconfiguration is no outage: retrying does not help, and the answer names
no setting, which the server's log does). Nothing is cached by a shared cache
(``Cache-Control: private``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
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
from ..exceptions import ConfigurationError, StorageUnavailable
from ..reading.diffset import DiffSet
from ..reading.page import Position
from ..reading.render import delta_as_json, diff_as_json
from ..registry import registration_for_label
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


def parse_query(params: Any, label: str, pk: int | str, resume: str | None = None) -> Query:
    """Return the checked query of a request's GET parameters; raise BadQuery saying why not.

    ``resume``: the cursor to start after instead of ``?cursor=`` (an event stream's).
    """
    text = resume or params.get("cursor")
    try:
        after = None if not text else cursor.decode(label, pk, text)
    except cursor.BadCursor as exc:
        raise BadQuery(str(exc)) from exc
    return Query(after, _limit(params.get("limit")), _flag(params.get("delta")),
                 _wait(params.get("wait")))


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


async def changes(request: HttpRequest, label: str, pk: str) -> HttpResponseBase:
    """Answer one feed request (see the module's docstring)."""
    # Not @require_GET: Django 4.2's decorators would hide that the view is async.
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    found = _object(label, pk)
    if found is None:
        return _error(404, f"no diffs of {label} pk={pk!r}: not a registered model and pk")
    model, key_pk = found
    streaming = stream.wanted(request)
    try:
        query = parse_query(request.GET, label, key_pk,
                            stream.resume_text(request) if streaming else None)
    except BadQuery as exc:
        return _error(400, str(exc))
    if streaming and query.delta:
        return _error(400, "delta is not available on an event stream")
    if not await sync_to_async(access.may_read)(request, model, key_pk):
        return _error(403, f"you may not read the diffs of {label}")
    history = DiffSet(label, key_pk, using=router.db_for_read(model))
    if streaming:
        return _stream(request, history, query, model)
    try:
        payload = await _answer(history, query)
    except (StorageUnavailable, redis.RedisError) as exc:  # a read's, or the wait's
        logger.warning("diffs: feed of %s pk=%r failed, storage Redis: %s", label, key_pk, exc)
        return _error(503, "the diffs storage is not answering; try again later")
    except ConfigurationError as exc:
        logger.error("diffs: feed of %s pk=%r failed: %s", label, key_pk, exc)
        return _error(500, "the diffs storage is not configured correctly; see the server log")
    finally:
        if not isinstance(request, ASGIRequest):
            await hub.aclose_hub()  # this loop ends with the request (see module docstring)
            await aclose_async_redis()
    return _respond(request, payload)


def _stream(
    request: HttpRequest, diffs: DiffSet, query: Query, model: type[models.Model]
) -> HttpResponseBase:
    """Return the event stream of ``diffs`` after the query's cursor (:mod:`.stream`)."""

    async def allowed() -> bool:
        return bool(await sync_to_async(access.may_read)(request, model, diffs.pk))

    source = stream.Source(
        key=diffs.key,
        read=lambda after: diffs.apage(after, query.limit),
        cursor=lambda position: cursor.encode(diffs.label, diffs.pk, position),
        allowed=allowed,
    )
    return stream.respond(request, source, query.after)


async def _answer(diffs: DiffSet, query: Query) -> dict[str, Any]:
    """Return the answer's payload, waiting (up to ``query.wait``) while nothing is new."""
    payload, new = await _read(diffs, query)
    if new or query.wait <= 0:
        return payload
    deadline = time.monotonic() + query.wait
    async with hub.get_hub().watching([diffs.key]) as watch:
        payload, new = await _read(diffs, query)  # subscribed now: what lands later wakes us
        while not new and (left := deadline - time.monotonic()) > 0:
            if await watch.wait(left):
                payload, new = await _read(diffs, query)
    return payload


async def _read(diffs: DiffSet, query: Query) -> tuple[dict[str, Any], bool]:
    """Return one page's payload, and whether it holds anything after the cursor."""
    if query.delta:
        delta, page = await diffs.adelta_after(query.after, query.limit)
        body: dict[str, Any] = {"delta": delta_as_json(delta)}
    else:
        page = await diffs.apage(query.after, query.limit)
        body = {"diffs": [diff_as_json(diff) for diff in page.diffs]}
    body["cursor"] = cursor.encode(diffs.label, diffs.pk, page.end(query.after))
    body["more"] = page.more
    return body, bool(page.diffs)


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
