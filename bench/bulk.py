"""What recording bulk writes costs: ``bench/bulk.py`` (part of ``make bench``).

Times four bulk writes of 10,000 rows of one model shape, three ways, in one process and
interleaved: untracked with Django's own manager (``plain``), registered with
``diffs.RecordedManager`` (``diffs``: every row recorded, one task per write) and
django-simple-history (``bulk_create_with_history`` / ``bulk_update_with_history``; its
``update()`` records nothing, its ``delete()`` one history row per row through signals);
``bulk_update`` in batches of ``UPDATE_BATCH`` rows for all three. On SQLite in memory and on
PostgreSQL (a database of its own, dropped afterwards).

The broker is the bench's own redis-server; nothing consumes it while the clock runs, so the
times are the web process's alone. Afterwards a real worker stores every task and the bench
checks that each sampled row has its four diffs. Ratios are medians over repetitions of each
variant's time over ``plain``'s in the same repetition. Prints a Markdown table and one JSON
line. ``BENCH_ROWS`` and ``BENCH_REPETITIONS`` change the size.
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
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import (
    ROOT,
    BenchError,
    celery_worker,
    create_tables,
    postgres,
    redis_server,
    wait_until,
)

ROWS = int(os.environ.get("BENCH_ROWS", "10000"))
REPETITIONS = int(os.environ.get("BENCH_REPETITIONS", "3"))
VARIANTS = ("plain", "diffs", "simple-history")
OPERATIONS = ("bulk_create", "bulk_update", "update", "delete")
#: What each operation is for simple-history, which has no recorded ``update()``.
HISTORY_NOTES = {"update": "records nothing", "delete": "signals: a history INSERT per row"}
SAMPLE = 100
#: Rows per ``UPDATE`` of ``bulk_update``: Django writes one ``CASE`` with a branch per row, so
#: one statement of 10,000 rows takes minutes on PostgreSQL (every row walks the branches).
UPDATE_BATCH = 100


def measure() -> dict[str, Any]:
    """Run in a process set up for one database (``BENCH_DB``); return medians and ratios."""
    from django.db import connection
    from django.db.models import F
    from simple_history.utils import bulk_create_with_history, bulk_update_with_history

    import bench.celery_app  # noqa: F401  (django.setup() and the project's Celery app)
    from bench.bulkapp.models import DiffsBulkRow, HistoryBulkRow, PlainBulkRow

    create_tables()
    models = dict(zip(VARIANTS, (PlainBulkRow, DiffsBulkRow, HistoryBulkRow), strict=True))
    history_table = HistoryBulkRow.history.model

    def new_rows(model: Any) -> list[Any]:
        return [model(name=f"row {i}", counter=0, score=0) for i in range(ROWS)]

    def operation(name: str, variant: str) -> Callable[[], Any]:
        """Return the timed call; what it needs (new or loaded rows) is made beforehand."""
        model = models[variant]
        history = variant == "simple-history"
        if name == "bulk_create":
            rows = new_rows(model)
            if history:
                return lambda: bulk_create_with_history(rows, model)
            return lambda: model.objects.bulk_create(rows)
        if name == "bulk_update":
            loaded = list(model.objects.all())
            for row in loaded:
                row.counter += 1
                row.score += 1
            fields = ["counter", "score"]
            if history:
                return lambda: bulk_update_with_history(loaded, model, fields, UPDATE_BATCH)
            return lambda: model.objects.bulk_update(loaded, fields, batch_size=UPDATE_BATCH)
        if name == "update":
            return lambda: model.objects.update(score=F("score") + 1)
        return lambda: model.objects.all().delete()

    samples = {op: {v: [] for v in VARIANTS} for op in OPERATIONS}
    recorded_pks: list[int] = []
    for repetition in range(REPETITIONS + 1):
        order = VARIANTS[repetition % 3:] + VARIANTS[:repetition % 3]
        for name in OPERATIONS:
            for variant in order:
                call = operation(name, variant)
                gc.collect()
                start = time.perf_counter()
                call()
                seconds = time.perf_counter() - start
                if repetition:  # the first is a warm-up
                    samples[name][variant].append(seconds)
                if name == "bulk_create" and variant == "diffs":
                    recorded_pks += list(
                        DiffsBulkRow.objects.order_by("?").values_list("pk", flat=True)[:SAMPLE]
                    )
        history_table.objects.all()._raw_delete(history_table.objects.db)
    results: dict[str, Any] = {"vendor": connection.display_name, "rows": ROWS,
                               "repetitions": REPETITIONS, "sampled_pks": recorded_pks}
    for name, by_variant in samples.items():
        plain = by_variant["plain"]
        results[name] = {
            variant: {
                "median_ms": statistics.median(values) * 1e3,
                "per_row_us": statistics.median(values) / ROWS * 1e6,
                "ratio": statistics.median(v / p for v, p in zip(values, plain, strict=True)),
            }
            for variant, values in by_variant.items()
        }
    return results


def verify(env: dict[str, str], sampled_pks: list[int], repetitions: int) -> str:
    """Store every task with a real worker; check each sampled row has its four diffs."""
    import redis

    broker = redis.Redis.from_url(env["BENCH_REDIS_URL"] + "/1")
    expected_tasks = len(OPERATIONS) * (repetitions + 1)
    if broker.llen("diffs") != expected_tasks:
        raise BenchError(f"{broker.llen('diffs')} tasks queued, expected {expected_tasks}")
    with celery_worker(env, "diffs"):
        wait_until(lambda: broker.llen("diffs") == 0 and not broker.hlen("unacked"),
                   "the worker to store every bulk write", timeout=600)
    check = subprocess.run(
        [sys.executable, __file__, "--count", *map(str, sampled_pks)], env=env, cwd=ROOT,
        check=True, stdout=subprocess.PIPE, text=True,
    )
    counts = json.loads(check.stdout.strip().splitlines()[-1])
    wrong = [pk for pk, count in zip(sampled_pks, counts, strict=True) if count != 4]
    if wrong:
        raise BenchError(f"rows {wrong[:10]} do not have 4 diffs each")
    return f"{expected_tasks} tasks stored; {len(sampled_pks)} sampled rows hold their 4 diffs"


def count_diffs(pks: list[str]) -> None:
    """Print how many diffs each pk of ``DiffsBulkRow`` holds (a process of its own)."""
    import bench.celery_app  # noqa: F401  (django.setup())
    from bench.bulkapp.models import DiffsBulkRow

    print(json.dumps([len(DiffsBulkRow.diffs.get_by_object_id(int(pk))) for pk in pks]))


def table(by_database: dict[str, dict[str, Any]]) -> str:
    """Return the Markdown table: per database and operation, each variant's time and ratio."""
    rows = next(iter(by_database.values()))["rows"]
    lines = [f"| database | {rows:,} rows | plain (untracked) | django-diffs "
             "| django-simple-history |", "|---|---|---:|---:|---:|"]
    for result in by_database.values():
        for name in OPERATIONS:
            cells = []
            for variant in VARIANTS:
                row = result[name][variant]
                cell = f"{row['median_ms']:.0f} ms"
                if variant != "plain":
                    cell += f" = **{row['ratio']:.1f}x**"
                if variant == "simple-history" and name in HISTORY_NOTES:
                    cell += f" ({HISTORY_NOTES[name]})"
                cells.append(cell)
            lines.append(f"| {result['vendor']} | `{name}()` | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    if sys.argv[1:2] == ["--count"]:
        count_diffs(sys.argv[2:])
        return
    if os.environ.get("BENCH_DB"):
        print(json.dumps(measure()))
        return
    results, verified = {}, []
    with redis_server() as url:
        for database in ("sqlite", "postgres"):
            import redis

            redis.Redis.from_url(url).flushall()
            env = {**os.environ, "BENCH_DB": database, "BENCH_REDIS_URL": url,
                   "DJANGO_SETTINGS_MODULE": "bench.bulk_settings"}
            env.pop("BENCH_BROKER_URL", None)
            env.pop("BENCH_QUEUE", None)
            name = f"bench_bulk_{uuid.uuid4().hex[:8]}"
            if database == "postgres":
                postgres(f'CREATE DATABASE "{name}"')
                env["BENCH_PG_NAME"] = name
            try:
                done = subprocess.run([sys.executable, __file__], env=env, cwd=ROOT, check=True,
                                      stdout=subprocess.PIPE, text=True)
                results[database] = json.loads(done.stdout.strip().splitlines()[-1])
                verified.append(f"{database}: " + verify(
                    env, results[database].pop("sampled_pks"), results[database]["repetitions"]
                ))
            finally:
                if database == "postgres":
                    postgres(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(table(results))
    print(f"\nChecked afterwards: {'; '.join(verified)}.")
    print(json.dumps(results))


if __name__ == "__main__":
    try:
        main()
    except BenchError as exc:
        sys.exit(f"BENCH FAILED: {exc}")
