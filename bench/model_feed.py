"""What ``model_feed=True`` costs the worker, ``python bench/model_feed.py``.

* Ingest: diffs per second the worker's own write code (``diffs.storage.writer.write_batch``,
  in this process: validation, one pipeline of script calls) stores, for a model without a
  feed and one with, in batches of 1 (autocommit saves) and of 100 (a transaction's); the
  same diffs (two-field integer changes over 1,000 objects, no parents) in both, best of
  three rounds. Its ratio is the feed's write cost; the feed being one key (one cluster slot),
  the "1 per batch" rate with the feed is also a floor of one model's feed ceiling for one
  worker process.
* Ceiling: one model's feed is one key on one Redis node, so what bounds it is the time that
  node spends per append. The feed's own script calls are made alone (as the worker makes
  them, 1 and 100 diffs per call) and Redis' ``INFO commandstats`` gives the microseconds per
  call it spent: ``1e6 / that * diffs per call`` is the most diffs per second one model's feed
  takes, whatever the number of workers.
* Memory: ``MEMORY USAGE`` of the feed key per diff, after 100,000 diffs.

Prints one JSON object (the results) on the last line of stdout.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import BenchError, guarded, redis_server

OBJECTS = 1_000
DIFFS = {1: 10_000, 100: 100_000}
MEMORY_DIFFS = 100_000
ROUNDS = 3


def changes(label: str, count: int) -> list[dict[str, Any]]:
    """Return ``count`` diffs of ``label`` changing two integer fields over ``OBJECTS``."""
    from diffs import wire

    return [wire.new_diff(label, n % OBJECTS + 1, {"counter": n + 1, "score": n % 10},
                          {"counter": n, "score": (n + 9) % 10}) for n in range(count)]


def ingest(label: str, per_batch: int) -> float:
    """Return the best diffs/s of ``ROUNDS`` rounds storing ``DIFFS[per_batch]`` diffs."""
    from diffs import wire
    from diffs.storage.connection import get_redis
    from diffs.storage.writer import write_batch

    best = 0.0
    for _ in range(ROUNDS):
        get_redis().flushdb()
        batches = [wire.batch(chunk) for chunk in _chunks(changes(label, DIFFS[per_batch]),
                                                          per_batch)]
        texts = [wire.dumps(one) for one in batches]  # as the task receives them
        started = time.perf_counter()
        for text in texts:
            if write_batch(text).rejected:
                raise BenchError("ingest: diffs rejected")
        best = max(best, DIFFS[per_batch] / (time.perf_counter() - started))
    return best


def _chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[first:first + size] for first in range(0, len(items), size)]


def feed_memory() -> dict[str, Any]:
    """Return the bytes per diff of a model feed holding ``MEMORY_DIFFS`` diffs."""
    from diffs import wire
    from diffs.conf import diffs_settings
    from diffs.storage.connection import get_redis
    from diffs.storage.keys import feed_key
    from diffs.storage.writer import write_batch

    client = get_redis()
    client.flushdb()
    for chunk in _chunks(changes("benchapp.feedrow", MEMORY_DIFFS), 1000):
        write_batch(wire.batch(chunk))
    key = feed_key(diffs_settings.key_prefix, "benchapp.feedrow")
    held = int(client.zcard(key))
    if held != MEMORY_DIFFS:
        raise BenchError(f"memory: the feed holds {held} diffs, {MEMORY_DIFFS} were written")
    size = int(client.memory_usage(key, samples=0))
    member = client.zrange(key, 0, 0)[0]
    client.flushdb()
    return {"bytes_per_diff": size / held, "diffs": held, "member_bytes": len(member.encode())}


def ceiling(per_call: int, calls: int = 5_000) -> dict[str, float]:
    """Return the storage Redis' microseconds per feed append of ``per_call`` diffs, and the
    diffs per second that allows one model's feed."""
    from diffs import wire
    from diffs.conf import diffs_settings
    from diffs.storage import store
    from diffs.storage.connection import get_redis
    from diffs.storage.keys import feed_key

    client = get_redis()
    client.flushdb()
    key = feed_key(diffs_settings.key_prefix, "benchapp.feedrow")
    made = changes("benchapp.feedrow", per_call * calls)
    members = [wire.feed_member(wire.dumps({"i": d["i"], "f": d["f"], "o": d["o"]}), d["p"])
               for d in made]
    times = [wire.id_micros(d["i"]) for d in made]
    plans = [wire.dumps([[3600, members[i:i + per_call], times[i:i + per_call]]])
             for i in range(0, len(members), per_call)]
    # The write script of diffs.storage.store, called as the worker calls it for a feed.
    script = store._WRITE
    client.config_resetstat()
    for plan in plans:
        script.run(client, [([key], [plan, "[]"])])
    stats = client.info("commandstats")
    calls_made = sum(int(stats[name]["calls"]) for name in ("cmdstat_evalsha", "cmdstat_eval")
                     if name in stats)
    spent = sum(float(stats[name]["usec"]) for name in ("cmdstat_evalsha", "cmdstat_eval")
                if name in stats)
    if calls_made != len(plans) or int(client.zcard(key)) != len(members):
        raise BenchError("ceiling: the feed does not hold what was written")
    per = spent / calls_made
    client.flushdb()
    return {"redis_us_per_call": round(per, 1),
            "ceiling_diffs_per_s": round(1e6 / per * per_call)}


def main() -> None:
    with redis_server() as url:
        os.environ["BENCH_REDIS_URL"] = url
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
        import django

        django.setup()
        results: dict[str, Any] = {"ingest_diffs_per_s": {}}
        for per_batch in DIFFS:
            without = ingest("benchapp.diffsrow", per_batch)
            with_feed = ingest("benchapp.feedrow", per_batch)
            results["ingest_diffs_per_s"][f"{per_batch} per batch"] = {
                "without": round(without), "with model_feed": round(with_feed),
                "cost": round(without / with_feed, 3)}
        results["feed_ceiling"] = {f"{n} per call": ceiling(n) for n in (1, 100)}
        results["feed_memory"] = feed_memory()
        print(json.dumps(results))


if __name__ == "__main__":
    guarded(main)
