"""Reads and Redis memory, ``python bench/storage.py``.

* Reads: one object holds 10,000 diffs; ``newest(100)`` and a ``.since(ts)`` that returns the 10
  newest are timed one call at a time (p50, p99), and what they return is checked.
* Memory: 100,000 diffs of a two-field integer change over 1,000 objects, each rolled up to one
  of 10 parents, written by the worker's own code; ``MEMORY USAGE`` of the object keys per
  diff, and of the parent keys (the copies) per diff, separately.

Prints one JSON object (the results) on the last line of stdout.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import BenchError, median, percentile

READ_DIFFS = 10_000
READ_CALLS = 2_000
MEMORY_DIFFS = 100_000
MEMORY_OBJECTS = 1_000
MEMORY_PARENTS = 10
KEY_COST_OBJECTS = 10_000


def two_field_changes(count: int, objects: int, parents: int) -> list[dict[str, Any]]:
    """Return ``count`` diffs changing two integer fields, spread over ``objects`` objects."""
    from diffs import wire

    diffs = []
    for n in range(count):
        pk = n % objects + 1
        diffs.append(wire.new_diff(
            "benchapp.diffsrow", pk,
            {"counter": n // objects + 1, "score": n % 10},
            {"counter": n // objects, "score": (n + 9) % 10},
            parents=[("benchapp.parent", pk % parents + 1)] if parents else (),
        ))
    return diffs


def write(diffs: list[dict[str, Any]]) -> None:
    """Store ``diffs`` as the worker does, 1,000 per batch."""
    from diffs import wire
    from diffs.storage.writer import write_batch

    for first in range(0, len(diffs), 1000):
        result = write_batch(wire.batch(diffs[first:first + 1000]))
        if result.rejected:
            raise BenchError(f"storage: {result.rejected} diffs rejected")


def timed_calls(call: Any, calls: int) -> list[float]:
    """Return the seconds each of ``calls`` calls took, after a garbage collection."""
    gc.collect()
    seconds = []
    for _ in range(calls):
        start = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - start)
    return seconds


def reads() -> dict[str, Any]:
    """Time ``newest(100)`` and ``since(ts)`` on an object holding 10,000 diffs."""
    from bench.benchapp.models import DiffsRow
    from diffs import wire
    from diffs.storage.connection import get_redis

    get_redis().flushdb()
    diffs = two_field_changes(READ_DIFFS, objects=1, parents=0)
    write(diffs)
    object_diffs = DiffsRow.diffs.get_by_object_id(1)
    if len(object_diffs) != READ_DIFFS:
        raise BenchError(f"reads: {len(object_diffs)} diffs stored, {READ_DIFFS} written")
    newest = object_diffs.newest(100)
    if [d.id for d in newest] != [wire.diff_id(d) for d in diffs[-100:]]:
        raise BenchError("reads: newest(100) is not the 100 diffs written last")
    since = object_diffs.since(diffs[-11][wire.TIME])
    if [d.id for d in since] != [wire.diff_id(d) for d in diffs[-10:]]:
        raise BenchError("reads: since(ts) is not the 10 diffs written after ts")
    results = {}
    for name, call in (("newest(100)", lambda: object_diffs.newest(100)),
                       ("since(ts), 10 diffs", lambda: [diff for diff in since])):
        call()
        seconds = timed_calls(call, READ_CALLS)
        results[name] = {"p50_ms": median(seconds) * 1e3, "p99_ms": percentile(seconds, 0.99) * 1e3}
    return results


def memory() -> dict[str, Any]:
    """Return the bytes per stored diff in object keys and, separately, in parent keys."""
    from diffs.conf import diffs_settings
    from diffs.storage.connection import get_redis
    from diffs.storage.keys import object_key

    client = get_redis()
    client.flushdb()
    write(two_field_changes(MEMORY_DIFFS, MEMORY_OBJECTS, MEMORY_PARENTS))
    prefix = diffs_settings.key_prefix
    results = {}
    for kind, label, keys in (("object keys", "benchapp.diffsrow", MEMORY_OBJECTS),
                              ("parent keys", "benchapp.parent", MEMORY_PARENTS)):
        names = [object_key(prefix, label, pk) for pk in range(1, keys + 1)]
        pipe = client.pipeline(transaction=False)
        for name in names:
            pipe.memory_usage(name, samples=0)
            pipe.zcard(name)
        replies = pipe.execute()
        stored = sum(replies[1::2])
        if stored != MEMORY_DIFFS:
            raise BenchError(f"memory: {kind} hold {stored} diffs, {MEMORY_DIFFS} were written")
        results[kind] = {
            "bytes_per_diff": sum(replies[0::2]) / stored,
            "diffs": stored,
            "keys": keys,
            "encoding": client.object("encoding", names[0]),
            "member_bytes": len(client.zrange(names[0], 0, 0)[0].encode()),
        }
    client.flushdb()
    return results


def key_cost() -> dict[str, Any]:
    """Return the memory one key holding one diff takes, its index entry included.

    ``used_memory`` before and after writing one diff to each of 10,000 objects (no parents):
    what a key costs on top of its diffs decides how many keys fit in a GB.
    """
    from diffs.storage.connection import get_redis, masters

    client = get_redis()
    client.flushdb()
    used = lambda: sum(int(m.info("memory")["used_memory"]) for m in masters(client))  # noqa: E731
    before = used()
    write(two_field_changes(KEY_COST_OBJECTS, KEY_COST_OBJECTS, 0))
    per_key = (used() - before) / KEY_COST_OBJECTS
    client.flushdb()
    return {"bytes_per_key_with_one_diff": per_key, "keys_per_gb": int(2**30 / per_key)}


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import bench.celery_app  # noqa: F401  (django.setup())

    print(json.dumps({"reads": reads(), "memory": memory(), "key_cost": key_cost()}))


if __name__ == "__main__":
    main()
