"""Writes and reads of the sorted sets (their names: :mod:`diffs.storage.keys`).

A write adds each diff to its object's key and its parents' keys, refreshes their TTL and
enters them in their bucket's prune index, with one server-side script call per bucket (one in
all on a single server; :mod:`diffs.storage.scripts`), so pruning visits only keys that have
something to remove (no ``KEYS``, no full ``SCAN``). Every key gets a TTL of its max age,
refreshed on each write, so a key without writes for that long disappears on its own; the
prune, not the TTL, removes what is older than a lowered max age.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import redis
import redis.asyncio

from ..wire import CheckedDiff, dumps, feed_member, id_micros
from .connection import Client, is_cluster, masters
from .keys import bucket_of, bucket_tag, feed_key, object_key, object_name
from .scripts import BucketScript, SideKeys, per_call

#: How far ahead of the storage's clock (seconds) a diff's change time may place it.
CLOCK_AHEAD_LIMIT = 300

#: Adds the members of each key at their arrival positions, refreshes its TTL and enters it
#: in its prune index. KEYS: the object keys, then the index and labels keys they name.
#: ARGV[1]: a JSON array with, for each object key, ``[max age, [member, ...], [change time
#: in microseconds, ...]]``, or ``[max age, [score, member, ...], 0, oldest score]`` to keep
#: scores as given (a test's diffs stored long ago); ARGV[2]: one entry per index, ``[index
#: key's position, labels key's position (both counted from the first key after the objects),
#: label, [object key's position, ...]]``. Returns how many members were new.
#:
#: A key's new members take positions, in the order given: the server's clock (``TIME``, in
#: whole microseconds), at least a microsecond after the key's last score, and never before
#: the member's change time. So scores follow arrival, whatever the workers' clocks (on a
#: cluster they are taken where the key lives), and a position is never earlier than its
#: change (``DiffSet.since`` reads by score). ``NX``: a member already stored (a retried batch)
#: keeps its place. A change time more than :data:`CLOCK_AHEAD_LIMIT` ahead of the server's
#: clock (a web process whose clock is wrong) counts as that limit, so one bad clock cannot
#: push a key's positions, and its prune, years ahead. Scores go to ZADD as decimal text
#: (``%d.%06d``), which a double holds to the microsecond until the year 2255. The index scores
#: a key by its oldest member and only ever lowers it here (``LT``); pruning raises it once it
#: removed that member. JSON arguments instead of one argument per member: redis-py encodes
#: arguments one by one in Python, ``json.dumps`` and Redis' cjson do it in C.
_WRITE = BucketScript("""
local writes, indexes, added = cjson.decode(ARGV[1]), cjson.decode(ARGV[2]), 0
local n, clock, firsts = #writes, redis.call('TIME'), {}
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local AHEAD = AHEAD_MICROSECONDS
local function text(us)
  return string.format('%d.%06d', math.floor(us / 1000000), us % 1000000)
end
for k, write in ipairs(writes) do
  local key, items, args, mode = KEYS[k], write[2], write[2], 'NX'
  if write[4] then
    firsts[k], mode = write[4], 'CH'
  else
    local times, at, last = write[3], 0, redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')[2]
    if last then at = math.floor(tonumber(last) * 1000000 + 0.5) end
    args = {}
    for i, member in ipairs(items) do
      at = math.max(at + 1, now, math.min(times[i], now + AHEAD))
      args[2 * i - 1], args[2 * i] = text(at), member
    end
    firsts[k] = args[1]
  end
  for first = 1, #args, 1000 do
    added = added + redis.call('ZADD', key, mode, unpack(args, first, math.min(first + 999, #args)))
  end
  redis.call('EXPIRE', key, write[1])
end
for _, index in ipairs(indexes) do
  local entries, args = index[4], {}
  for i, k in ipairs(entries) do
    args[2 * i - 1], args[2 * i] = firsts[k], KEYS[k]
  end
  for first = 1, #args, 1000 do
    redis.call('ZADD', KEYS[n + index[1]], 'LT', unpack(args, first, math.min(first + 999, #args)))
  end
  redis.call('SADD', KEYS[n + index[2]], index[3])
end
return added
""".replace("AHEAD_MICROSECONDS", str(CLOCK_AHEAD_LIMIT * 1_000_000)))


def write(
    client: Client,
    prefix: str,
    diffs: Iterable[CheckedDiff],
    max_age: Callable[[str], int],
    written: list[str] | None = None,
    model_feed: Callable[[str], bool] | None = None,
) -> int:
    """Store diffs in their objects' and parents' keys; return how many members were new.

    The member of a diff is fixed by its content (id first), so writing the same diff twice
    (a redelivered task, a batch retried after some buckets took it) leaves one member, at
    its first position. Raises what the client raises when any bucket refused: the caller
    retries the whole batch. ``written``, when given, receives the key of every object written
    to (parents included) and of every model feed, each once, for
    :func:`diffs.storage.notify.announce_keys`: built here already, where a second pass would
    compute every name and bucket again. ``model_feed(label)`` says whether a model keeps a
    feed (:func:`diffs.storage.keys.feed_key`); its diffs are added there too, by a call of
    their own in the same pipeline (the feed is in a slot of its own on a cluster).
    """
    buckets: dict[int, dict[str, list[Any]]] = {}  # bucket -> object name -> its write
    feeds: dict[str, list[Any]] = {}  # feed key -> its write
    ages: dict[str, int] = {}
    for diff in diffs:
        made = id_micros(diff.id)  # the change time a reader sees (Diff.timestamp)
        targets = [(diff.label, diff.pk, diff.member)]
        targets.extend((label, pk, diff.parent_member) for label, pk in diff.parents)
        for label, pk, member in targets:
            name = object_name(label, pk, diff.database)
            bucket = buckets.setdefault(bucket_of(name), {})
            found = bucket.get(name)
            if found is None:
                age = ages.get(label)
                if age is None:
                    age = ages[label] = max_age(label)
                found = bucket[name] = [age, [], label, [[]]]
            found[1].append(member)
            found[3][0].append(made)
        if model_feed is not None and model_feed(diff.label):
            key = feed_key(prefix, diff.label, diff.database)
            feed = feeds.get(key)
            if feed is None:
                feed = feeds[key] = [ages.get(diff.label) or max_age(diff.label), [], []]
            feed[1].append(feed_member(diff.member, diff.pk))
            feed[2].append(made)
    return _write_buckets(client, prefix, buckets, written, feeds)


def write_members(
    client: Client,
    prefix: str,
    objects: dict[str, tuple[str, list[tuple[str, float]]]],
    max_age: Callable[[str], int],
) -> int:
    """Store ``(member, score)`` pairs with the scores given, per :func:`~.keys.object_name`
    (``objects`` maps each name to its label and pairs), as if they had been stored at those
    positions: a test's diffs stored long ago. Return how many members were new or moved."""
    buckets: dict[int, dict[str, list[Any]]] = {}
    for name, (label, pairs) in objects.items():
        if pairs:
            flat = [value for member, score in pairs for value in (repr(score), member)]
            oldest = repr(min(score for _, score in pairs))
            buckets.setdefault(bucket_of(name), {})[name] = [max_age(label), flat, label,
                                                              [0, oldest]]
    return _write_buckets(client, prefix, buckets)


def _write_buckets(client: Client, prefix: str, buckets: dict[int, dict[str, list[Any]]],
                   written: list[str] | None = None,
                   feeds: dict[str, list[Any]] | None = None) -> int:
    calls = [_write_call(prefix, group, written)
             for group in per_call(client, [*buckets.items()])]
    own = len(calls)
    for key, (age, members, times) in (feeds or {}).items():
        calls.append(([key], [dumps([[age, members, times]]), "[]"]))
        if written is not None:
            written.append(key)
    return sum(int(added) for added in _WRITE.run(client, calls)[:own])


def _write_call(prefix: str, group: list[tuple[int, dict[str, list[Any]]]],
                written: list[str] | None = None) -> Any:
    """Return the KEYS and ARGV of one write script call over the buckets of ``group``; the
    object keys also go to ``written``."""
    keys: list[str] = []
    side = SideKeys()
    plan: list[list[Any]] = []
    indexes: dict[tuple[int, int], list[Any]] = {}  # (index, labels) positions -> its entry
    for bucket, writes in group:
        tag = bucket_tag(prefix, bucket)
        sides: dict[str, tuple[int, int]] = {}  # label -> its positions, in this bucket
        for name, (age, members, label, tail) in writes.items():
            keys.append(f"{tag}:{name}")
            plan.append([age, members, *tail])
            positions = sides.get(label)
            if positions is None:
                positions = sides[label] = side.of(prefix, bucket, label)
            entry = indexes.get(positions)
            if entry is None:
                entry = indexes[positions] = [*positions, label, []]
            entry[3].append(len(keys))
    if written is not None:
        written.extend(keys)
    return [*keys, *side.keys], [dumps(plan), dumps(list(indexes.values()))]


def remove(client: Client, prefix: str, diffs: Iterable[CheckedDiff],
           model_feed: Callable[[str], bool] | None = None) -> int:
    """Remove diffs from their objects', parents' and model feeds' keys (what :func:`write`
    added); return how many members went from object and parent keys. The testing kit's: a
    diff it wrote whose transaction then rolled back.

    The prune index keeps its entries: a prune finds nothing older there and moves on.
    """
    pipe = client.pipeline(transaction=False)
    counted: list[bool] = []  # per command: whether its reply counts
    for diff in diffs:
        pipe.zrem(object_key(prefix, diff.label, diff.pk, diff.database), diff.member)
        counted.append(True)
        for label, pk in diff.parents:
            pipe.zrem(object_key(prefix, label, pk, diff.database), diff.parent_member)
            counted.append(True)
        if model_feed is not None and model_feed(diff.label):
            pipe.zrem(feed_key(prefix, diff.label, diff.database),
                      feed_member(diff.member, diff.pk))
            counted.append(False)
    return sum(int(gone) for gone, counts in zip(pipe.execute(), counted, strict=True)
               if counts)


# redis-py types every reply as ``ResponseT`` (a sync or an awaitable reply): the reads below
# ignore ``return-value`` where their client's kind makes the reply a list of pairs.


def read_range(client: redis.Redis, key: str, start: int, stop: int) -> list[tuple[str, float]]:
    """Return ``(member, score)`` pairs by rank, oldest first (``stop`` inclusive, -1 = last)."""
    return client.zrange(key, start, stop, withscores=True)  # type: ignore[return-value]


def read_window(
    client: redis.Redis, key: str, since: float | None, until: float | None
) -> list[tuple[str, float]]:
    """Return the pairs with ``since < score <= until``, oldest first; None leaves a side open."""
    return client.zrangebyscore(key, *window_bounds(since, until), withscores=True)  # type: ignore[return-value]


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
    # A cluster's async pipeline has no MULTI; both reads are of one key on one node anyway.
    pipe = client.pipeline(transaction=not is_cluster(client))
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


def delete_prefix(client: Client, prefix: str) -> int:
    """Delete every key under ``prefix:`` on every master (a test's own prefix, say); return
    how many went. A SCAN: for a prefix of its own, never for the production one while live."""
    deleted = 0
    for master in masters(client):
        pipe = master.pipeline(transaction=False)
        for key in master.scan_iter(match=f"{prefix}:*", count=1000):
            pipe.unlink(key)  # one key per command: a cluster node refuses keys of two slots
        deleted += sum(pipe.execute())
    return deleted


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


async def acount(client: redis.asyncio.Redis, key: str) -> int:
    """Return what :func:`count` returns, through an async client."""
    return int(await client.zcard(key))
