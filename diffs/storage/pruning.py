"""Pruning: remove the diffs older than their key's max age, a bounded batch at a time.

Redis cannot expire single members of a sorted set, so members are removed by score. Finding
the keys never uses ``KEYS`` or a full ``SCAN``: each bucket has a prune index per model
(:func:`diffs.storage.keys.index_key`) that scores each object key by the time of its OLDEST
member. So the keys holding something older than a model's max age, as it is set NOW, are one
``ZRANGEBYSCORE`` away, whatever the age was when the diffs were written: lowering
``max_element_age`` (the setting or a model's) takes effect at the next prune.

A prune goes over the 64 buckets (:data:`diffs.storage.keys.BUCKETS`) in rounds. Each round
reads the due keys of every bucket's indexes (at most ``batch_keys`` per index) in one
pipeline, then trims them with one script call per bucket (one in all on a single server; the
calls grouped per node on a cluster, so the work spreads over the masters). A call removes at
most ``batch_members`` members and declares every key it touches. The script recomputes a
key's index score from the members it holds after the trim and drops the entry only when the
key is empty, so a write (one script call that adds to the key and lowers its score, ``ZADD
LT``) or another prune that lands between two rounds is harmless.

The feeds of models registered with ``model_feed=True`` (one key per model and database, each
in a slot of its own) are trimmed after the buckets, by score as well, at most
``batch_members`` members per script call.

Scores are arrival positions (:mod:`diffs.storage.store`), at or after the change: a diff
stored late lives its max age from when it was stored, a little longer than from its change.

A key's max age is its model's ``max_element_age`` (``@diffs.register(max_element_age=...)``)
or the setting; a parent key uses its parent model's. ``max_age=`` overrides it for one run.
A dry run reads the same keys and counts, changing nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any

from django.conf import settings

from ..conf import diffs_settings
from ..exceptions import InvalidPruneOption
from ..registry import max_age_for, registrations
from ..wire import dumps
from . import health
from .connection import Client, get_redis
from .keys import BUCKETS, feed_key, index_key, labels_key
from .scripts import BucketScript, SideKeys, chunks, pipeline

#: Keys read from one index per round at most, and members one script call removes at most:
#: each call stays far below Redis' slow-command threshold (see bench/prune.py) while round
#: trips stay few.
BATCH_KEYS = 200
BATCH_MEMBERS = 5_000

#: Trims the due keys found by a round. KEYS: the object keys, then the index and labels keys
#: they name. ARGV[1]: a JSON array with, per object key, ``[cutoff, index key's position,
#: labels key's position (both counted from the first key after the objects), label]``;
#: ARGV[2]: the member budget. Each key loses its members scored at or before its cutoff;
#: then its index entry takes its new oldest member's score, or goes with the key (a key also
#: goes when its TTL ran out), and a label whose index is left empty leaves the labels set.
#: When the budget runs out the call stops, leaving the key it was at due (and the round
#: reports more). Returns scanned, removed, deleted, more.
_TRIM = BucketScript("""
local plan, budget = cjson.decode(ARGV[1]), tonumber(ARGV[2])
local scanned, removed, deleted, more, n = 0, 0, 0, 0, #plan
for k, step in ipairs(plan) do
  local key, cutoff, index = KEYS[k], step[1], KEYS[n + step[2]]
  local expired = redis.call('ZCOUNT', key, '-inf', cutoff)
  if expired > budget then
    if budget > 0 then
      redis.call('ZREMRANGEBYRANK', key, 0, budget - 1)
      removed = removed + budget
    end
    more = 1
    break
  end
  if expired > 0 then
    redis.call('ZREMRANGEBYSCORE', key, '-inf', cutoff)
    removed = removed + expired
    budget = budget - expired
  end
  scanned = scanned + 1
  local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  if oldest[1] == nil then
    redis.call('ZREM', index, key)
    if expired > 0 then deleted = deleted + 1 end
    if redis.call('ZCARD', index) == 0 then redis.call('SREM', KEYS[n + step[3]], step[4]) end
  else
    redis.call('ZADD', index, 'XX', oldest[2], key)
  end
end
return {scanned, removed, deleted, more}
""")


#: Trims one model feed. KEYS[1]: the feed; ARGV: the cutoff score, the member budget.
#: Returns removed, more (whether members at or before the cutoff are left), and how many
#: members the feed held before.
_TRIM_FEED = BucketScript("""
local expired, budget = redis.call('ZCOUNT', KEYS[1], '-inf', ARGV[1]), tonumber(ARGV[2])
local held, take = redis.call('ZCARD', KEYS[1]), math.min(expired, budget)
if take > 0 then redis.call('ZREMRANGEBYRANK', KEYS[1], 0, take - 1) end
return {take, expired > take and 1 or 0, held}
""")


@dataclass(frozen=True)
class PruneResult:
    """What a prune did (or, for a dry run, would do)."""

    keys_scanned: int = 0
    members_removed: int = 0
    keys_deleted: int = 0
    seconds: float = 0.0
    dry_run: bool = False

    def as_dict(self) -> dict[str, Any]:
        """Return the result as a JSON-safe dict (the task's return value)."""
        return asdict(self)


def prune(
    *,
    max_age: int | None = None,
    dry_run: bool = False,
    client: Client | None = None,
    prefix: str | None = None,
    batch_keys: int = BATCH_KEYS,
    batch_members: int = BATCH_MEMBERS,
    progress: Callable[[PruneResult], None] | None = None,
    buckets: range | list[int] | None = None,
) -> PruneResult:
    """Remove every diff older than its key's max age (or ``max_age``); return the counts.

    ``dry_run`` counts what would go and changes nothing. ``progress`` is called with the
    running totals after each round. ``buckets`` limits the run to some buckets (all by
    default). A full run (every bucket, not dry) leaves its result in the storage for
    ``diffs_status``. Raises what the Redis client raises when Redis fails.
    """
    _check_options(max_age, batch_keys, batch_members)
    client = client if client is not None else get_redis()
    prefix = prefix if prefix is not None else diffs_settings.key_prefix
    started = time.monotonic()
    now = time.time()
    chosen = list(range(BUCKETS) if buckets is None else buckets)
    pipe = pipeline(client)
    for bucket in chosen:
        pipe.smembers(labels_key(prefix, bucket))
    # Each index still to read, (bucket, label), and from where (a dry run pages on).
    todo: dict[tuple[int, str], int] = {}
    cutoffs: dict[str, str] = {}  # label -> the score at or before which its diffs go
    for bucket, labels in zip(chosen, pipe.execute(), strict=True):
        for label in sorted(labels):
            if label not in cutoffs:
                age = max_age_for(label) if max_age is None else max_age
                cutoffs[label] = repr(now - age)
            todo[(bucket, label)] = 0
    total = PruneResult(dry_run=dry_run)
    while todo:
        due = _due_keys(client, prefix, todo, cutoffs, batch_keys)
        # An index that filled its page may hold more. A prune reads it from the start again
        # (what it trimmed left the range); a dry run, which changes nothing, reads on.
        todo = {place: offset + len(found) if dry_run else 0
                for place, (offset, found) in due.items() if len(found) == batch_keys}
        counts = (_count(client, due, cutoffs) if dry_run
                  else _trim(client, prefix, due, cutoffs, batch_members, batch_keys, todo))
        total = replace(
            total,
            keys_scanned=total.keys_scanned + counts[0],
            members_removed=total.members_removed + counts[1],
            keys_deleted=total.keys_deleted + counts[2],
            seconds=time.monotonic() - started,
        )
        if progress is not None:
            progress(total)
    if buckets is None:
        total = _prune_feeds(client, prefix, now, max_age, dry_run, batch_members, total, started)
        if progress is not None:
            progress(total)
        if not dry_run:
            health.note_prune(client, prefix, total)
    return total


def feed_keys(prefix: str) -> list[tuple[str, str]]:
    """Return ``(label, key)`` of every model feed there may be: each model registered with
    ``model_feed=True``, in each database of ``DATABASES``."""
    names = dict.fromkeys(diffs_settings.database_key(alias) for alias in settings.DATABASES)
    return [(registration.label, feed_key(prefix, registration.label, name))
            for registration in registrations() if registration.model_feed for name in names]


def _prune_feeds(client: Client, prefix: str, now: float, max_age: int | None, dry_run: bool,
                 budget: int, total: PruneResult, started: float) -> PruneResult:
    """Return ``total`` with the model feeds trimmed (or, for a dry run, counted)."""
    for label, key in feed_keys(prefix):
        cutoff = repr(now - (max_age_for(label) if max_age is None else max_age))
        if dry_run:
            removed, held = int(client.zcount(key, "-inf", cutoff)), int(client.zcard(key))
        else:
            removed, more, held = 0, 1, -1
            while more:
                (reply,) = _TRIM_FEED.run(client, [([key], [cutoff, budget])])
                removed, more = removed + int(reply[0]), int(reply[1])
                held = int(reply[2]) if held < 0 else held
        if held:
            total = replace(total, keys_scanned=total.keys_scanned + 1,
                            members_removed=total.members_removed + removed,
                            keys_deleted=total.keys_deleted + (removed == held),
                            seconds=time.monotonic() - started)
    return total


Due = dict[tuple[int, str], tuple[int, list[str]]]


def _due_keys(client: Client, prefix: str, todo: dict[tuple[int, str], int],
              cutoffs: dict[str, str], batch_keys: int) -> Due:
    """Return, per (bucket, label), where its read started and the due keys read from there."""
    pipe = pipeline(client)
    for (bucket, label), offset in todo.items():
        pipe.zrangebyscore(index_key(prefix, bucket, label), "-inf", cutoffs[label],
                           start=offset, num=batch_keys)
    return {place: (offset, found)
            for (place, offset), found in zip(todo.items(), pipe.execute(), strict=True)}


def _trim(client: Client, prefix: str, due: Due, cutoffs: dict[str, str], budget: int,
          batch_keys: int, todo: dict[tuple[int, str], int]) -> tuple[int, int, int]:
    """Trim the due keys, in calls of at most ``batch_keys`` keys of one bucket (of any, on one
    server); add to ``todo`` the indexes of a call whose member budget ran out."""
    items = [(bucket, label, key) for (bucket, label), (_, found) in due.items()
             for key in found]
    calls = chunks(client, items, batch_keys)
    totals = [0, 0, 0]
    replies = _TRIM.run(client, [_trim_call(prefix, call, cutoffs, budget) for call in calls])
    for call, reply in zip(calls, replies, strict=True):
        for i in range(3):
            totals[i] += int(reply[i])
        if int(reply[3]):  # the budget ran out: read these indexes again next round
            todo.update({(bucket, label): 0 for bucket, label, _ in call})
    return totals[0], totals[1], totals[2]


def _trim_call(prefix: str, items: list[tuple[int, str, str]], cutoffs: dict[str, str],
               budget: int) -> tuple[list[str], list[Any]]:
    """Return the KEYS and ARGV of one trim script call over ``(bucket, label, key)`` items."""
    side = SideKeys()
    plan = [[cutoffs[label], *side.of(prefix, bucket, label), label]
            for bucket, label, _ in items]
    return [*(key for _, _, key in items), *side.keys], [dumps(plan), budget]


def _count(client: Client, due: Due, cutoffs: dict[str, str]) -> tuple[int, int, int]:
    """Return what trimming the due keys would scan, remove and delete (a dry run)."""
    pipe = pipeline(client)
    visited = [(key, label) for (_, label), (_, found) in due.items() for key in found]
    for key, label in visited:
        pipe.zcount(key, "-inf", cutoffs[label])
        pipe.zcard(key)
    replies = pipe.execute()
    expired, held = replies[0::2], replies[1::2]
    deleted = sum(1 for gone, kept in zip(expired, held, strict=True) if gone and gone == kept)
    return len(visited), sum(expired), deleted


def _check_options(max_age: Any, batch_keys: Any, batch_members: Any) -> None:
    if max_age is not None and (type(max_age) is not int or max_age < 0):
        raise InvalidPruneOption(
            f"max_age must be an int of seconds >= 0 (or None for each model's own), "
            f"not {max_age!r}."
        )
    for name, value in (("batch_keys", batch_keys), ("batch_members", batch_members)):
        if type(value) is not int or value < 1:
            raise InvalidPruneOption(f"{name} must be a positive int, not {value!r}.")
