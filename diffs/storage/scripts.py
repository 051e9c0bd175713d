"""Running a Lua script once per bucket, the calls grouped per node in one pipeline.

On a Redis Cluster a script call may only touch the keys of one slot, so a write or a prune
makes one call per bucket (:mod:`diffs.storage.keys`); the cluster client's pipeline sends the
calls of each node together. One server (or a Sentinel's master) holds every bucket, so there
the calls are merged into one: the scripts take each key's index and labels keys by position,
and nothing in them assumes one bucket per call.

Calls go as ``EVALSHA``; a node that does not know the script yet (a new master after a
failover, a restarted server) answers ``NOSCRIPT`` and gets the same call as ``EVAL``, which
also caches it there.
"""

from __future__ import annotations

import hashlib
from typing import Any, TypeVar

from redis.exceptions import NoScriptError

from .connection import Client, is_cluster
from .keys import index_key, labels_key

#: One script call: its KEYS and its ARGV.
Call = tuple[list[str], list[Any]]
T = TypeVar("T")


class BucketScript:
    """A Lua script run as a batch of calls, one per bucket (one in all, on one server)."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()

    def run(self, client: Client, calls: list[Call]) -> list[Any]:
        """Return each call's reply, in order; raise the first error any call met.

        Every call is made (one that fails does not stop the others); the caller retries the
        whole batch, so each call must be idempotent.
        """
        if not calls:
            return []
        replies = _execute(client, [("EVALSHA", self.sha, call) for call in calls])
        missing = [i for i, reply in enumerate(replies) if isinstance(reply, NoScriptError)]
        if missing:
            again = _execute(client, [("EVAL", self.source, calls[i]) for i in missing])
            for i, reply in zip(missing, again, strict=True):
                replies[i] = reply
        for reply in replies:
            if isinstance(reply, Exception):
                raise reply
        return replies


class SideKeys:
    """The index and labels keys a script call names after its object keys, each once."""

    def __init__(self) -> None:
        self.positions: dict[str, int] = {}

    @property
    def keys(self) -> list[str]:
        """Return the keys, in the order of their positions."""
        return list(self.positions)

    def of(self, prefix: str, bucket: int, label: str) -> tuple[int, int]:
        """Return the positions (1-based, after the object keys) of a label's index and labels
        keys in ``bucket``."""
        index = self._position(index_key(prefix, bucket, label))
        return index, self._position(labels_key(prefix, bucket))

    def _position(self, key: str) -> int:
        return self.positions.setdefault(key, len(self.positions) + 1)


def per_call(client: Client, buckets: list[T]) -> list[list[T]]:
    """Return the buckets' work split into script calls: one per bucket on a cluster, else one."""
    if is_cluster(client):
        return [[bucket] for bucket in buckets]
    return [buckets] if buckets else []


def chunks(client: Client, items: list[tuple[int, str, str]],
           size: int) -> list[list[tuple[int, str, str]]]:
    """Return ``(bucket, ...)`` items split into calls of at most ``size``, each of one bucket
    on a cluster (items of one bucket must come together, as a prune reads them)."""
    found: list[list[tuple[int, str, str]]] = []
    split = is_cluster(client)
    for item in items:
        last = found[-1] if found else None
        if last is None or len(last) == size or (split and last[0][0] != item[0]):
            found.append([item])
        else:
            last.append(item)
    return found


def pipeline(client: Client) -> Any:
    """Return a pipeline without MULTI (a cluster's sends each node its commands together)."""
    return client.pipeline(transaction=False)


def _execute(client: Client, commands: list[tuple[str, str, Call]]) -> list[Any]:
    pipe = pipeline(client)
    for name, script, (keys, args) in commands:
        pipe.execute_command(name, script, len(keys), *keys, *args)
    return list(pipe.execute(raise_on_error=False))
