"""What ``storage_replicas: 1`` costs a write: ``python bench/replicas.py``.

A master and its replica (:mod:`tests.topology`, memory only, on loopback) take batches of 100
diffs of 100 objects through the worker's own store step
(:func:`diffs.storage.writer.write_batch`), with ``storage_replicas`` 0 and 1 interleaved; the
cost is the median per batch, and the difference is what the ``SET`` + ``WAIT`` round trip
adds; that round trip alone is timed too. On loopback the replica acknowledges within a
millisecond; across hosts add the network round trip to the replica. ``make bench-replicas``.

Prints one JSON object (the results) on the last line of stdout, and writes it to
``bench/results/replicas.json``.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import timeit
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import median
from tests.topology import HOST, Server, settle

RESULTS = Path(__file__).resolve().parent / "results"
BATCH = 100
BATCHES = 100
REPETITIONS = int(os.environ.get("BENCH_REPETITIONS", "9"))


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="diffs-bench-replicas-") as tmp:
        master = Server(Path(tmp))
        replica = Server(Path(tmp), "--replicaof", HOST, str(master.port))
        try:
            settle(lambda: replica.client().info("replication")["master_link_status"] == "up",
                   "the replica is in sync")
            os.environ.update(BENCH_REDIS_URL=f"redis://{HOST}:{master.port}", BENCH_DB="sqlite",
                              DJANGO_SETTINGS_MODULE="bench.settings")
            import django

            django.setup()
            result = run(f"redis://{HOST}:{master.port}/0")
        finally:
            replica.stop()
            master.stop()
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "replicas.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))


def run(url: str) -> dict[str, Any]:
    import redis
    from django.test import override_settings

    from diffs import wire
    from diffs.storage import replicas
    from diffs.storage.writer import write_batch

    def batches(wanted: int) -> float:
        envelopes = [wire.dumps(wire.batch([wire.new_diff(
            "benchapp.diffsrow", n * BATCH + i + 1, {"counter": n}, {"counter": n - 1})
            for i in range(BATCH)])) for n in range(BATCHES)]
        with override_settings(DIFFS_SETTINGS={"redis": {"url": url},
                                               "storage_replicas": wanted}):
            started = time.perf_counter()
            for envelope in envelopes:
                write_batch(envelope)
            return (time.perf_counter() - started) / BATCHES

    timed: dict[int, list[float]] = {0: [], 1: []}
    for repetition in range(REPETITIONS + 1):
        for wanted in ((0, 1) if repetition % 2 else (1, 0)):
            seconds = batches(wanted)
            if repetition:  # the first is a warm-up
                timed[wanted].append(seconds)
    without, with_ = median(timed[0]) * 1e3, median(timed[1]) * 1e3
    client = redis.Redis.from_url(url, decode_responses=True)
    written = ["diffs:{7}:benchapp.diffsrow:1"]
    wait_alone = min(timeit.repeat(lambda: replicas.wait(client, written, 1, 1.0), number=1000,
                                   repeat=5)) / 1000 * 1e3
    client.close()
    return {
        "command": "make bench-replicas",
        "diffs_per_batch": BATCH,
        "batches_per_run": BATCHES,
        "repetitions": REPETITIONS,
        "ms_per_batch_replicas_0": round(without, 3),
        "ms_per_batch_replicas_1": round(with_, 3),
        "ms_added_per_batch": round(with_ - without, 3),
        "ms_per_set_and_wait_alone": round(wait_alone, 3),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "load_average": os.getloadavg()[0],
    }


if __name__ == "__main__":
    main()
