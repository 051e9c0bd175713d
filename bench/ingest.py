"""Worker ingest: diffs per second one worker process stores, ``python bench/ingest.py``.

The queue is filled first (through the product's own publish path), then one real Celery
worker process (solo pool) is started on it. The rate is counted from the first diff stored to
the last, so the worker's start-up is left out. Two shapes: one diff per task (what autocommit
saves send) and 100 diffs per task (one transaction's batch); every diff rolls up to one
parent. Afterwards every object's and parent's count is checked.

Prints one JSON object (the results) on the last line of stdout.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import BenchError, celery_worker, wait_until

OBJECTS = 2000
PARENTS = 20
SHAPES = {"one diff per task": (1, 20_000), "100 diffs per task": (100, 200_000)}


def make_diffs(count: int) -> list[dict[str, Any]]:
    """Return ``count`` diffs of a two-field integer change, each with one parent."""
    from diffs.payload import change_time

    diffs = []
    for n in range(count):
        timestamp, diff_id = change_time()
        diffs.append({
            "i": diff_id, "m": "benchapp.diffsrow", "p": n % OBJECTS + 1, "t": timestamp,
            "f": {"counter": n + 1, "score": n + 2}, "o": {"counter": n, "score": n + 1},
            "r": [["benchapp.parent", n % PARENTS + 1]],
        })
    return diffs


def ingest(per_task: int, count: int, env: dict[str, str]) -> dict[str, Any]:
    """Queue ``count`` diffs in tasks of ``per_task``, let one worker store them; return rates."""
    import redis
    from django.conf import settings as django_settings

    from diffs import publishing
    from diffs.conf import settings
    from diffs.connection import get_redis

    storage = get_redis()
    broker = redis.Redis.from_url(django_settings.CELERY_BROKER_URL)
    storage.flushdb()
    broker.flushdb()
    diffs = make_diffs(count)
    start = time.perf_counter()
    for first in range(0, count, per_task):
        publishing.send({"v": 1, "diffs": diffs[first:first + per_task]})
    publish_seconds = time.perf_counter() - start

    parents = [f"{settings.key_prefix}:benchapp.parent:{pk}" for pk in range(1, PARENTS + 1)]

    def stored() -> int:
        pipe = storage.pipeline(transaction=False)
        for key in parents:
            pipe.zcard(key)
        return sum(pipe.execute())

    with celery_worker(env, settings.queue):
        wait_until(lambda: stored() > 0, "the worker to store its first diff", interval=0.001)
        first_seen, first_count = time.perf_counter(), stored()
        wait_until(lambda: stored() >= count, "the worker to store every diff",
                   timeout=600, interval=0.002)
        seconds = time.perf_counter() - first_seen
    check_counts(storage, settings.key_prefix, diffs)
    return {
        "diffs": count,
        "diffs_per_task": per_task,
        "diffs_per_second": (count - first_count) / seconds,
        "published_per_second": count / publish_seconds,
    }


def check_counts(storage: Any, prefix: str, diffs: list[dict[str, Any]]) -> None:
    """Fail unless every object and parent key holds exactly the diffs sent to it."""
    expected: Counter[str] = Counter()
    for diff in diffs:
        expected[f"{prefix}:{diff['m']}:{diff['p']}"] += 1
        for label, pk in diff["r"]:
            expected[f"{prefix}:{label}:{pk}"] += 1
    pipe = storage.pipeline(transaction=False)
    for key in expected:
        pipe.zcard(key)
    for (key, want), got in zip(expected.items(), pipe.execute(), strict=True):
        if got != want:
            raise BenchError(f"ingest: {key} holds {got} diffs, {want} were sent")


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import bench.celery_app  # noqa: F401  (django.setup() and the project's Celery app)

    env = {key: os.environ[key] for key in ("BENCH_REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    results = {name: ingest(per_task, count, env) for name, (per_task, count) in SHAPES.items()}
    print(json.dumps(results))


if __name__ == "__main__":
    main()
