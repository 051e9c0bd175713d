"""Writes and reads of the sorted sets (their names: :mod:`diffs.storage.keys`).

Every write is one round trip (one server-side script) that also keeps the prune index, so
pruning visits only keys that have something to remove (no ``KEYS``, no full ``SCAN``); every
key gets a TTL of its max age, refreshed on each write, so a key without writes for that long
disappears on its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import redis
import redis.asyncio

from ..wire import CheckedDiff, dumps
from .keys import index_key, object_key

#: Adds the members of each key, refreshes its TTL and enters it in the prune index, in one
#: call. KEYS: the object keys, then the index. ARGV[1]: a JSON array with, for each object key,
#: ``[max age, due time, [score, member, score, member, ...]]``. Returns how many members were
#: new. One JSON argument instead of one argument per score and member: redis-py encodes
#: arguments one by one in Python, ``json.dumps`` and Redis' cjson do it in C.
_WRITE_SCRIPT = """
local writes, added, due = cjson.decode(ARGV[1]), 0, {}
for k, write in ipairs(writes) do
  local key, pairs = KEYS[k], write[3]
  for first = 1, #pairs, 1000 do
    added = added + redis.call('ZADD', key, unpack(pairs, first, math.min(first + 999, #pairs)))
  end
  redis.call('EXPIRE', key, write[1])
  due[#due + 1], due[#due + 2] = write[2], key
end
for first = 1, #due, 1000 do
  redis.call('ZADD', KEYS[#KEYS], 'LT', unpack(due, first, math.min(first + 999, #due)))
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
    (a redelivered task) leaves one member. A key's due time in the prune index only moves
    earlier here (``LT``: a late, redelivered diff may be the oldest member); pruning moves it
    forward once it has pruned the key (:mod:`diffs.storage.pruning`).
    """
    writes: dict[str, list[Any]] = {}  # key -> [max age, oldest score, [score, member, ...]]
    ages: dict[str, int] = {}
    for diff in diffs:
        timestamp = diff.timestamp
        targets = [(diff.label, diff.pk, diff.member)]
        targets.extend((label, pk, diff.parent_member) for label, pk in diff.parents)
        for label, pk, member in targets:
            key = object_key(prefix, label, pk, diff.database)
            found = writes.get(key)
            if found is None:
                age = ages.get(label)
                if age is None:
                    age = ages[label] = max_age(label)
                found = writes[key] = [age, timestamp, []]
            elif timestamp < found[1]:
                found[1] = timestamp
            found[2] += (timestamp, member)
    if not writes:
        return 0
    for found in writes.values():
        found[1] += found[0]  # the oldest member's score -> when it is due for pruning
    script = _script(client)
    return int(script(keys=[*writes, index_key(prefix)], args=[dumps(list(writes.values()))]))


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
    return client.zrangebyscore(key, *window_bounds(since, until), withscores=True)  # type: ignore[return-value]


def count_window(client: redis.Redis, key: str, since: float | None, until: float | None) -> int:
    """Return how many diffs ``read_window`` would return, without reading them."""
    return int(client.zcount(key, *window_bounds(since, until)))


def window_bounds(since: float | None, until: float | None) -> tuple[str, str]:
    """Return the ZRANGEBYSCORE bounds of ``since < score <= until`` (None: open)."""
    return ("-inf" if since is None else f"({since!r}", "+inf" if until is None else repr(until))


def read_after(
    client: redis.Redis | redis.asyncio.Redis, key: str, score: float | None, limit: int
) -> Any:
    """Return a pipeline reading up to ``limit + 1`` pairs scored after ``score``, and its ties.

    Its ``execute()`` (awaited, for an async client) gives ``[ties, later]``: the pairs scored
    exactly ``score`` (whose ids decide which come after a cursor), then the first
    ``limit + 1`` scored above it. One round trip, in one ``MULTI``; ``score`` None reads from
    the start (no ties).
    """
    pipe = client.pipeline(transaction=True)
    if score is None:
        pipe.zrangebyscore(key, "-inf", "-inf", withscores=True)
        pipe.zrangebyscore(key, "-inf", "+inf", start=0, num=limit + 1, withscores=True)
    else:
        pipe.zrangebyscore(key, repr(score), repr(score), withscores=True)
        pipe.zrangebyscore(key, f"({score!r}", "+inf", start=0, num=limit + 1, withscores=True)
    return pipe


def count(client: redis.Redis, key: str) -> int:
    """Return how many diffs a key holds."""
    return int(client.zcard(key))


def claim(client: redis.Redis, key: str, seconds: float) -> bool:
    """Return whether this caller took ``key`` for ``seconds`` (no one else holds it)."""
    return bool(client.set(key, "1", nx=True, px=max(int(seconds * 1000), 1)))


# -- async twins of the reads (a redis.asyncio client) ------------------------------------------


async def aread_range(
    client: redis.asyncio.Redis, key: str, start: int, stop: int
) -> list[tuple[str, float]]:
    """Return what :func:`read_range` returns, through an async client."""
    return await client.zrange(key, start, stop, withscores=True)  # type: ignore[return-value]


async def aread_window(
    client: redis.asyncio.Redis, key: str, since: float | None, until: float | None
) -> list[tuple[str, float]]:
    """Return what :func:`read_window` returns, through an async client."""
    bounds = window_bounds(since, until)
    return await client.zrangebyscore(key, *bounds, withscores=True)  # type: ignore[return-value]


async def acount_window(
    client: redis.asyncio.Redis, key: str, since: float | None, until: float | None
) -> int:
    """Return what :func:`count_window` returns, through an async client."""
    return int(await client.zcount(key, *window_bounds(since, until)))


async def acount(client: redis.asyncio.Redis, key: str) -> int:
    """Return what :func:`count` returns, through an async client."""
    return int(await client.zcard(key))
