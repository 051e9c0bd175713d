"""The cost of recording, stage by stage: ``python bench/stages.py [--instructions]``.

A two-field integer update of a registered model on SQLite in memory (the recording bench's
``AloneRow``, untracked ``PlainRow`` beside it), in the web process. Each stage is called on
its own, on the inputs a real save gives it, many times in a row:

- ``snapshot``: the state kept when an instance is loaded (``from_db``), registered minus
  untracked;
- ``dirty``: the dirty-field comparison (``tracking.dirty``) and ``remember`` (the state moved
  forward to the saved values);
- ``encoding``: the four values (two new, two old) as the serializers write them;
- ``context``: ``recording_enabled()`` and ``current()``, outside any block and inside a
  ``diffs.context(actor=...)`` block;
- ``diff``: the diff built (``_new_diff``: parents and ``serialize_diff`` looked up, the
  database's name in keys, the id and clock, the payload);
- ``buffer``: ``buffer.enqueue`` with the sink dropped, in autocommit and inside a transaction
  (per save: the ``on_commit`` callback, and the commit's batch handed on);
- ``hand-off``: ``runtime.current().publish`` handing a commit's diff to the background
  publisher (its thread held back meanwhile by a long interval, so only the caller's side is
  timed);
- ``publisher thread``: the thread's work per diff, ``publish_now`` of a batch of 1, 8 (about
  what a process sees at 300 requests/s), 100 and 500 diffs, sent to the bench's redis-server;
- the worker's side, per diff of a 500-diff batch: parse, check, store, announce, and the
  whole ``write_batch``;
- whole saves: untracked, registered with the sink dropped (recording alone), and registered
  in background mode (the thread's sends fall inside the time; flushed after each block);
  ``handler`` is ``on_post_save`` called directly (the sink dropped), and ``settings reads``
  counts the ``diffs_settings`` lookups one save makes.

Wall time is the median over ``BENCH_STAGES_REPEATS`` blocks of ``BENCH_STAGES_CALLS`` calls, µs
per call. ``--instructions`` runs the same stages under ``valgrind --tool=callgrind`` (fewer
calls), dumping a profile at each stage's boundary (a call of ``os.getppid``, a C function
nothing else calls), and reports instructions per call: repeatable on a loaded machine, where
wall time is noise. Prints a Markdown table, then one JSON object on the last line of stdout.
"""

from __future__ import annotations

import cProfile
import gc
import glob
import json
import os
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import ROOT, BenchError, create_tables, guarded, redis_server

CALLS = int(os.environ.get("BENCH_STAGES_CALLS", "2000"))
REPEATS = int(os.environ.get("BENCH_STAGES_REPEATS", "9"))
#: Under valgrind every instruction is counted: fewer calls give the same count per call.
VALGRIND_CALLS = 200
ROWS = 200
BATCHES = (1, 8, 100, 500)
#: ``BENCH_STAGES_ONLY``: ``web`` or ``worker`` runs only that side's stages.
ONLY = os.environ.get("BENCH_STAGES_ONLY", "")


class Stages:
    """The stages, each a function of no argument that does one save's worth of one stage."""

    def __init__(self) -> None:
        from django.db import connection

        from bench.benchapp.models import AloneRow, PlainRow
        from diffs import wire
        from diffs.conf import diffs_settings
        from diffs.recording import buffer, context, handlers, tracking
        from diffs.registry import get_registration

        # Looked up once: an import statement in a stage would be counted as the stage's.
        self.models = (AloneRow, PlainRow)
        self.wire, self.buffer, self.context = wire, buffer, context
        self.handlers, self.tracking = handlers, tracking
        self.settings = diffs_settings

        for model in (AloneRow, PlainRow):
            model.objects.bulk_create(model(name=f"row {n}") for n in range(ROWS))
        self.registration = get_registration(AloneRow)
        self.fields = self.registration.fields
        self.recorded = list(AloneRow.objects.order_by("pk"))
        self.plain = list(PlainRow.objects.order_by("pk"))
        self.instance = self.recorded[0]
        self.instance.counter += 1
        self.instance.score += 1
        self.changed = tracking.dirty(self.instance, self.fields, None)
        if len(self.changed) != 2:
            raise BenchError(f"expected two changed fields, found {self.changed}")
        self.values = [(t, value) for t, old, new in self.changed for value in (new, old)]
        self.saved = {t.name: new for t, _, new in self.changed}
        self.new = {t.name: handlers._encode(self.registration, self.instance, t, new, 1 << 20)
                    for t, _, new in self.changed}
        self.old = {t.name: handlers._encode(self.registration, self.instance, t, old, 1 << 20)
                    for t, old, _ in self.changed}
        self.diff = handlers._new_diff(self.registration, self.instance, "default", self.new,
                                       self.old, list(self.new))
        self.row = connection.cursor().execute(
            f"SELECT id, name, counter, score FROM {AloneRow._meta.db_table} LIMIT 1").fetchone()
        self.columns = ["id", "name", "counter", "score"]
        self.next_row = 0

    # -- per stage --------------------------------------------------------------------------

    def nothing(self) -> None:
        """The cost of calling a stage at all, for reference."""

    def load_plain(self) -> None:
        self.models[1].from_db("default", self.columns, self.row)

    def load_recorded(self) -> None:
        self.models[0].from_db("default", self.columns, self.row)

    def dirty(self) -> None:
        self.tracking.dirty(self.instance, self.fields, None)

    def remember(self) -> None:
        self.tracking.remember(self.instance, self.saved)

    def encoding(self) -> None:
        for tracked, value in self.values:
            self.handlers._encode(self.registration, self.instance, tracked, value, 1 << 18)

    def settings_read(self) -> None:
        self.settings.publish  # noqa: B018  (the read is the stage)

    def context_read(self) -> None:
        self.context.recording_enabled()
        self.context.current()

    def build(self) -> None:
        self.handlers._new_diff(self.registration, self.instance, "default", self.new,
                                self.old, list(self.new))

    def new_diff_only(self) -> None:
        self.wire.new_diff(self.registration.label, 1, self.new, self.old)

    def enqueue(self) -> None:
        self.buffer.enqueue("default", self.diff, self.instance, {})

    def handler(self) -> None:
        self.instance.counter += 1
        self.instance.score += 1
        self.handlers.on_post_save(sender=self.models[0], instance=self.instance, created=False,
                                   raw=False, using="default", update_fields=None)

    def save_plain(self) -> None:
        self._save(self.plain)

    def save_recorded(self) -> None:
        self._save(self.recorded)

    def _save(self, rows: list[Any]) -> None:
        row = rows[self.next_row % ROWS]
        self.next_row += 1
        row.counter += 1
        row.score += 1
        row.save()


def dropped(diffs: list[Any], outbox: Any = None) -> None:
    """The sink of the stages that stop before publishing: the diffs are dropped."""


class Runner:
    """Runs each stage and notes what it costs: µs per call, or (under valgrind) marks the
    stage's boundaries so callgrind dumps its instruction count."""

    def __init__(self, instructions: bool) -> None:
        self.instructions = instructions
        self.calls = VALGRIND_CALLS if instructions else CALLS
        self.names: list[str] = []
        self.results: dict[str, float] = {}

    def run(self, name: str, call: Callable[[], None], calls: int | None = None,
            per: int = 1, after: Callable[[], None] | None = None,
            cleanup: Callable[[], None] | None = None) -> None:
        """Measure ``call`` (``per``: what one call is worth in saves or diffs); ``after``
        runs after each block and is counted (the publisher's flush), ``cleanup`` is not."""
        calls = calls or self.calls
        finish = after or (lambda: None)
        clean = cleanup or (lambda: None)
        call()  # warm: caches, first-time imports
        finish()
        clean()
        if self.instructions:
            os.getppid()  # a dump: what came before is not this stage's
            for _ in range(calls):
                call()
            finish()
            os.getppid()  # a dump: this stage's instructions
            clean()
            self.names.append(name)
            self.results[name] = calls * per
            return
        per_block = []
        for _ in range(REPEATS):
            gc.collect()
            start = time.perf_counter()
            for _ in range(calls):
                call()
            finish()
            per_block.append((time.perf_counter() - start) / (calls * per) * 1e6)
            clean()
        self.results[name] = statistics.median(per_block)


def measure(runner: Runner) -> dict[str, Any]:
    """Run every stage; return the runner's results and the settings reads per save."""
    from celery import current_app
    from django.conf import settings as django_settings
    from django.db import transaction

    import diffs
    from diffs.recording import context
    from diffs.transport import runtime, sink

    stages = Stages()
    if ONLY == "worker":
        measure_ingest(runner)
        return {"results": runner.results, "settings_reads": {}}
    runner.run("calling a stage (nothing)", stages.nothing)
    runner.run("load, untracked", stages.load_plain)
    runner.run("load, registered", stages.load_recorded)
    runner.run("dirty (compare)", stages.dirty)
    runner.run("remember (state forward)", stages.remember)
    runner.run("encoding (4 values)", stages.encoding)
    runner.run("one settings read (diffs_settings.publish)", stages.settings_read)
    runner.run("context, no block", stages.context_read)
    with context.context(actor=5, reason="bench"):
        runner.run("context, in a block", stages.context_read)
    runner.run("diff built (_new_diff)", stages.build)
    runner.run("of which wire.new_diff", stages.new_diff_only)
    with sink.replaced(dropped):
        runner.run("buffer, autocommit", stages.enqueue)

        def in_transaction() -> None:
            with transaction.atomic():
                for _ in range(100):
                    stages.enqueue()

        runner.run("buffer, 100 per transaction", in_transaction,
                   calls=max(1, runner.calls // 100), per=100)
        runner.run("handler (on_post_save)", stages.handler)
        runner.run("save, registered, no publish", stages.save_recorded)
    runner.run("save, untracked", stages.save_plain)
    app = current_app._get_current_object()
    before = django_settings.DIFFS_SETTINGS
    try:  # the thread waits for the block (its interval) while the caller hands diffs over
        django_settings.DIFFS_SETTINGS = {**before, "publish_interval": 60.0,
                                          "publish_batch_size": 100_000,
                                          "publish_queue_size": 100_000}
        runner.run("hand-off (publish, background)",
                   lambda: runtime.current().publish([stages.diff]),
                   cleanup=lambda: diffs.flush(60))
    finally:
        django_settings.DIFFS_SETTINGS = before
    for size in BATCHES:
        batch = [stages.diff] * size
        runner.run(f"publisher thread, per diff, {size} per message",
                   lambda batch=batch: runtime.current().sender.publish_now(batch, None, app=app),
                   calls=max(2, runner.calls // size), per=size)
    runner.run("save, registered, background publish", stages.save_recorded,
               after=lambda: diffs.flush(60))
    if ONLY != "web":
        measure_ingest(runner)
    return {"results": runner.results, "settings_reads": settings_reads(stages)}


def measure_ingest(runner: Runner) -> None:
    """Run the worker's stages on batches of 500 diffs (each with one parent), per diff:
    parsing the task's JSON text, checking every diff, the write script call (Redis' own
    time inside the wall time, not in the instructions), announcing the written keys; and the
    whole ``write_batch``. Each call that writes takes a batch of its own, so that every
    write adds its members (and announces them), as a worker's do."""
    from bench.ingest import make_diffs
    from diffs import wire
    from diffs.conf import diffs_settings
    from diffs.registry import max_age_for
    from diffs.storage import notify, store, writer
    from diffs.storage.connection import get_redis

    size = 500
    calls = max(2, runner.calls // 100)
    # Per block and one to warm up: (REPEATS + 1) * calls fresh batches at most.
    texts = [wire.dumps(wire.batch(make_diffs(size)))
             for _ in range(calls * (1 if runner.instructions else REPEATS + 1) + 1)]
    batches = [writer.check(writer.load(text)).good for text in texts]
    if any(len(checked) != size for checked in batches):
        raise BenchError(f"the worker does not accept all {size} bench diffs")
    client, prefix = get_redis(), diffs_settings.key_prefix
    text, envelope = texts[0], writer.load(texts[0])

    def fresh(items: list[Any]) -> Callable[[], Any]:
        unused = iter(items * (REPEATS + 2))  # repeats reuse them: members already stored
        return lambda: next(unused)

    runner.run("worker: parse, per diff", lambda: writer.load(text), calls=calls, per=size)
    runner.run("worker: check, per diff", lambda: writer.check(envelope), calls=calls, per=size)
    next_batch = fresh(batches)
    runner.run("worker: store, per diff",
               lambda: store.write(client, prefix, next_batch(), max_age_for), calls=calls,
               per=size)
    written = [list(notify.written_keys(prefix, checked)) for checked in batches]
    if hasattr(notify, "announce_keys"):  # the keys come from the write that built them
        next_keys = fresh(written)
        runner.run("worker: announce, per diff",
                   lambda: notify.announce_keys(client, prefix, next_keys()), calls=calls,
                   per=size)
    else:
        next_batch = fresh(batches)
        runner.run("worker: announce, per diff",
                   lambda: notify.announce(client, prefix, next_batch()), calls=calls, per=size)
    client.flushdb()
    next_text = fresh(texts)
    runner.run("worker: write_batch, per diff", lambda: writer.write_batch(next_text()),
               calls=calls, per=size)


def settings_reads(stages: Stages) -> dict[str, float]:
    """Return how many times one registered save (autocommit, background publish) calls each
    ``diffs.conf`` function, from cProfile's call counts over 200 saves."""
    import diffs

    profile = cProfile.Profile()
    profile.enable()
    for _ in range(200):
        stages.save_recorded()
    profile.disable()
    diffs.flush(60)
    found: dict[str, float] = {}
    for (filename, _, name), row in pstats.Stats(profile).stats.items():  # type: ignore[attr-defined]
        if filename.endswith(os.path.join("diffs", "conf.py")):
            found[name] = row[1] / 200
    return dict(sorted(found.items(), key=lambda item: -item[1]))


def instructions(redis_url: str) -> dict[str, Any]:
    """Run this script under callgrind; return instructions per call of each stage."""
    if shutil.which("valgrind") is None:
        raise BenchError("valgrind is not installed: `make bench-stages` installs it")
    workdir = tempfile.mkdtemp(prefix="diffs-bench-cg-")
    try:
        out = os.path.join(workdir, "cg")
        done = subprocess.run(
            ["valgrind", "--tool=callgrind", "--dump-before=os_getppid",
             f"--callgrind-out-file={out}.%p", sys.executable, __file__, "--under-valgrind"],
            env={**os.environ, "BENCH_REDIS_URL": redis_url}, cwd=ROOT, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, text=True, check=False,
        )
        if done.returncode != 0:
            raise BenchError(f"the callgrind run failed (exit {done.returncode})")
        inside = json.loads(done.stdout.strip().splitlines()[-1])
        parts = sorted(glob.glob(f"{out}.*.*"), key=lambda p: int(p.rsplit(".", 1)[1]))
        totals = [_total(path) for path in parts]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    # Dumps come in pairs per stage: [before it], [the stage]; the first part is start-up.
    counts = totals[1::2]
    if len(counts) < len(inside["names"]):
        raise BenchError(f"{len(counts)} stage dumps for {len(inside['names'])} stages")
    return {name: counts[i] / inside["per"][name] for i, name in enumerate(inside["names"])}


def _total(path: str) -> int:
    for line in Path(path).read_text().splitlines():
        if line.startswith("totals:"):
            return int(line.split()[1])
    raise BenchError(f"no totals in {path}")


def setup() -> None:
    os.environ["BENCH_DB"] = "sqlite"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import bench.celery_app  # noqa: F401  (django.setup() and the project's Celery app)

    create_tables()


def markdown(result: dict[str, Any]) -> str:
    """Return the stages as a Markdown table (and the settings reads per save)."""
    wall, counted = result["us"], result.get("instructions", {})
    lines = ["| stage | µs per call | instructions per call |", "|---|---:|---:|"]
    for name, us in wall.items():
        count = counted.get(name)
        lines.append(f"| {name} | {us:.2f} | {'' if count is None else f'{count:,.0f}'} |")
    reads = ", ".join(f"{name} {calls:g}" for name, calls in result["settings_reads"].items())
    lines += ["", f"`diffs.conf` calls per registered save: {reads}.",
              f"Load average: {result['load']}."]
    return "\n".join(lines)


def main() -> None:
    if "--under-valgrind" in sys.argv:
        setup()
        runner = Runner(instructions=True)
        measured = measure(runner)
        per = {name: runner.results[name] for name in runner.names}
        print(json.dumps({"names": runner.names, "per": per,
                          "settings_reads": measured["settings_reads"]}))
        return
    with redis_server() as url:
        os.environ["BENCH_REDIS_URL"] = url
        setup()
        load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
        measured = measure(Runner(instructions=False))
        result: dict[str, Any] = {"us": measured["results"], "load": load,
                                  "settings_reads": measured["settings_reads"]}
        if "--instructions" in sys.argv:
            result["instructions"] = instructions(url)
    print(markdown(result))
    print(json.dumps(result))


if __name__ == "__main__":
    guarded(main)
