"""What the metrics cost, ``python bench/metrics.py`` (``make bench-metrics``).

* Per save: the only work metrics add to a save is the ``diffs_recorded`` count of its commit
  (``Counters.add``, one lock and one ``Counter`` increment; every other publishing count was
  kept already for ``diffs.stats()``). Autocommit updates of a registered model run with a sink
  that counts as the runtime does and with one that does nothing, interleaved, on SQLite in
  memory; the ratio is the median over repetitions, the difference in µs per save. The add
  alone is also timed over a million calls.
* Per diff in the worker: :meth:`diffs.metrics.tally.Tally.stored` on batches of 500 diffs.
* Per scrape: the collector's ``collect()`` (the counters, and one ``COUNT`` of the kept rows).

Prints one JSON object (the results) on the last line of stdout, and writes it to
``bench/results/metrics.json``; goal: under 2 µs per save.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import time
import timeit
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import create_tables, median, redis_server

RESULTS = Path(__file__).resolve().parent / "results"
SAVES = 2_000
REPETITIONS = int(os.environ.get("BENCH_REPETITIONS", "15"))
BATCH = 500


def main() -> None:
    with redis_server() as url:
        os.environ.update(BENCH_REDIS_URL=url, BENCH_DB="sqlite",
                          DJANGO_SETTINGS_MODULE="bench.settings")
        import django

        django.setup()
        result = run()
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "metrics.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))


def run() -> dict[str, Any]:
    from prometheus_client import REGISTRY, generate_latest

    from bench.benchapp.models import DiffsRow
    from diffs import metrics
    from diffs.metrics.tally import Tally
    from diffs.transport import sink
    from diffs.transport.counters import Counters

    create_tables()
    rows = [DiffsRow.objects.create(name=f"row {i}", counter=0, score=0) for i in range(100)]
    counters = Counters()

    def counted(diffs: list[Any], outbox: Any = None) -> None:
        counters.add("diffs_recorded", len(diffs))

    def dropped(diffs: list[Any], outbox: Any = None) -> None:
        pass

    def saves(target: Any) -> float:
        gc.collect()
        with sink.replaced(target):
            started = time.perf_counter()
            for n in range(SAVES):
                row = rows[n % len(rows)]
                row.counter += 1
                row.save()
            return (time.perf_counter() - started) / SAVES

    ratios, differences = [], []
    for repetition in range(REPETITIONS + 2):
        order = [counted, dropped] if repetition % 2 else [dropped, counted]
        timed = {target: saves(target) for target in order}
        if repetition >= 2:  # two warm-up repetitions
            ratios.append(timed[counted] / timed[dropped])
            differences.append((timed[counted] - timed[dropped]) * 1e6)
    add = min(timeit.repeat(lambda: counters.add("diffs_recorded", 1), number=1_000_000,
                            repeat=5)) / 1_000_000 * 1e6
    tally = Tally()
    now = time.time()
    stored = [("benchapp.diffsrow", now - 0.01 * i) for i in range(BATCH)]
    per_diff = min(timeit.repeat(lambda: tally.stored(stored, now), number=200, repeat=5)) / (
        200 * BATCH) * 1e6
    metrics.install()
    scrape = min(timeit.repeat(lambda: generate_latest(REGISTRY), number=200, repeat=5)) / 200
    return {
        "command": "make bench-metrics",
        "saves_per_run": SAVES,
        "repetitions": REPETITIONS,
        "ratio_with_over_without": round(median(ratios), 4),
        "us_per_save_added_median": round(median(differences), 3),
        "us_per_counter_add": round(add, 3),
        "worker_us_per_diff_tallied": round(per_diff, 3),
        "ms_per_scrape": round(scrape * 1e3, 3),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "load_average": os.getloadavg()[0],
    }


if __name__ == "__main__":
    main()
