"""Worker ingest: diffs per second one worker process stores, ``python bench/ingest.py``.

The queue is filled first (through the product's own publish path), then one real Celery
worker process (solo pool) is started on it; the rate is counted from the first diff stored to
the last, so the worker's start-up is left out. Three shapes: one diff per task (what
autocommit saves send), 100 diffs per task (one transaction's batch) and 500 (a background
publisher's full flush); every diff rolls up to one parent. Afterwards every object's and
parent's count is checked. For scale, the same worker also runs a task that does nothing (no
task-per-diff design can ingest faster than that) and one that only parses and checks
batches of 500 (the floor under storing them).

The broker is the bench's redis-server, or ``BENCH_BROKER_URL`` (with a queue of its own).
Prints one JSON object (the results) on the last line of stdout.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import BenchError, celery_worker, sizes, wait_until

OBJECTS = 2000
PARENTS = 20
SHAPES = {"one diff per task": (1, 20_000), "100 diffs per task": (100, 200_000),
          "500 diffs per task": (500, 200_000)}
NOOP_TASKS = 10_000
#: The floor of a stored diff: tasks of 500 diffs a worker only parses and checks.
PARSE_ONLY = (500, 200_000)
#: Worker processes (solo pool each) storing at once; ``BENCH_INGEST_WORKERS``.
WORKERS = int(os.environ.get("BENCH_INGEST_WORKERS", "1"))
#: ``BENCH_INGEST_SHAPES``: the shapes to run, comma-separated numbers of diffs per task.
ONLY = os.environ.get("BENCH_INGEST_SHAPES", "")


def make_diffs(count: int) -> list[dict[str, Any]]:
    """Return ``count`` diffs of a two-field integer change, each with one parent."""
    from diffs import wire

    return [
        wire.new_diff(
            "benchapp.diffsrow", n % OBJECTS + 1,
            {"counter": n % 5000 + 1, "score": n % 7}, {"counter": n % 5000, "score": 0},
            parents=[("benchapp.parent", n % PARENTS + 1)],
        )
        for n in range(count)
    ]


class Queue:
    """The bench's queue on the broker: its length, and its removal afterwards."""

    def __init__(self, name: str) -> None:
        from celery import current_app

        self.name = name
        self.connection = current_app.connection_for_write()

    def __len__(self) -> int:
        try:
            declared = self.connection.default_channel.queue_declare(self.name, passive=True)
        except self.connection.channel_errors:  # no such queue (any more)
            self.connection.close()  # AMQP closes the channel of a failed passive declare
            self.connection = self.connection.clone()
            return 0
        return int(declared.message_count)

    def delete(self) -> None:
        self.connection.default_channel.queue_delete(self.name)
        self.connection.close()


def ingest(per_task: int, count: int, env: dict[str, str]) -> dict[str, Any]:
    """Queue ``count`` diffs in tasks of ``per_task``, let one worker store them; return rates."""
    from diffs import wire
    from diffs.conf import diffs_settings
    from diffs.storage.connection import get_redis, masters
    from diffs.storage.keys import object_key
    from diffs.transport import runtime

    storage = get_redis()
    for master in masters(storage):
        master.flushdb()
    diffs = make_diffs(count)
    start = time.perf_counter()
    for first in range(0, count, per_task):
        runtime.current().sender.send(wire.batch(diffs[first:first + per_task]))
    publish_seconds = time.perf_counter() - start
    parents = [object_key(diffs_settings.key_prefix, "benchapp.parent", pk)
               for pk in range(1, PARENTS + 1)]

    def stored() -> int:
        return sum(sizes(storage, parents))

    with contextlib.ExitStack() as workers:
        for number in range(WORKERS):
            workers.enter_context(celery_worker(env, diffs_settings.queue, number))
        wait_until(lambda: stored() > 0, "the worker to store its first diff", interval=0.001)
        first_seen, first_count = time.perf_counter(), stored()
        wait_until(lambda: stored() >= count, "the worker to store every diff",
                   timeout=600, interval=0.002)
        seconds = time.perf_counter() - first_seen
    check_counts(storage, diffs_settings.key_prefix, diffs)
    return {
        "diffs": count,
        "diffs_per_task": per_task,
        "worker_processes": WORKERS,
        "diffs_per_second": (count - first_count) / seconds,
        "published_per_second": count / publish_seconds,
    }


def noop_floor(env: dict[str, str]) -> float:
    """Return how many do-nothing tasks per second the same worker runs on the same broker."""
    from celery import current_app

    from diffs.conf import diffs_settings
    from diffs.transport import runtime

    queue = Queue(f"{diffs_settings.queue}-noop")
    for _ in range(NOOP_TASKS):
        runtime.current().producers.send_task(current_app, "bench.naive_write", ["x"], queue.name,
                                              5.0, "('x',)")
    with celery_worker(env, queue.name):
        wait_until(lambda: len(queue) < NOOP_TASKS, "the worker to start", interval=0.001)
        start, left = time.perf_counter(), len(queue)
        wait_until(lambda: len(queue) == 0, "the worker to run every task", timeout=600,
                   interval=0.002)
        seconds = time.perf_counter() - start
    queue.delete()
    return left / seconds


def parse_floor(env: dict[str, str]) -> float:
    """Return how many diffs per second the same worker only parses and checks (no store)."""
    from celery import current_app

    from diffs import wire
    from diffs.conf import diffs_settings
    from diffs.transport import runtime

    per_task, count = PARSE_ONLY
    diffs = make_diffs(count)
    queue = Queue(f"{diffs_settings.queue}-parse")
    tasks = 0
    for first in range(0, count, per_task):
        text = wire.dumps(wire.batch(diffs[first:first + per_task]))
        runtime.current().producers.send_task(current_app, "bench.parse_only", [text],
                                              queue.name, 5.0, "('...',)")
        tasks += 1
    with celery_worker(env, queue.name):
        wait_until(lambda: len(queue) < tasks, "the worker to start", interval=0.001)
        start, left = time.perf_counter(), len(queue)
        wait_until(lambda: len(queue) == 0, "the worker to parse every batch", timeout=600,
                   interval=0.002)
        seconds = time.perf_counter() - start
    queue.delete()
    return left * per_task / seconds


def check_counts(storage: Any, prefix: str, diffs: list[dict[str, Any]]) -> None:
    """Fail unless every object and parent key holds exactly the diffs sent to it."""
    from diffs.storage.keys import object_key

    expected: Counter[str] = Counter()
    for diff in diffs:
        expected[object_key(prefix, diff["m"], diff["p"])] += 1
        for label, pk in diff["r"]:
            expected[object_key(prefix, label, pk)] += 1
    for (key, want), got in zip(expected.items(), sizes(storage, expected), strict=True):
        if got != want:
            raise BenchError(f"ingest: {key} holds {got} diffs, {want} were sent")


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    from celery import current_app

    import bench.celery_app  # noqa: F401  (django.setup() and the project's Celery app)
    from diffs.conf import diffs_settings

    names = ("BENCH_REDIS_URL", "BENCH_BROKER_URL", "BENCH_QUEUE", "DJANGO_SETTINGS_MODULE",
             "BENCH_CLUSTER_NODES")
    env = {key: os.environ[key] for key in names if key in os.environ}
    results: dict[str, Any] = {"broker": current_app.connection_for_write().as_uri()}
    try:
        for name, (per_task, count) in SHAPES.items():
            if not ONLY or str(per_task) in ONLY.split(","):
                results[name] = ingest(per_task, count, env)
        if not ONLY:
            results["no-op task floor"] = {"tasks_per_second": noop_floor(env)}
            results["parse-only floor"] = {"diffs_per_second": parse_floor(env)}
    finally:
        Queue(diffs_settings.queue).delete()
    print(json.dumps(results))


if __name__ == "__main__":
    main()
