"""End to end: two web processes saving, one worker storing, ``python bench/end_to_end.py``.

Two web processes (each its own SQLite database in memory, its own objects) update rows in
autocommit, one save at a time, and one real Celery worker process (solo pool) stores what they
publish. Run once per publish mode (``background``, ``on_commit``):

- **latency**: together 500 saves per second (``BENCH_E2E_RATE``) for ``BENCH_E2E_SECONDS``.
  Each web process notes when each ``save()`` returned (its commit); a reader in this process
  subscribes to the worker's written-keys announcements and reads the new members of each key
  it is told of, noting when it read each one. Commit-to-readable is the difference, p50 and
  p99 over every save after the first second (the worker's warm-up).
- **full speed**: both web processes save as fast as they can for the same time; the rate at
  which the worker stored (first to last stored diff) and the rate the web processes saved.
  Two web processes on this machine's cores make fewer diffs than a worker can store, so the
  worker's own ceiling is ``bench/ingest.py`` (a queue filled first, with a parse-only floor).

After each run every object's key is read whole: each save's diff (known by its counter
value) must be stored exactly once, and nothing else. Prints one JSON object on its last line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import (
    ROOT,
    BenchError,
    KeyReader,
    celery_worker,
    create_tables,
    percentile,
    redis_server,
    sizes,
    wait_until,
)

WEB_PROCESSES = 2
ROWS = 200
RATE = float(os.environ.get("BENCH_E2E_RATE", "500"))
SECONDS = float(os.environ.get("BENCH_E2E_SECONDS", "20"))
WARM_UP = 1.0
#: ``BENCH_E2E_MODES``: the publish modes to run, comma-separated (both by default).
MODES = tuple(os.environ.get("BENCH_E2E_MODES", "background,on_commit").split(","))


def first_pk(web: int) -> int:
    """Return the first pk of a web process's rows (the processes' rows never overlap)."""
    return web * 1_000_000 + 1


# -- a web process -------------------------------------------------------------------------------


def web(index: int, rate: float, seconds: float) -> None:
    """Save rows in autocommit at ``rate`` per second (0: as fast as possible) for ``seconds``;
    print ``[[pk, counter, commit time], ...]`` and the publisher's stats as JSON."""
    import bench.celery_app  # noqa: F401  (django.setup() and the project's Celery app)
    import diffs
    from bench.benchapp.models import DiffsRow

    create_tables()
    start_pk = first_pk(index)
    DiffsRow.objects.bulk_create(  # not recorded: plain bulk_create
        DiffsRow(id=start_pk + n, name=f"row {n}", counter=0, score=0) for n in range(ROWS)
    )
    rows = list(DiffsRow.objects.order_by("id"))
    saves: list[tuple[int, int, float]] = []
    started = time.perf_counter()
    number = 0
    while True:
        due = started + number / rate if rate else time.perf_counter()
        now = time.perf_counter()
        if due - started >= seconds or now - started >= seconds:
            break
        if due > now:
            time.sleep(due - now)
        row = rows[number % ROWS]
        number += 1
        row.counter = number
        row.save()
        saves.append((row.pk, number, time.time()))
    flushed = diffs.flush(timeout=60)
    print(json.dumps({"saves": saves, "seconds": time.perf_counter() - started,
                      "flushed": flushed, "stats": diffs.stats()}))


# -- the bench -----------------------------------------------------------------------------------


class Reader(KeyReader):
    """Reads the new members of each key the worker announces; notes when it read each."""

    def __init__(self, client: Any, prefix: str) -> None:
        super().__init__(client, prefix)
        self.read_at: dict[tuple[int, int], float] = {}
        self.seen_ids: set[str] = set()

    def seen(self, key: str, pairs: list[tuple[Any, float]], now: float) -> None:
        from diffs import wire

        pk = int(key.rsplit(":", 1)[1])
        for stored in wire.decode_members([member for member, _ in pairs]):
            if stored is not None and stored.id not in self.seen_ids:
                self.seen_ids.add(stored.id)
                self.read_at[(pk, stored.new["counter"])] = now


def run_webs(env: dict[str, str], mode: str, rate: float) -> list[dict[str, Any]]:
    """Run the web processes at ``rate`` saves per second together; return what each printed."""
    processes = [
        subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "web", str(index),
             str(rate / WEB_PROCESSES), str(SECONDS)],
            env={**env, "BENCH_PUBLISH": mode}, cwd=ROOT, stdout=subprocess.PIPE, text=True,
        )
        for index in range(WEB_PROCESSES)
    ]
    outputs = []
    for process in processes:
        out, _ = process.communicate(timeout=SECONDS + 300)
        if process.returncode != 0:
            raise BenchError(f"a web process failed (exit {process.returncode})")
        outputs.append(json.loads(out.strip().splitlines()[-1]))
    return outputs


def object_keys(prefix: str) -> list[tuple[int, str]]:
    """Return every row's pk and key."""
    from diffs.storage.keys import object_key

    return [(pk, object_key(prefix, "benchapp.diffsrow", pk))
            for web_index in range(WEB_PROCESSES)
            for pk in range(first_pk(web_index), first_pk(web_index) + ROWS)]


class StoreWatch(threading.Thread):
    """Counts the stored diffs every ``interval`` seconds while the web processes run, noting
    when the first was stored and when the count last grew: the worker's storing time at full
    speed. Seldom enough not to take the cores the web processes and the worker measure on."""

    def __init__(self, client: Any, keys: list[tuple[int, str]], interval: float) -> None:
        super().__init__(daemon=True)
        self.client, self.keys, self.interval = client, keys, interval
        self.count = 0
        self.first: tuple[float, int] | None = None
        self.reached: float | None = None
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(self.interval):
            count = sum(sizes(self.client, (key for _, key in self.keys)))
            now = time.perf_counter()
            if count > self.count:
                self.reached = now
            if self.first is None and count:
                self.first = (now, count)
            self.count = count

    def stop(self) -> None:
        self.stopping.set()
        self.join()


def verify(client: Any, keys: list[tuple[int, str]], saves: list[list[Any]]) -> int:
    """Fail unless each save is stored exactly once and nothing else is; return the count."""
    from diffs import wire

    expected = Counter((pk, counter) for pk, counter, _ in saves)
    found: Counter[tuple[int, int]] = Counter()
    for pk, key in keys:
        for stored in wire.decode_members(client.zrange(key, 0, -1)):
            if stored is None:
                raise BenchError(f"end to end: {key} holds a member that is not a diff")
            found[(pk, stored.new["counter"])] += 1
    if found != expected:
        missing = sum((expected - found).values())
        extra = sum((found - expected).values())
        raise BenchError(f"end to end: {missing} saves not stored, {extra} stored diffs extra "
                         f"or twice (of {len(saves)} saves)")
    return len(saves)


def one_mode(env: dict[str, str], mode: str) -> dict[str, Any]:
    """Run the latency and full-speed parts in one publish mode; return their figures."""
    from diffs.conf import diffs_settings
    from diffs.storage.connection import get_redis

    client, prefix = get_redis(), diffs_settings.key_prefix
    keys = object_keys(prefix)
    return {part: one_part(env, mode, rate, client, prefix, keys)
            for part, rate in (("latency", RATE), ("full speed", 0.0))}


def one_part(env: dict[str, str], mode: str, rate: float, client: Any, prefix: str,
             keys: list[tuple[int, str]]) -> dict[str, Any]:
    """Run the web processes at ``rate`` (0: full speed) against a fresh worker; verify what
    was stored; return the figures (latencies with a rate, stored per second without)."""
    from diffs.conf import diffs_settings

    client.flushdb()
    with ExitStack() as stack:
        stack.enter_context(celery_worker(env, diffs_settings.queue))
        reader = Reader(client, prefix) if rate else None
        if reader:
            reader.start()
            stack.callback(reader.stop)
        watch = StoreWatch(client, keys, interval=1.0 if reader else 0.1)
        watch.start()
        stack.callback(watch.stop)
        outputs = run_webs(env, mode, rate)
        saves = [save for output in outputs for save in output["saves"]]
        wait_until(lambda: watch.count >= len(saves),
                   f"the worker to store {len(saves)} diffs ({mode})", timeout=600)
        drained = watch.reached or time.perf_counter()
        if reader:
            wait_until(lambda: len(reader.read_at) >= len(saves), "the reader", timeout=60)
    verify(client, keys, saves)
    figures: dict[str, Any] = {
        "saves": len(saves),
        "saves_per_second": sum(len(o["saves"]) / o["seconds"] for o in outputs),
        "flushed": all(o["flushed"] for o in outputs),
        "messages_sent": sum(o["stats"].get("messages_sent", 0) for o in outputs),
        "stored_exactly_once": True,
    }
    if reader:
        earliest = min(commit for _, _, commit in saves) + WARM_UP
        latencies = [(reader.read_at[(pk, counter)] - commit) * 1000
                     for pk, counter, commit in saves if commit >= earliest]
        figures["commit_to_readable_ms"] = {
            "p50": percentile(latencies, 0.50), "p99": percentile(latencies, 0.99),
            "max": max(latencies), "samples": len(latencies)}
    else:
        # Not the worker's ceiling: here it waits for the web processes' diffs.
        started, before = watch.first or (drained, 0)
        figures["stored_per_second"] = (len(saves) - before) / max(drained - started, 1e-9)
    return figures


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "web":
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
        web(int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]))
        return
    with ExitStack() as stack:
        if "BENCH_REDIS_URL" not in os.environ:
            os.environ["BENCH_REDIS_URL"] = stack.enter_context(redis_server())
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
        import bench.celery_app  # noqa: F401  (django.setup() and the project's Celery app)

        env = dict(os.environ)  # with the Redis the bench started and the settings module
        results: dict[str, Any] = {"rate": RATE, "seconds": SECONDS,
                                   "web_processes": WEB_PROCESSES, "worker_processes": 1}
        for mode in MODES:
            print(f"-- end to end, publish={mode}", file=sys.stderr, flush=True)
            results[mode] = one_mode(env, mode)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
