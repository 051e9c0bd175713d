"""``DiffsContextMiddleware``: every diff recorded while a request is handled says who and which.

Add ``"diffs.middleware.DiffsContextMiddleware"`` to ``MIDDLEWARE`` (after Django's
``AuthenticationMiddleware``). Each request then runs inside a :func:`diffs.context` block of:

* ``actor``: the pk of ``request.user``, read when a diff is recorded rather than when the
  request arrives, so a user that the view authenticates itself (Django REST framework's token
  and JWT authentication, a ``login()`` in the view) is seen; no actor for an anonymous user;
* ``request_id``: the ``X-Request-ID`` header when it is a sane token (at most 200 letters,
  digits and ``-_.:+=/@``), else a new random one;
* ``method`` and ``path``.

The ``request_context`` setting names a callable ``(request) -> dict`` that builds the context
instead; it is called at the first diff the request records (never for a request that records
nothing), and the values it returns may be callables read at each diff. If it raises, the error
is logged and the diff is recorded without a context.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponseBase

from .conf import diffs_settings
from .recording import context

#: What an ``X-Request-ID`` may be to be kept as the request's id.
REQUEST_ID = re.compile(r"[-0-9A-Za-z_.:+=/@]{1,200}")
REQUEST_ID_HEADER = "X-Request-ID"
#: The longest path and method kept (a context has room for 4 KB of JSON).
MAX_PATH = 500
MAX_METHOD = 16


def request_context(request: HttpRequest) -> dict[str, Any]:
    """Return the default change context of ``request`` (its actor still to be read).

    The method and path are cut short, so that no request can make its context too large to
    be recorded (and so lose its actor).
    """
    return {
        "actor": lambda: user_pk(request),
        "request_id": request_id(request),
        "method": (request.method or "")[:MAX_METHOD],
        "path": request.path[:MAX_PATH],
    }


def user_pk(request: HttpRequest) -> Any:
    """Return the pk of the request's user now, or None (anonymous, or no user at all)."""
    user = getattr(request, "user", None)
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return user.pk


def request_id(request: HttpRequest) -> str:
    """Return the request's ``X-Request-ID`` when it is a sane token, else a new uuid4 hex."""
    given = request.headers.get(REQUEST_ID_HEADER, "")
    return given if REQUEST_ID.fullmatch(given) else uuid.uuid4().hex


def _provider(request: HttpRequest) -> Callable[[], Mapping[str, Any]]:
    """Return the provider of the request's context: read only once a diff is recorded."""

    def provide() -> Mapping[str, Any]:
        build = diffs_settings.request_context
        if build is None:
            return request_context(request)
        built: Mapping[str, Any] = build(request)
        return built

    return provide


class DiffsContextMiddleware:
    """Run each request (sync or async) inside the change context the request makes."""

    sync_capable = True
    async_capable = True

    def __init__(
        self, get_response: Callable[[HttpRequest], Any]
    ) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self._call_async(request)
        with context.provided(_provider(request)):
            return self.get_response(request)

    async def _call_async(self, request: HttpRequest) -> HttpResponseBase:
        with context.provided(_provider(request)):
            response: Awaitable[HttpResponseBase] = self.get_response(request)
            return await response
