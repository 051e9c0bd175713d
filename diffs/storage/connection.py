"""The one factory of storage Redis clients: one server, a Redis Cluster, or a Sentinel's master.

``DIFFS_SETTINGS["redis"]`` picks the kind (:mod:`diffs.storage.topology`); everything
else (keys, scripts, reads) is the same on the three, because every script call touches the
keys of one cluster slot and declares them (:mod:`diffs.storage.keys`). A Sentinel-managed
client finds the current master itself and reconnects to the new one after a failover; a
cluster client follows ``MOVED`` redirects and refreshes its slot map.

Sync clients are shared by the whole process (one per configuration). Async clients
(redis.asyncio) are bound to the event loop that made them, so there is one per running loop.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from typing import Any

import redis
import redis.asyncio
import redis.asyncio.cluster
import redis.asyncio.sentinel
import redis.cluster
import redis.sentinel

from .topology import StorageConfig, configured

#: A storage client: what every module of :mod:`diffs.storage` accepts.
Client = Any

_clients: dict[StorageConfig, Client] = {}
_lock = threading.Lock()
_async_clients: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[StorageConfig, Client]
] = weakref.WeakKeyDictionary()


def _options(timeout: float) -> dict[str, Any]:
    return {
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        "decode_responses": True,
        # RESP2: redis-py 8 otherwise speaks RESP3 and converts each score of a
        # ZRANGE ... WITHSCORES back to RESP2's shape, which more than doubles the
        # cost of reading 100 diffs.
        "protocol": 2,
    }


def _auth(config: StorageConfig) -> dict[str, Any]:
    found: dict[str, Any] = {"password": config.password, "username": config.username}
    if config.ssl:
        found["ssl"] = True
    return found


def connect(config: StorageConfig) -> Client:
    """Return a new sync client for ``config``."""
    options = _options(config.socket_timeout)
    if config.kind == "cluster":
        if config.url:
            return redis.cluster.RedisCluster.from_url(config.url, **options)
        nodes = [redis.cluster.ClusterNode(host, port) for host, port in config.nodes]
        return redis.cluster.RedisCluster(startup_nodes=nodes, **options, **_auth(config))
    if config.kind == "sentinel":
        sentinel = redis.sentinel.Sentinel(
            list(config.nodes), sentinel_kwargs=_sentinel_options(config), **options)
        return sentinel.master_for(config.service_name, db=config.db, **_auth(config))
    return redis.Redis.from_url(config.url, health_check_interval=30, **options)


def aconnect(config: StorageConfig) -> Client:
    """Return a new async client for ``config`` (bound to the running loop)."""
    options = _options(config.socket_timeout)
    if config.kind == "cluster":
        if config.url:
            return redis.asyncio.cluster.RedisCluster.from_url(config.url, **options)
        nodes = [redis.asyncio.cluster.ClusterNode(host, port) for host, port in config.nodes]
        return redis.asyncio.cluster.RedisCluster(startup_nodes=nodes, **options,
                                                  **_auth(config))
    if config.kind == "sentinel":
        sentinel = redis.asyncio.sentinel.Sentinel(
            list(config.nodes), sentinel_kwargs=_sentinel_options(config), **options)
        return sentinel.master_for(config.service_name, db=config.db, **_auth(config))
    return redis.asyncio.Redis.from_url(config.url, health_check_interval=30, **options)


def _sentinel_options(config: StorageConfig) -> dict[str, Any]:
    return {
        "socket_timeout": config.socket_timeout,
        "socket_connect_timeout": config.socket_timeout,
        "password": config.sentinel_password,
        "username": config.sentinel_username,
    }


def is_cluster(client: Client) -> bool:
    """Return whether ``client`` (sync or async) talks to a Redis Cluster."""
    return isinstance(client, (redis.cluster.RedisCluster, redis.asyncio.cluster.RedisCluster))


def masters(client: Client) -> list[Any]:
    """Return a sync client per master of the storage (one, unless a cluster)."""
    if isinstance(client, redis.cluster.RedisCluster):
        return [client.get_redis_connection(node) for node in client.get_primaries()]
    return [client]


def maxmemory_policies(client: Client) -> list[str]:
    """Return each master's ``maxmemory-policy``; raise when one refuses ``CONFIG GET``."""
    return [str(master.config_get("maxmemory-policy")["maxmemory-policy"])
            for master in masters(client)]


def get_redis() -> Client:
    """Return the shared client for the configured storage (one per configuration).

    Raises :class:`~diffs.ConfigurationError` when the settings name no storage (an unknown key,
    a malformed block...), before any connection: nothing falls back to another Redis.
    """
    config = configured()
    client = _clients.get(config)
    if client is None:
        with _lock:
            client = _clients.get(config)
            if client is None:
                client = _clients[config] = _connected(config)
    return client


def _connected(config: StorageConfig) -> Client:
    """Return ``connect(config)``; a cluster none of whose nodes answers raises a
    ``redis.ConnectionError`` (as any storage that does not answer), not redis-py's
    ``RedisClusterException``, so callers handle one kind of error."""
    try:
        return connect(config)
    except redis.exceptions.RedisClusterException as exc:
        raise redis.ConnectionError(str(exc)) from exc


def get_async_redis() -> Client:
    """Return the async client of the running event loop for the configured storage (raises
    as :func:`get_redis` does)."""
    loop = asyncio.get_running_loop()
    config = configured()
    per_loop = _async_clients.setdefault(loop, {})
    client = per_loop.get(config)
    if client is None:
        client = per_loop[config] = aconnect(config)
    return client


async def aclose_async_redis() -> None:
    """Close the running loop's async clients: call it before a short-lived loop ends.

    A WSGI server runs an async view in an event loop of its own per request (asgiref's
    ``async_to_sync``); connections left open there would outlive their loop.
    """
    for client in _async_clients.pop(asyncio.get_running_loop(), {}).values():
        await client.aclose()
