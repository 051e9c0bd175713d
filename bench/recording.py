"""Recording cost in the web process, on one database: ``bench/recording.py sqlite|postgres``.

Each variant saves the same model shape: ``plain`` (untracked), ``diffs`` (registered, the
bench's own Redis as the broker) once per publish mode the code knows (``on_commit``, and
``background`` once the ``publish`` setting exists), ``alone`` (registered, its diffs dropped
instead of published: the recording work alone), ``outbox``, ``naive`` (dirtyfields +
serializers + ``apply_async`` per save), ``floor`` (untracked, plus one bare Redis LPUSH per
commit: the least any design that publishes before ``save()`` returns can cost) and the peers
users compare with, ``simple_history`` and ``auditlog``, on the same shape, and on PostgreSQL
``pghistory`` (django-pghistory's default insert and update triggers, with django-pgtrigger).
Variants run interleaved in a rotating order, after a ``gc.collect()``, over several
repetitions; a variant's ratio is the median over repetitions of its time divided by
``plain``'s in the same repetition.
Afterwards a real worker drains the queue and every recorded object's diffs are checked
against the rows in the database.

Prints one JSON object (the results) on the last line of stdout.
"""

from __future__ import annotations

import functools
import gc
import itertools
import json
import os
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import BenchError, celery_worker, create_tables, median, postgres, wait_until

UPDATES = 200  # rows saved per update run (two transactions of 100 for ``update_tx100``)
CREATES = 200  # rows created per run
LOADED = 2000  # instances per loading run
WARMUP = 2  # repetitions run first and thrown away

WORKLOADS = {
    "update_autocommit": "update, autocommit",
    "update_tx100": "update, 100 per transaction",
    "create_autocommit": "create, autocommit",
    "load_2000": "loading 2,000 instances",
}
FLOOR_QUEUE = "bench-floor"


def create_postgres_database() -> str:
    """Create a database only this run uses; return its name."""

    name = f"bench_diffs_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    postgres(f'CREATE DATABASE "{name}"')
    return name


def drop_postgres_database(name: str) -> None:
    """Drop the database ``create_postgres_database`` made."""
    postgres(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Recorder:
    """Runs the workloads of one variant and counts what django-diffs should have stored."""

    def __init__(self, name: str, model: Any) -> None:
        self.name = name
        self.model = model
        self.rows = list(model.objects.filter(pk__lte=UPDATES).order_by("pk"))
        self.expected: Counter[int] = Counter()  # diffs per pk
        self.saves = 0
        self.serial = 0
        self.baseline = 0  # records a peer held before the timed runs

    def run(self, workload: str) -> int:
        """Run one workload (a key of ``WORKLOADS``); return how many operations it made."""
        return int(getattr(self, workload)())

    def committed(self) -> None:
        """Called after each commit; the ``floor`` variant sends its message here."""

    def settle(self) -> None:
        """Called after each timed workload, outside the timing."""

    def update_autocommit(self) -> int:
        for row in self.rows:
            _change(row)
            self.committed()
        self._count(row.pk for row in self.rows)
        return len(self.rows)

    def update_tx100(self) -> int:
        from django.db import transaction

        for start in range(0, len(self.rows), 100):
            with transaction.atomic():
                for row in self.rows[start:start + 100]:
                    _change(row)
            self.committed()
        self._count(row.pk for row in self.rows)
        return len(self.rows)

    def create_autocommit(self) -> int:
        model = self.model
        created = []
        for i in range(CREATES):
            row = model(name=f"created {self.serial + i}", counter=i, score=-i)
            row.save()
            self.committed()
            created.append(row.pk)
        self.serial += CREATES
        self._count(created)
        return CREATES

    def load_2000(self) -> int:
        loaded = list(self.model.objects.filter(pk__lte=LOADED))
        if len(loaded) != LOADED:
            raise BenchError(f"{self.name}: loaded {len(loaded)} rows, not {LOADED}")
        return LOADED

    def _count(self, pks: Any) -> None:
        for pk in pks:
            self.expected[pk] += 1
            self.saves += 1


def _change(row: Any) -> None:
    """Save a two-field integer change of ``row``."""
    row.counter += 1
    row.score += 1
    row.save()


class RoundTripFloor(Recorder):
    """An untracked save plus one Redis LPUSH per commit, of a message the size of a diff's.

    No design that hands each committed transaction to a broker before ``save()`` returns can
    cost less than this: it is the price of the round trip alone.
    """

    MESSAGE = "x" * 1100  # a one-diff task message, as kombu's Redis transport stores it

    def __init__(self, name: str, model: Any, broker_url: str) -> None:
        import redis

        super().__init__(name, model)
        self.broker = redis.Redis.from_url(broker_url)
        self.messages = 0

    def committed(self) -> None:
        self.broker.lpush(FLOOR_QUEUE, self.MESSAGE)
        self.messages += 1


class OutboxRecorder(Recorder):
    """django-diffs in ``durability="outbox"`` mode: one ``PendingDiff`` INSERT per save.

    The setting is switched by assignment (not ``override_settings``, whose signal would also
    reconnect the publisher) around each workload, and switched back after.
    """

    def run(self, workload: str) -> int:
        from django.conf import settings as django_settings

        before = django_settings.DIFFS_SETTINGS
        django_settings.DIFFS_SETTINGS = {**before, "durability": "outbox"}
        try:
            return super().run(workload)
        finally:
            django_settings.DIFFS_SETTINGS = before


def publish_modes() -> tuple[str, ...]:
    """Return the publish modes this checkout knows (``on_commit`` before the setting existed)."""
    from diffs import conf

    modes = getattr(conf, "PUBLISH_MODES", ("on_commit",))
    return tuple(mode for mode in ("on_commit", "background") if mode in modes)


class PublishModeRecorder(Recorder):
    """django-diffs in one ``publish`` mode, switched by assignment around each workload.

    Before the setting exists the only mode is today's (``on_commit``), and nothing is set. In
    ``background`` mode the publisher thread is flushed after each workload, outside the timing
    (``diffs.flush``), so its sends do not fall into the next variant's time.
    """

    def __init__(self, name: str, model: Any, mode: str) -> None:
        super().__init__(name, model)
        self.mode = mode

    def run(self, workload: str) -> int:
        from django.conf import settings as django_settings

        if len(publish_modes()) == 1:
            return super().run(workload)
        before = django_settings.DIFFS_SETTINGS
        django_settings.DIFFS_SETTINGS = {**before, "publish": self.mode}
        try:
            return super().run(workload)
        finally:
            django_settings.DIFFS_SETTINGS = before

    def settle(self) -> None:
        import diffs

        flush = getattr(diffs, "flush", None)
        if flush is not None and not flush(30.0):
            raise BenchError(f"{self.name}: diffs.flush() timed out")


class AloneRecorder(Recorder):
    """django-diffs recording (tracking, encoding, buffering) with the publish step dropped.

    Every commit hands its diffs to the sink (``diffs.transport.sink``); here it is replaced,
    around each workload, by a function that only counts the diffs it is handed.
    """

    def __init__(self, name: str, model: Any) -> None:
        super().__init__(name, model)
        self.dropped = 0

    def drop(self, diffs: list[dict[str, Any]], outbox: dict[str, Any] | None = None) -> None:
        self.dropped += len(diffs)

    def run(self, workload: str) -> int:
        from diffs.transport import sink

        with sink.replaced(self.drop):
            return super().run(workload)


def timed(run: Callable[[], int]) -> float:
    """Return the seconds ``run`` took per operation, after a full garbage collection."""
    gc.collect()
    start = time.perf_counter()
    operations = run()
    return (time.perf_counter() - start) / operations


def measure(recorders: dict[str, Recorder], repetitions: int) -> dict[str, Any]:
    """Run every workload for every variant, interleaved, rotating the order each repetition."""
    samples: dict[str, dict[str, list[float]]] = {
        workload: {name: [] for name in recorders} for workload in WORKLOADS
    }
    names = list(recorders)
    for repetition in range(WARMUP + repetitions):
        shift = repetition % len(names)
        order = names[shift:] + names[:shift]
        for workload in WORKLOADS:
            for name in order:
                seconds = timed(functools.partial(recorders[name].run, workload))
                recorders[name].settle()
                if repetition >= WARMUP:
                    samples[workload][name].append(seconds)
    return {workload: summarize(by_variant) for workload, by_variant in samples.items()}


def summarize(by_variant: dict[str, list[float]]) -> dict[str, Any]:
    """Return each variant's median time per operation and its median ratio to ``plain``."""
    plain = by_variant["plain"]
    return {
        name: {
            "median_us": median(values) * 1e6,
            "ratio": median([value / base for value, base in zip(values, plain, strict=True)]),
            "samples_us": [round(value * 1e6, 2) for value in values],
        }
        for name, values in by_variant.items()
    }


def verify(recorders: dict[str, Recorder], env: dict[str, str]) -> dict[str, int]:
    """Drain the queue with a real worker; check every recorded diff against the database."""
    import redis
    from django.conf import settings as django_settings
    from django.db import connection

    from bench.benchapp.naive import NAIVE_QUEUE
    from diffs.conf import diffs_settings
    from diffs.models import PendingDiff

    broker = redis.Redis.from_url(django_settings.CELERY_BROKER_URL)
    floor = recorders["floor"]
    if not isinstance(floor, RoundTripFloor) or broker.llen(FLOOR_QUEUE) != floor.messages:
        raise BenchError("floor: the messages pushed are not all in the queue")
    broker.delete(FLOOR_QUEUE)
    naive = recorders["naive"]
    if broker.llen(NAIVE_QUEUE) != naive.saves:
        raise BenchError(f"naive: {broker.llen(NAIVE_QUEUE)} messages for {naive.saves} saves")
    broker.delete(NAIVE_QUEUE)

    alone = recorders["alone"]
    if not isinstance(alone, AloneRecorder) or alone.dropped != alone.saves:
        raise BenchError("alone: the diffs dropped are not one per recorded save")
    with celery_worker(env, diffs_settings.queue):
        wait_until(
            lambda: broker.llen(diffs_settings.queue) == 0 and not broker.hlen("unacked"),
            "the worker to drain the queue", timeout=300, interval=0.1,
        )
    published = [name for name in recorders if isinstance(recorders[name], PublishModeRecorder)]
    checked = {}
    for name in [*published, "outbox"]:
        checked[f"{name}_saved"] = sum(recorders[name].expected.values())
        checked[f"{name}_stored"] = _check_stored(recorders[name])
    left = PendingDiff.objects.count()
    if connection.vendor == "sqlite":
        # The worker has an in-memory database of its own, so it confirms the outbox rows
        # there: here, every row must still be waiting (one per save), its diff stored above.
        if left != checked["outbox_saved"]:
            raise BenchError(f"outbox: {left} rows for {checked['outbox_saved']} saves")
        PendingDiff.objects.all().delete()
    elif left:
        raise BenchError(f"outbox: {left} rows no worker confirmed")
    checked["alone_dropped"] = alone.dropped
    checked["naive_messages"] = naive.saves
    checked.update(_check_peers(recorders))
    return checked


def _check_peers(recorders: dict[str, Recorder]) -> dict[str, int]:
    """Check that simple-history, auditlog and (PostgreSQL) pghistory wrote one record per
    save; return the counts."""
    from auditlog.models import LogEntry

    from bench.benchapp.models import AuditRow, HistoryRow

    counts = {
        "simple_history": HistoryRow.history.count(),  # type: ignore[attr-defined]
        "auditlog": LogEntry.objects.get_for_model(AuditRow).count(),
    }
    if "pghistory" in recorders:
        counts["pghistory"] = pghistory_events() - recorders["pghistory"].baseline
    for name, count in counts.items():
        if count != recorders[name].saves:
            raise BenchError(f"{name}: {count} records for {recorders[name].saves} saves")
    return {f"{name}_records": count for name, count in counts.items()}


def pghistory_events() -> int:
    """Return how many events django-pghistory holds for the ``pghistory`` variant's rows."""
    from django.apps import apps

    return int(apps.get_model("pghbench", "PghRowEvent").objects.count())


def _check_stored(recorder: Recorder) -> int:
    """Check every object the recorder saved against its stored diffs; return how many."""
    expected = recorder.expected
    rows = recorder.model.objects.in_bulk(list(expected))
    stored = 0
    ids: set[str] = set()
    for pk, count in expected.items():
        found = list(recorder.model.diffs.get_by_object_id(pk))
        stored += len(found)
        ids.update(diff.id for diff in found)
        _check_object(rows[pk], found, count)
    if stored != sum(expected.values()) or len(ids) != stored:
        raise BenchError(f"{recorder.name}: {stored} diffs ({len(ids)} distinct ids) stored for "
                         f"{sum(expected.values())} saves")
    return stored


def _check_object(row: Any, found: list[Any], count: int) -> None:
    where = f"diffs: {row._meta.label_lower} pk={row.pk}"
    if len(found) != count:
        raise BenchError(f"{where}: {len(found)} diffs stored for {count} saves")
    newest = found[-1].new
    if (newest.get("counter"), newest.get("score")) != (row.counter, row.score):
        raise BenchError(
            f"{where}: newest diff {newest}, but the row holds {row.counter=} {row.score=}"
        )
    for before, after in itertools.pairwise(found):
        if after.created or after.old.get("counter") != before.new.get("counter"):
            raise BenchError(f"{where}: {after!r} does not follow {before!r}")


def main() -> None:
    database = sys.argv[1]
    repetitions = int(os.environ.get("BENCH_REPETITIONS", "15"))
    os.environ["BENCH_DB"] = database
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    pg_name = create_postgres_database() if database == "postgres" else None
    if pg_name:
        os.environ["BENCH_PG_NAME"] = pg_name
    names = ("BENCH_DB", "BENCH_REDIS_URL", "DJANGO_SETTINGS_MODULE")
    env = {key: os.environ[key] for key in names}
    try:
        result = run(database, repetitions, env)
    finally:
        if pg_name:
            from django.db import connections

            connections.close_all()
            drop_postgres_database(pg_name)
    print(json.dumps(result))


def run(database: str, repetitions: int, env: dict[str, str]) -> dict[str, Any]:
    """Set up the tables, measure, verify; return the results."""
    from django.conf import settings as django_settings
    from django.db import connection

    import bench.celery_app  # noqa: F401  (django.setup() and the project's Celery app)
    from bench.benchapp.models import (
        AloneRow,
        AuditRow,
        BackgroundRow,
        DiffsRow,
        FloorRow,
        HistoryRow,
        NaiveRow,
        OutboxRow,
        PlainRow,
    )

    create_tables()
    by_mode = {"on_commit": DiffsRow, "background": BackgroundRow}
    modes = publish_modes()
    models = {
        "plain": PlainRow, **{f"diffs_{mode}": by_mode[mode] for mode in modes},
        "alone": AloneRow, "naive": NaiveRow, "floor": FloorRow, "outbox": OutboxRow,
        "simple_history": HistoryRow, "auditlog": AuditRow,
    }
    if database == "postgres":
        from bench.pghapp.models import PghRow

        models["pghistory"] = PghRow
    for model in models.values():
        model.objects.bulk_create(
            model(name=f"row {i}", counter=0, score=0) for i in range(LOADED)
        )
    if database == "postgres":
        import pgtrigger

        pgtrigger.install()  # the bench apps have no migrations to install them
    recorders = {name: Recorder(name, model) for name, model in models.items()}
    for mode in modes:
        recorders[f"diffs_{mode}"] = PublishModeRecorder(f"diffs_{mode}", by_mode[mode], mode)
    recorders["alone"] = AloneRecorder("alone", AloneRow)
    recorders["floor"] = RoundTripFloor("floor", FloorRow, django_settings.CELERY_BROKER_URL)
    recorders["outbox"] = OutboxRecorder("outbox", OutboxRow)
    if "pghistory" in recorders:  # the rows' own insert events (migrate installed the triggers)
        recorders["pghistory"].baseline = pghistory_events()
    results = measure(recorders, repetitions)
    checked = verify(recorders, env)
    return {
        "database": database,
        "vendor": connection.display_name,
        "repetitions": repetitions,
        "publish_modes": list(modes),
        "operations_per_run": {"update": UPDATES, "create": CREATES, "load": LOADED},
        "workloads": results,
        "verified": checked,
    }


if __name__ == "__main__":
    main()
