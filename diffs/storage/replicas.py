"""Acknowledged means replicated: wait for ``storage_replicas`` replicas after a write.

Redis replicates asynchronously: a master killed right after it answered a write may have
sent it to no replica, and the replica promoted in its place never had it. ``WAIT n timeout``
blocks until ``n`` replicas acknowledged every write *of its own connection*, so the wait is
sent on one connection per master, right after a ``SET`` of a key in a slot the batch wrote
(``~acked``): replication is in order, so a replica that has that ``SET`` has the batch.
Fewer acknowledgements than asked raise :class:`NotReplicated`, a Redis error: the write task
retries it (the writes are idempotent), and after its last retry keeps the diffs in the
database, never acknowledging what a failover could lose.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from redis.exceptions import RedisError

from .connection import Client, is_cluster
from .keys import acked_key


class NotReplicated(RedisError):
    """Fewer replicas than ``storage_replicas`` acknowledged a write in time."""


def wait(client: Client, written: Iterable[str], replicas: int,
         timeout: float) -> None:
    """Wait until ``replicas`` replicas of each master hold the keys ``written``; raise
    :class:`NotReplicated` when fewer acknowledged within ``timeout`` seconds."""
    if replicas <= 0:
        return
    for node, key in _one_key_per_master(client, written).values():
        connection = client if node is None else client.get_redis_connection(node)
        pipe = connection.pipeline(transaction=False)
        pipe.set(key, repr(time.time()), ex=3600)
        pipe.execute_command("WAIT", replicas, max(int(timeout * 1000), 1))
        _, acked = pipe.execute()
        if int(acked) < replicas:
            raise NotReplicated(
                f"{acked} of the {replicas} replicas asked (storage_replicas) acknowledged "
                f"the write within {timeout}s"
            )


def _one_key_per_master(client: Client, written: Iterable[str]) -> dict[str, tuple[Any, str]]:
    """Return, by master name, the master (None: the one server) and an ``~acked`` key in a
    slot of it that ``written`` (object keys, ``prefix:{b}:...``) wrote to."""
    found: dict[str, tuple[Any, str]] = {}
    for key in written:
        acked = acked_key(key[:key.index("}") + 1])
        if not is_cluster(client):
            return {"": (None, acked)}
        node = client.get_node_from_key(acked)
        found.setdefault(node.name, (node, acked))
    return found
