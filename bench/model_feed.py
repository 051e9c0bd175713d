"""What ``model_feed=True`` costs the worker, ``python bench/model_feed.py``.

* Ingest: diffs per second the worker's own write code (``diffs.storage.writer.write_batch``,
  in this process: validation, one pipeline of script calls) stores, for a model without a
  feed and one with, in batches of 1 (autocommit saves) and of 100 (a transaction's); the
  same diffs (two-field integer changes over 1,000 objects, no parents) in both, best of
  three rounds. Its ratio is the feed's write cost; the feed being one key (one cluster slot),
  the "1 per batch" rate with the feed is also a floor of one model's feed ceiling for one
  worker process.
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
        results["feed_memory"] = feed_memory()
        print(json.dumps(results))


if __name__ == "__main__":
    guarded(main)
