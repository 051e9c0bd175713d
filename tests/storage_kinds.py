"""Fixtures that point the diffs storage at a Redis Cluster or a Sentinel's master for a test.

The cluster and the sentinel group are started once per session, the first time a test asks
for them (:mod:`tests.topology`). ``settings.DIFFS_SETTINGS["redis"]`` is switched for the
test's duration, so the web side, the in-process worker and the reads all use that storage;
``any_storage`` runs a test on the three kinds.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis
import redis.cluster
import redis.sentinel

from tests.topology import HOST, Cluster, SentinelGroup


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: Any) -> Iterator[Cluster]:
    """A running 3-master Redis Cluster with a replica per master, for the session."""
    cluster = Cluster(tmp_path_factory.mktemp("cluster"))
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def redis_sentinel(tmp_path_factory: Any) -> Iterator[SentinelGroup]:
    """A running master, replica and sentinel, for the session."""
    group = SentinelGroup(tmp_path_factory.mktemp("sentinel"))
    yield group
    group.stop()


def _use(settings: Any, block: dict[str, Any]) -> None:
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS, "redis": block}


@pytest.fixture
def cluster_storage(settings: Any, redis_cluster: Cluster, broker: Any) -> Iterator[Any]:
    """Point the storage at the cluster; return a cluster client, emptied before and after."""
    redis_cluster.flush()
    _use(settings, {"cluster": {"startup_nodes": redis_cluster.startup_nodes}})
    client = redis.cluster.RedisCluster(host=HOST, port=redis_cluster.servers[0].port,
                                        decode_responses=True)
    yield client
    client.close()
    redis_cluster.flush()


@pytest.fixture
def sentinel_storage(settings: Any, redis_sentinel: SentinelGroup, broker: Any) -> Iterator[Any]:
    """Point the storage at the sentinel's master; return a client of it, emptied around."""
    redis_sentinel.flush()
    _use(settings, {"sentinel": {"sentinels": redis_sentinel.sentinels,
                                 "service_name": redis_sentinel.service_name}})
    sentinel = redis.sentinel.Sentinel([tuple(s) for s in redis_sentinel.sentinels])
    client = sentinel.master_for(redis_sentinel.service_name, decode_responses=True)
    yield client
    client.close()
    redis_sentinel.flush()


@pytest.fixture(params=["server", "cluster", "sentinel"])
def any_storage(request: Any) -> Any:
    """The storage client of each kind in turn (the storage setting points at it)."""
    fixture = {"server": "storage", "cluster": "cluster_storage",
               "sentinel": "sentinel_storage"}[request.param]
    return request.getfixturevalue(fixture)
