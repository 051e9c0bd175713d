"""Pruning: remove the diffs older than their key's max age, a bounded batch at a time.

Redis cannot expire single members of a sorted set, so members are removed by score. Finding
the keys never uses ``KEYS`` or a full ``SCAN``: the store's index ``<prefix>:~due`` scores each
object key by the time its oldest member expires, so a prune reads only the keys that are due.

Each batch is one Lua script call, so it is atomic and short: at most ``batch_keys`` keys and
``batch_members`` removed members. Two prunes at once therefore interleave harmlessly, and a
write (one script call that adds to the key and lowers its due time, ``ZADD LT``) that lands
between two batches is seen by the next one: the script recomputes a key's due time from the
members it actually holds, and only drops an index entry when the key holds nothing.

A key's max age is its model's ``max_element_age`` (``@diffs.register(max_element_age=...)``)
or the setting; a parent key uses its parent model's. ``max_age=`` overrides it for one run.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any

import redis

from ..conf import settings
from ..exceptions import InvalidPruneOption
from ..registry import max_age_for, registrations
from .connection import get_redis
from .keys import LABEL_OF_KEY_LUA, index_key

#: Keys one script call visits at most, and members it removes at most: each call stays far
#: below Redis' slow-command threshold (see bench/prune.py) while round trips stay few.
BATCH_KEYS = 200
BATCH_MEMBERS = 5_000

# ARGV shared by both scripts: prefix, default age, {label: age} as JSON, override age ("" for
# none), now, key limit, member budget. Scores are formatted with 17 digits: Lua's default
# number-to-string conversion keeps only 14, which would move a due time by up to ~0.1 ms.
_PRELUDE = LABEL_OF_KEY_LUA + """
local prefix_length = string.len(ARGV[1])
local default_age = tonumber(ARGV[2])
local ages = cjson.decode(ARGV[3])
local override = tonumber(ARGV[4])
local now = tonumber(ARGV[5])
local key_limit = tonumber(ARGV[6])
local budget = tonumber(ARGV[7])
local scanned, removed, deleted = 0, 0, 0

local function score(x)
  return string.format('%.17g', x)
end

local function age_of(key)
  if override then return override end
  local label = label_of(key, prefix_length)
  if label then return ages[label] or default_age end
  return default_age
end

-- Remove the members of key scored at or before cutoff, within the member budget. Return
-- false when the budget ran out first (the caller stops there), else true and how many went.
local function trim(key, cutoff)
  local expired = redis.call('ZCOUNT', key, '-inf', cutoff)
  if expired > budget then
    if budget > 0 then
      redis.call('ZREMRANGEBYRANK', key, 0, budget - 1)
      removed = removed + budget
      budget = 0
    end
    return false, 0
  end
  if expired > 0 then
    redis.call('ZREMRANGEBYSCORE', key, '-inf', cutoff)
    removed = removed + expired
    budget = budget - expired
  end
  return true, expired
end

-- Drop the index entry of a key that is gone: Redis deletes a sorted set when its last
-- member goes (then this prune deleted it) or when its TTL runs out.
local function forget(key, expired)
  redis.call('ZREM', KEYS[1], key)
  if expired > 0 then deleted = deleted + 1 end
end
"""

# KEYS[1] = the index. Visit the keys due by `now`, oldest first; afterwards each key is
# either gone from the index (nothing left in it) or re-scored past `now`, so the next call
# starts with the next due keys and a run ends. Returns scanned, removed, deleted, more.
_PRUNE_DUE = _PRELUDE + """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', score(now), 'LIMIT', 0, key_limit)
local more = #due == key_limit
for _, key in ipairs(due) do
  local age = age_of(key)
  local done, expired = trim(key, score(now - age))
  if not done then
    more = true
    break
  end
  scanned = scanned + 1
  local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  if oldest[1] == nil then
    forget(key, expired)
  else
    local next_due = tonumber(oldest[2]) + age
    if next_due <= now then next_due = now + 0.001 end  -- rounding only: keep the run finite
    redis.call('ZADD', KEYS[1], 'XX', score(next_due), key)
  end
end
return {scanned, removed, deleted, more and 1 or 0}
"""

# KEYS[1] = the index; ARGV[8] = rank to start at, ARGV[9] = "1" to remove, "0" to count only,
# ARGV[10] = the last due time to visit ("" for all). Walks the index by rank: for dry runs
# (which change nothing, so the due keys do not leave the range) and for runs with an
# overriding max age (whose cutoff has nothing to do with the due times). Entries stay where
# they are, so ranks stay put, except those of keys left empty, which go (the next entry then
# takes their rank). A kept entry's due time is now earlier than its key's real one, which
# only makes a later normal prune visit it early and re-score it.
# Returns scanned, removed, deleted, more, next rank.
_WALK = _PRELUDE + """
local rank = tonumber(ARGV[8])
local apply = ARGV[9] == '1'
local last_due = tonumber(ARGV[10]) or math.huge
local entries = redis.call('ZRANGE', KEYS[1], rank, rank + key_limit - 1, 'WITHSCORES')
local more = #entries == 2 * key_limit
for i = 1, #entries, 2 do
  local key = entries[i]
  if tonumber(entries[i + 1]) > last_due then
    more = false
    break
  end
  local cutoff = score(now - age_of(key))
  if apply then
    local done, expired = trim(key, cutoff)
    if not done then
      more = true
      break
    end
    if redis.call('EXISTS', key) == 0 then forget(key, expired) else rank = rank + 1 end
  else
    local expired = redis.call('ZCOUNT', key, '-inf', cutoff)
    removed = removed + expired
    if expired > 0 and expired == redis.call('ZCARD', key) then deleted = deleted + 1 end
    rank = rank + 1
  end
  scanned = scanned + 1
end
return {scanned, removed, deleted, more and 1 or 0, rank}
"""


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
    client: redis.Redis | None = None,
    prefix: str | None = None,
    batch_keys: int = BATCH_KEYS,
    batch_members: int = BATCH_MEMBERS,
    progress: Callable[[PruneResult], None] | None = None,
) -> PruneResult:
    """Remove every diff older than its key's max age (or ``max_age``); return the counts.

    ``dry_run`` counts what would go and changes nothing. ``progress`` is called with the
    running totals after each batch. Raises what the Redis client raises when Redis fails.
    """
    _check_options(max_age, batch_keys, batch_members)
    client = client if client is not None else get_redis()
    prefix = prefix if prefix is not None else settings.key_prefix
    started = time.monotonic()
    now = repr(time.time())
    args: list[str | int] = [
        prefix,
        settings.max_element_age,
        json.dumps({r.label: max_age_for(r.label) for r in registrations()}),
        "" if max_age is None else max_age,
        now,
        batch_keys,
        batch_members,
    ]
    index = [index_key(prefix)]
    walk = max_age is not None or dry_run
    script = client.register_script(_WALK if walk else _PRUNE_DUE)
    total = PruneResult(dry_run=dry_run)
    rank = 0
    more = True
    last_due = now if max_age is None else ""
    while more:
        extra: list[str | int] = [rank, "0" if dry_run else "1", last_due] if walk else []
        reply = script(keys=index, args=[*args, *extra], client=client)
        scanned, removed, deleted, again = (int(value) for value in reply[:4])
        more = bool(again)
        if walk:
            rank = int(reply[4])
        total = replace(
            total,
            keys_scanned=total.keys_scanned + scanned,
            members_removed=total.members_removed + removed,
            keys_deleted=total.keys_deleted + deleted,
            seconds=time.monotonic() - started,
        )
        if progress is not None:
            progress(total)
    return total


def _check_options(max_age: Any, batch_keys: Any, batch_members: Any) -> None:
    if max_age is not None and (type(max_age) is not int or max_age < 0):
        raise InvalidPruneOption(
            f"max_age must be an int of seconds >= 0 (or None for each model's own), "
            f"not {max_age!r}."
        )
    for name, value in (("batch_keys", batch_keys), ("batch_members", batch_members)):
        if type(value) is not int or value < 1:
            raise InvalidPruneOption(f"{name} must be a positive int, not {value!r}.")
