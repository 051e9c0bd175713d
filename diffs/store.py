"""Redis keys, writes and reads.

Layout, for a prefix ``diffs``:

* ``diffs:<app_label.model>:<pk>`` -- a sorted set per object; members are the JSON diffs made
  to the object and rolled up from its children, scored by the unix time of the change. The
  label never contains ``:``, so whatever the pk holds, a key names exactly one object.
* ``diffs:~due`` -- the prune index: a sorted set of object keys scored by the time their oldest
  member expires, so pruning visits only keys that have something to remove (no ``KEYS``,
  no full ``SCAN``).

Every write is one pipelined round trip; every key gets a TTL of its max age, refreshed on
each write, so a key without writes for that long disappears on its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import redis

from .payload import CheckedDiff

INDEX_SUFFIX = "~due"


def object_key(prefix: str, label: str, pk: int | str) -> str:
    """Return the key of one object's sorted set."""
    return f"{prefix}:{label}:{pk}"


def index_key(prefix: str) -> str:
    """Return the key of the prune index."""
    return f"{prefix}:{INDEX_SUFFIX}"


def write(
    client: redis.Redis,
    prefix: str,
    diffs: Iterable[CheckedDiff],
    max_age: Callable[[str], int],
) -> int:
    """Store diffs in their objects' and parents' keys in one round trip; return members added.

    The member of a diff is fixed by its content (id first), so writing the same diff twice
    (a redelivered task) leaves one member.
    """
    members: dict[str, dict[str, float]] = {}
    ages: dict[str, int] = {}
    oldest: dict[str, float] = {}

    def add(key: str, label: str, member: str, score: float) -> None:
        members.setdefault(key, {})[member] = score
        if key not in ages:
            ages[key] = max_age(label)
        if score < oldest.get(key, float("inf")):
            oldest[key] = score

    for diff in diffs:
        add(object_key(prefix, diff.label, diff.pk), diff.label, diff.member, diff.timestamp)
        for label, pk in diff.parents:
            add(object_key(prefix, label, pk), label, diff.parent_member, diff.timestamp)
    if not members:
        return 0
    pipe = client.pipeline(transaction=False)
    for key, mapping in members.items():
        pipe.zadd(key, mapping)
        pipe.expire(key, ages[key])
    # LT keeps the earliest due time (a late, redelivered diff may be the oldest member);
    # pruning moves it forward once it has pruned the key (diffs/pruning.py).
    pipe.zadd(index_key(prefix), {key: oldest[key] + ages[key] for key in members}, lt=True)
    replies = pipe.execute()
    return sum(replies[0:-1:2])


def read_range(client: redis.Redis, key: str, start: int, stop: int) -> list[tuple[str, float]]:
    """Return ``(member, score)`` pairs by rank, oldest first (``stop`` inclusive, -1 = last)."""
    return client.zrange(key, start, stop, withscores=True)  # type: ignore[return-value]


def read_window(
    client: redis.Redis, key: str, since: float | None, until: float | None
) -> list[tuple[str, float]]:
    """Return the pairs with ``since < score <= until``, oldest first; None leaves a side open."""
    low = "-inf" if since is None else f"({since!r}"
    high = "+inf" if until is None else repr(until)
    return client.zrangebyscore(key, low, high, withscores=True)  # type: ignore[return-value]


def count(client: redis.Redis, key: str) -> int:
    """Return how many diffs a key holds."""
    return int(client.zcard(key))
