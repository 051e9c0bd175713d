"""What ``read_old_values=True`` costs: ``bench/read_old_values.py`` (part of ``make bench``).

Times a two-field update of the same model shape three ways, in one process and interleaved:
untracked (``plain``), registered with the default (``diffs``: old values from the loaded
state) and registered with ``read_old_values=True`` (one ``SELECT`` of the row before each
save), in autocommit and 100 saves per transaction, on SQLite in memory and on PostgreSQL (a
database of its own, dropped afterwards). Ratios are medians over repetitions of each variant's
time over ``plain``'s in the same repetition. Prints a Markdown table and one JSON line.
"""

from __future__ import annotations

import gc
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import ROOT, create_tables, postgres, redis_server

ROWS = 200
REPETITIONS = int(os.environ.get("BENCH_REPETITIONS", "11"))
VARIANTS = ("plain", "diffs", "read_old_values")


def measure() -> dict[str, Any]:
    """Run in a process set up for one database (``BENCH_DB``); return medians and ratios."""
    import django

    django.setup()
    from django.db import connection, transaction

    from bench.benchapp.models import DiffsRow, PlainRow, ReadOldRow

    create_tables()
    models = dict(zip(VARIANTS, (PlainRow, DiffsRow, ReadOldRow), strict=True))
    rows = {}
    for name, model in models.items():
        model.objects.bulk_create(model(name=f"row {i}", counter=0, score=0) for i in range(ROWS))
        rows[name] = list(model.objects.order_by("pk"))

    def update(name: str, per_transaction: int) -> float:
        gc.collect()
        start = time.perf_counter()
        for first in range(0, ROWS, per_transaction):
            with transaction.atomic() if per_transaction > 1 else _nothing():
                for row in rows[name][first:first + per_transaction]:
                    row.counter += 1
                    row.score += 1
                    row.save()
        return (time.perf_counter() - start) / ROWS

    results: dict[str, Any] = {"vendor": connection.display_name}
    workloads = (("update, autocommit", 1), ("update, 100 per transaction", 100))
    for workload, per_transaction in workloads:
        samples: dict[str, list[float]] = {name: [] for name in VARIANTS}
        for repetition in range(REPETITIONS + 2):
            order = VARIANTS[repetition % 3:] + VARIANTS[:repetition % 3]
            for name in order:
                seconds = update(name, per_transaction)
                if repetition >= 2:
                    samples[name].append(seconds)
        results[workload] = {
            name: {
                "median_us": statistics.median(values) * 1e6,
                "ratio": statistics.median(v / p for v, p in zip(values, samples["plain"],
                                                                strict=True)),
            }
            for name, values in samples.items()
        }
    return results


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def table(by_database: dict[str, dict[str, Any]]) -> str:
    lines = ["| database | save | plain | diffs (default) | read_old_values=True |",
             "|---|---|---:|---:|---:|"]
    for result in by_database.values():
        for workload in ("update, autocommit", "update, 100 per transaction"):
            cells = [f"{result[workload][name]['median_us']:.1f} µs = "
                     f"{result[workload][name]['ratio']:.2f}x" for name in VARIANTS]
            lines.append(f"| {result['vendor']} | {workload} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    if os.environ.get("BENCH_DB"):
        print(json.dumps(measure()))
        return
    results = {}
    with redis_server() as url:
        for database in ("sqlite", "postgres"):
            env = {**os.environ, "BENCH_DB": database, "BENCH_REDIS_URL": url,
                   "DJANGO_SETTINGS_MODULE": "bench.settings"}
            name = f"bench_read_old_{uuid.uuid4().hex[:8]}"
            if database == "postgres":
                postgres(f'CREATE DATABASE "{name}"')
                env["BENCH_PG_NAME"] = name
            try:
                done = subprocess.run([sys.executable, __file__], env=env, cwd=ROOT, check=True,
                                      stdout=subprocess.PIPE, text=True)
            finally:
                if database == "postgres":
                    postgres(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            results[database] = json.loads(done.stdout.strip().splitlines()[-1])
    print(table(results))
    print(json.dumps(results))


if __name__ == "__main__":
    main()
