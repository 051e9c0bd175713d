"""Redis keys, writes and reads.

Layout, for a prefix ``diffs``:

* ``diffs:<app_label.model>:<pk>`` -- a sorted set per object; members are the JSON diffs made
  to the object and rolled up from its children, scored by the unix time of the change. The
  label never contains ``:``, so whatever the pk holds, a key names exactly one object.
* ``diffs:~due`` -- the prune index: a sorted set of object keys scored by the time their oldest
  member expires, so pruning visits only keys that have something to remove (no ``KEYS``,
  no full ``SCAN``).

Every write is one round trip (one server-side script); every key gets a TTL of its max age,
refreshed on each write, so a key without writes for that long disappears on its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import redis

from .payload import CheckedDiff

INDEX_SUFFIX = "~due"


def object_key(prefix: str, label: str, pk: int | str) -> str:
    """Return the key of one object's sorted set."""
    return f"{prefix}:{label}:{pk}"


def index_key(prefix: str) -> str:
    """Return the key of the prune index."""
    return f"{prefix}:{INDEX_SUFFIX}"


#: Adds the members of each key, refreshes its TTL and enters it in the prune index, all in one
#: call: one command to pack and one reply to parse, where a pipeline had three per key.
#: KEYS: the object keys, then the index. ARGV, per key: max age, due time, member count, then
#: that many (score, member) pairs. Returns how many members were new.
_WRITE_SCRIPT = """
local at, added, due = 1, 0, {}
for k = 1, #KEYS - 1 do
  local key, age, count = KEYS[k], ARGV[at], tonumber(ARGV[at + 2])
  due[#due + 1], due[#due + 2] = ARGV[at + 1], key
  at = at + 3
  local last = at + 2 * count - 1
  while at <= last do
    local stop = math.min(at + 999, last)
    added = added + redis.call('ZADD', key, unpack(ARGV, at, stop))
    at = stop + 1
  end
  redis.call('EXPIRE', key, age)
end
for first = 1, #due, 1000 do
  redis.call('ZADD', KEYS[#KEYS], 'NX', unpack(due, first, math.min(first + 999, #due)))
end
return added
"""


def write(
    client: redis.Redis,
    prefix: str,
    diffs: Iterable[CheckedDiff],
    max_age: Callable[[str], int],
) -> int:
    """Store diffs in their objects' and parents' keys in one round trip; return members added.

    The member of a diff is fixed by its content (id first), so writing the same diff twice
    (a redelivered task) leaves one member. A key's due time in the prune index is set only if
    it has none (``NX``): pruning moves it forward once it has pruned the key.
    """
    members: dict[str, list[Any]] = {}
    ages: dict[str, int] = {}
    oldest: dict[str, float] = {}
    for diff in diffs:
        targets = [(diff.label, diff.pk, diff.member)]
        targets.extend((label, pk, diff.parent_member) for label, pk in diff.parents)
        for label, pk, member in targets:
            key = object_key(prefix, label, pk)
            pairs = members.get(key)
            if pairs is None:
                pairs = members[key] = []
                ages[key] = max_age(label)
                oldest[key] = diff.timestamp
            elif diff.timestamp < oldest[key]:
                oldest[key] = diff.timestamp
            pairs += (diff.timestamp, member)
    if not members:
        return 0
    args: list[Any] = []
    for key, pairs in members.items():
        args += (ages[key], oldest[key] + ages[key], len(pairs) // 2)
        args += pairs
    return int(_script(client)(keys=[*members, index_key(prefix)], args=args))


_scripts: dict[int, Any] = {}


def _script(client: redis.Redis) -> Any:
    """Return the write script registered with ``client`` (loaded into Redis on first use)."""
    script = _scripts.get(id(client))
    if script is None:
        script = _scripts[id(client)] = client.register_script(_WRITE_SCRIPT)
    return script


def read_range(client: redis.Redis, key: str, start: int, stop: int) -> list[tuple[str, float]]:
    """Return ``(member, score)`` pairs by rank, oldest first (``stop`` inclusive, -1 = last)."""
    return client.zrange(key, start, stop, withscores=True)  # type: ignore[return-value]


def read_window(
    client: redis.Redis, key: str, since: float | None, until: float | None
) -> list[tuple[str, float]]:
    """Return the pairs with ``since < score <= until``, oldest first; None leaves a side open."""
    return client.zrangebyscore(key, *_bounds(since, until), withscores=True)  # type: ignore[return-value]


def count_window(client: redis.Redis, key: str, since: float | None, until: float | None) -> int:
    """Return how many diffs ``read_window`` would return, without reading them."""
    return int(client.zcount(key, *_bounds(since, until)))


def _bounds(since: float | None, until: float | None) -> tuple[str, str]:
    return ("-inf" if since is None else f"({since!r}", "+inf" if until is None else repr(until))


def count(client: redis.Redis, key: str) -> int:
    """Return how many diffs a key holds."""
    return int(client.zcard(key))
