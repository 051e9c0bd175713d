"""The one factory of storage Redis clients (URL, TLS, password all come from the URL).

Sync clients are shared by the whole process (one pool per URL). Async clients (redis.asyncio)
are bound to the event loop that made them, so there is one per running loop.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from typing import Any

import redis
import redis.asyncio

from ..conf import settings

_clients: dict[tuple[str, float], redis.Redis] = {}
_lock = threading.Lock()
_async_clients: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[tuple[str, float], redis.asyncio.Redis]
] = weakref.WeakKeyDictionary()


def _options(timeout: float) -> dict[str, Any]:
    return {
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        "health_check_interval": 30,
        "decode_responses": True,
        # RESP2: redis-py 8 otherwise speaks RESP3 and converts each score of a
        # ZRANGE ... WITHSCORES back to RESP2's shape, which more than doubles the
        # cost of reading 100 diffs.
        "protocol": 2,
    }


def get_redis() -> redis.Redis:
    """Return the shared client for the configured storage Redis (one pool per URL)."""
    key = (settings.redis_url, settings.redis_socket_timeout)
    client = _clients.get(key)
    if client is None:
        with _lock:
            client = _clients.get(key)
            if client is None:
                client = redis.Redis.from_url(key[0], **_options(key[1]))
                _clients[key] = client
    return client


def get_async_redis() -> redis.asyncio.Redis:
    """Return the async client of the running event loop for the configured storage Redis."""
    loop = asyncio.get_running_loop()
    key = (settings.redis_url, settings.redis_socket_timeout)
    per_loop = _async_clients.setdefault(loop, {})
    client = per_loop.get(key)
    if client is None:
        client = per_loop[key] = redis.asyncio.Redis.from_url(key[0], **_options(key[1]))
    return client


async def aclose_async_redis() -> None:
    """Close the running loop's async clients: call it before a short-lived loop ends.

    A WSGI server runs an async view in an event loop of its own per request (asgiref's
    ``async_to_sync``); connections left open there would outlive their loop.
    """
    for client in _async_clients.pop(asyncio.get_running_loop(), {}).values():
        await client.aclose()
