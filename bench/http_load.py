"""Under HTTP load: wrk against gunicorn on PostgreSQL, ``python bench/http_load.py``.

One run, three variants on the same model shape and the same view (load a random row of
1,000, change two fields, save): ``plain`` (untracked), ``diffs`` (django-diffs, background
publish, a real Celery worker process storing into the bench's redis-server) and ``pghistory``
(django-pghistory's default insert and update triggers). Each in autocommit and with five
saves per request in one transaction, ``BENCH_HTTP_REPETITIONS`` times in a rotating order
(``BENCH_HTTP_SECONDS`` of ``wrk -t2 -c16`` each); the figures are medians over repetitions,
and ratios are taken to ``plain`` in the same repetition.

Everything runs on this machine: gunicorn (2 sync workers), a private PostgreSQL server
(initdb in a temporary folder: every process of it and every byte of WAL it writes belong to
the bench), the bench's redis-server and one Celery worker process (solo pool). Measured per
request: requests per second, p50 and p99 (wrk's), CPU time summed over every one of those
processes (from /proc, through psutil: gunicorn's master and workers, the postmaster and all
its children, redis-server, the worker), and WAL bytes (``pg_current_wal_lsn`` before and
after). A ``diffs`` run ends once the worker has stored everything it was sent, so its work
falls inside its run.

Then how diffs are gathered into messages: wrk paced to about ``BENCH_HTTP_RATE`` requests per
second per web process (300; less where the machine cannot serve that), the publishers'
counters (diffs per message) and, from a reader subscribed to the workers' written-keys
channel, how long a diff waits from its save to being readable (p50, p99).

Afterwards (gunicorn stopped, so PostgreSQL's counters are final): every UPDATE of the
``diffs`` table has exactly one stored diff (counts equal, ids distinct), and every UPDATE of
the ``pghistory`` table one update event. Prints a Markdown table, then one JSON object on the
last line of stdout (also written to ``bench/results/http-latest.json``).
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import (
    ROOT,
    BenchError,
    KeyReader,
    PostgresServer,
    celery_worker,
    cpu_seconds,
    free_port,
    guarded,
    percentile,
    postgres_server,
    redis_server,
    sizes,
    stop,
    wait_until,
)

#: ``BENCH_HTTP_VARIANTS`` (comma-separated) runs some of them; ``plain`` always runs.
VARIANTS = tuple(dict.fromkeys(["plain", *(
    os.environ.get("BENCH_HTTP_VARIANTS") or "diffs,pghistory").split(",")]))
#: Saves per request: autocommit, and five in one transaction.
MODES = {"autocommit": 1, "5 per transaction": 5}
SECONDS = float(os.environ.get("BENCH_HTTP_SECONDS", "20"))
REPETITIONS = int(os.environ.get("BENCH_HTTP_REPETITIONS", "3"))
#: The paced part's target, requests per second per web process.
PACED_RATE = float(os.environ.get("BENCH_HTTP_RATE", "300"))
WEB_WORKERS = 2
CONNECTIONS = 16
PACED_CONNECTIONS = 8
ROWS = 1000
PG_NAME = "bench_http"
DIFFS_LABEL = "httpbench.diffshttprow"
RESULTS = ROOT / "bench" / "results"

#: wrk's report, as one line of JSON (``done`` runs once, after every thread stopped).
WRK_SCRIPT = """
%(delay)s
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK {"requests": %%d, "duration_us": %%d, "errors": %%d, "p50_us": %%d, "p99_us": %%d}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


def wrk(url: str, seconds: float, connections: int = CONNECTIONS,
        delay_ms: float | None = None) -> dict[str, Any]:
    """Run wrk against ``url``; return its requests, rate, errors, p50 and p99 (ms)."""
    executable = shutil.which("wrk")
    if executable is None:
        raise BenchError("wrk is not installed: `make bench-http` installs Debian's package")
    delay = "" if delay_ms is None else f"delay = function() return {delay_ms:.3f} end"
    with tempfile.NamedTemporaryFile("w", suffix=".lua", prefix="diffs-bench-wrk-") as script:
        script.write(WRK_SCRIPT % {"delay": delay})
        script.flush()
        done = subprocess.run(
            [executable, "-t2", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "10s",
             "-s", script.name, url],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False,
        )
    lines = [line for line in done.stdout.splitlines() if line.startswith("WRK ")]
    if done.returncode != 0 or not lines:
        raise BenchError(f"wrk failed (exit {done.returncode}): {done.stdout[-2000:]}")
    found = json.loads(lines[-1][4:])
    if found["errors"]:
        raise BenchError(f"wrk: {found['errors']} failed requests against {url}")
    return {
        "requests": found["requests"],
        "requests_per_second": found["requests"] / (found["duration_us"] / 1e6),
        "p50_ms": found["p50_us"] / 1000,
        "p99_ms": found["p99_us"] / 1000,
    }


# -- the project: database, gunicorn, worker -------------------------------------------------------


def prepare_database(server: PostgresServer) -> None:
    """Create the bench's database, its tables and rows, then pghistory's triggers."""
    from django.core.management import call_command

    from bench.httpapp.views import MODELS

    with server.connect() as conn:
        conn.execute(f'CREATE DATABASE "{PG_NAME}"')
    call_command("migrate", run_syncdb=True, verbosity=0)
    for model in MODELS.values():
        model.objects.bulk_create(model(name=f"row {n}") for n in range(ROWS))
    import pgtrigger

    pgtrigger.install()  # the bench app has no migrations to install them (after the rows)


@contextlib.contextmanager
def gunicorn(env: dict[str, str]) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """Run gunicorn (sync workers) on a free port; yield it and its base URL; at the end stop
    it with SIGTERM (its workers flush their publishers as they exit)."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", str(WEB_WORKERS), "-k", "sync",
         "-b", f"127.0.0.1:{port}", "--backlog", "2048", "bench.http_wsgi:application"],
        cwd=ROOT, env={**env, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _answers(f"{base}/stats/") or process.poll() is not None,
                   "gunicorn to answer", timeout=60, interval=0.1)
        if process.poll() is not None:
            raise BenchError(f"gunicorn exited ({process.returncode})")
        yield process, base
    finally:
        stop(process)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def publisher_stats(base: str) -> dict[int, dict[str, int]]:
    """Return each web process's publisher counters (asked until every worker answered)."""
    found: dict[int, dict[str, int]] = {}
    for _ in range(200):
        with urllib.request.urlopen(f"{base}/stats/", timeout=10) as response:
            answer = json.loads(response.read())
        found[answer["pid"]] = answer["stats"]
        if len(found) == WEB_WORKERS:
            return found
    raise BenchError(f"only {len(found)} of {WEB_WORKERS} web processes answered /stats/")


# -- measuring -------------------------------------------------------------------------------------


class Processes:
    """The pids whose CPU time is counted, by role."""

    def __init__(self, web: int, db: int, redis_pid: int, worker: int) -> None:
        self.roles = {"web": web, "db": db, "redis": redis_pid, "worker": worker}

    def cpu(self) -> dict[str, float]:
        """Return each role's CPU seconds so far."""
        return {role: cpu_seconds(pid) for role, pid in self.roles.items()}


class Storage:
    """What the worker stored of the ``diffs`` table, and the broker's queue."""

    def __init__(self) -> None:
        import redis as redis_py
        from django.conf import settings

        from diffs.conf import diffs_settings
        from diffs.storage.connection import get_redis
        from diffs.storage.keys import object_key

        self.client = get_redis()
        self.broker = redis_py.Redis.from_url(settings.CELERY_BROKER_URL)
        self.queue = diffs_settings.queue
        self.keys = [object_key(diffs_settings.key_prefix, DIFFS_LABEL, pk)
                     for pk in range(1, ROWS + 1)]

    def stored(self) -> int:
        """Return how many diffs the ``diffs`` table's keys hold."""
        return sum(sizes(self.client, self.keys))

    def settle(self) -> None:
        """Wait until the queue is empty, nothing unacknowledged and the count stopped growing
        (the publishers send within their 20 ms interval)."""
        last = -1
        deadline = time.monotonic() + 300
        while True:
            time.sleep(0.3)
            count = self.stored()
            if (count == last and not self.broker.llen(self.queue)
                    and not self.broker.hlen("unacked")):
                return
            if time.monotonic() > deadline:
                raise BenchError("the worker did not drain the queue within 300 s")
            last = count


def wal_lsn(conn: Any) -> int:
    """Return the current WAL position, in bytes."""
    return int(conn.execute("SELECT pg_current_wal_lsn() - '0/0'").fetchone()[0])


def one_run(base: str, variant: str, saves: int, processes: Processes, storage: Storage,
            conn: Any) -> dict[str, Any]:
    """Load one variant in one mode for ``SECONDS``; return its figures per request."""
    before, lsn = processes.cpu(), wal_lsn(conn)
    found = wrk(f"{base}/save/{variant}/?n={saves}", SECONDS)
    if variant == "diffs":
        storage.settle()
    after, wal = processes.cpu(), wal_lsn(conn) - lsn
    requests = found["requests"]
    cpu = {role: (after[role] - before[role]) * 1000 / requests for role in after}
    return {**found, "cpu_ms": cpu, "cpu_ms_total": sum(cpu.values()),
            "wal_bytes": wal / requests}


class WaitReader(KeyReader):
    """Notes how long after its save (a member's score is its change time) each new member of
    an announced key was read; members saved before it started are left out."""

    def __init__(self, client: Any) -> None:
        from diffs.conf import diffs_settings

        super().__init__(client, diffs_settings.key_prefix, since=time.time())
        self.waits: list[float] = []
        self.seen_members: set[str] = set()

    def seen(self, key: str, pairs: list[tuple[Any, float]], now: float) -> None:
        for member, score in pairs:
            if member not in self.seen_members:
                self.seen_members.add(member)
                self.waits.append((now - score) * 1000)


def paced(base: str, saves: int, rate: float, storage: Storage) -> dict[str, Any]:
    """Load ``diffs`` at about ``rate`` requests per second in all; return how its diffs were
    gathered into messages and how long they waited to be readable."""
    url = f"{base}/save/diffs/?n={saves}"
    delay = PACED_CONNECTIONS * 1000 / rate
    trial = wrk(url, 5, PACED_CONNECTIONS, delay)  # calibrate: each request's own time too
    delay = max(0.1, 2 * delay - PACED_CONNECTIONS * 1000 / trial["requests_per_second"])
    storage.settle()
    before = publisher_stats(base)
    reader = WaitReader(storage.client)
    reader.start()
    try:
        found = wrk(url, SECONDS, PACED_CONNECTIONS, delay)
        storage.settle()
        after = publisher_stats(base)
    finally:
        reader.stop()

    def change(name: str) -> int:
        return sum(after[pid].get(name, 0) - before.get(pid, {}).get(name, 0) for pid in after)

    messages, published = change("messages_sent"), change("diffs_published")
    waits = reader.waits
    return {
        "requests_per_second": found["requests_per_second"],
        "per_process": found["requests_per_second"] / WEB_WORKERS,
        "diffs_per_message": published / max(messages, 1),
        "messages": messages,
        "diffs": published,
        "wait_ms": {"p50": percentile(waits, 0.5), "p99": percentile(waits, 0.99),
                    "samples": len(waits)} if waits else {},
    }


def verify(server: PostgresServer, storage: Storage) -> dict[str, int]:
    """Fail unless every UPDATE of the ``diffs`` table has one stored diff and every UPDATE of
    the ``pghistory`` table one update event; return the counts."""
    from diffs import wire

    storage.settle()
    with server.connect(PG_NAME) as conn:
        updates = dict(conn.execute(
            "SELECT relname, n_tup_upd FROM pg_stat_user_tables WHERE relname LIKE "
            "'httpbench_%row'").fetchall())
        events = conn.execute("SELECT count(*) FROM httpbench_pghhttprowevent "
                              "WHERE pgh_label = 'update'").fetchone()[0]
    ids: set[str] = set()
    stored = 0
    for key in storage.keys:
        for diff in wire.decode_members(storage.client.zrange(key, 0, -1)):
            if diff is None:
                raise BenchError(f"http: {key} holds a member that is not a diff")
            stored += 1
            ids.add(diff.id)
    saved = updates["httpbench_diffshttprow"]
    if stored != saved or len(ids) != stored:
        raise BenchError(f"http: {stored} diffs ({len(ids)} distinct ids) stored for {saved} "
                         "saves")
    if events != updates["httpbench_pghhttprow"]:
        raise BenchError(f"http: {events} pghistory events for "
                         f"{updates['httpbench_pghhttprow']} saves")
    return {"diffs_saved": saved, "diffs_stored": stored,
            "pghistory_saved": updates["httpbench_pghhttprow"], "pghistory_events": events,
            "plain_saved": updates["httpbench_plainhttprow"]}


def summarize(samples: dict[str, dict[str, list[dict[str, Any]]]]) -> dict[str, Any]:
    """Return each mode's and variant's medians over repetitions, ratios to ``plain`` taken
    within each repetition."""
    summary: dict[str, Any] = {}
    for mode, by_variant in samples.items():
        plain = by_variant["plain"]
        summary[mode] = {}
        for variant, runs in by_variant.items():
            def med(get: Any, of: list[dict[str, Any]] = runs) -> float:
                return statistics.median(get(run) for run in of)

            summary[mode][variant] = {
                "requests_per_second": med(lambda r: r["requests_per_second"]),
                "ratio": statistics.median(
                    run["requests_per_second"] / base["requests_per_second"]
                    for run, base in zip(runs, plain, strict=True)),
                "p50_ms": med(lambda r: r["p50_ms"]),
                "p99_ms": med(lambda r: r["p99_ms"]),
                "cpu_ms_total": med(lambda r: r["cpu_ms_total"]),
                "cpu_ms": {role: med(lambda r, role=role: r["cpu_ms"][role])
                           for role in runs[0]["cpu_ms"]},
                "wal_bytes": med(lambda r: r["wal_bytes"]),
                "runs": runs,
            }
    return summary


def markdown(results: dict[str, Any]) -> str:
    """Return the results as Markdown tables."""
    lines = [f"HTTP load: wrk -t2 -c{CONNECTIONS} for {SECONDS:g} s per run, gunicorn "
             f"({WEB_WORKERS} sync workers), PostgreSQL {results['postgres']}, medians of "
             f"{REPETITIONS} runs; load average before: {results['load_before']}.", ""]
    for mode, by_variant in results["summary"].items():
        lines += [f"**{mode}**", "",
                  "| variant | req/s | x plain | p50 ms | p99 ms | CPU ms per request "
                  "(web / db / redis / worker) | WAL bytes per request |",
                  "|---|---:|---:|---:|---:|---|---:|"]
        for variant, row in by_variant.items():
            cpu = row["cpu_ms"]
            lines.append(
                f"| {variant} | {row['requests_per_second']:.0f} | {row['ratio']:.2f} "
                f"| {row['p50_ms']:.1f} | {row['p99_ms']:.1f} | {row['cpu_ms_total']:.2f} "
                f"({cpu['web']:.2f} / {cpu['db']:.2f} / {cpu['redis']:.2f} / "
                f"{cpu['worker']:.2f}) | {row['wal_bytes']:.0f} |")
        lines.append("")
    lines += ["**Gathering** (diffs, paced):", "",
              "| mode | req/s per process | diffs per message | save to readable p50 | p99 |",
              "|---|---:|---:|---:|---:|"]
    for mode, row in results["paced"].items():
        wait = row["wait_ms"]
        lines.append(f"| {mode} | {row['per_process']:.0f} | {row['diffs_per_message']:.1f} "
                     f"| {wait.get('p50', 0):.1f} ms | {wait.get('p99', 0):.1f} ms |")
    lines += ["", f"Checked: {results['verified']}."]
    return "\n".join(lines)


def main() -> None:
    load_before = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    with contextlib.ExitStack() as stack:
        redis_url = stack.enter_context(redis_server())
        server = stack.enter_context(postgres_server())
        os.environ.update(BENCH_REDIS_URL=redis_url, BENCH_PG_PORT=str(server.port),
                          BENCH_PG_NAME=PG_NAME, DJANGO_SETTINGS_MODULE="bench.http_settings")
        import bench.celery_app  # noqa: F401  (django.setup() and the project's Celery app)
        from diffs.conf import diffs_settings

        prepare_database(server)
        env = dict(os.environ)
        storage = Storage()
        worker = stack.enter_context(celery_worker(env, diffs_settings.queue))
        web, base = stack.enter_context(gunicorn(env))
        processes = Processes(web.pid, server.pid, int(storage.client.info("server")[
            "process_id"]), worker.pid)
        conn = stack.enter_context(server.connect(PG_NAME))
        for variant in VARIANTS:  # warm up: imports, connections, plans, the publisher thread
            wrk(f"{base}/save/{variant}/?n=1", 2)
        storage.settle()
        samples: dict[str, dict[str, list[dict[str, Any]]]] = {
            mode: {variant: [] for variant in VARIANTS} for mode in MODES}
        for repetition in range(REPETITIONS):
            shift = repetition % len(VARIANTS)
            order = VARIANTS[shift:] + VARIANTS[:shift]
            for mode, saves in MODES.items():
                for variant in order:
                    print(f"-- http {repetition + 1}/{REPETITIONS} {mode} {variant}",
                          file=sys.stderr, flush=True)
                    samples[mode][variant].append(
                        one_run(base, variant, saves, processes, storage, conn))
        summary = summarize(samples)
        paced_results = {}
        for mode, saves in MODES.items() if "diffs" in VARIANTS else ():
            fastest = summary[mode]["diffs"]["requests_per_second"]
            rate = min(PACED_RATE * WEB_WORKERS, 0.7 * fastest)
            print(f"-- http paced {mode} at {rate:.0f} req/s", file=sys.stderr, flush=True)
            paced_results[mode] = paced(base, saves, rate, storage)
        postgres_version = conn.execute("SHOW server_version").fetchone()[0]
        stop(web)  # the web processes flush and close their connections: counters are final
        verified = verify(server, storage)
    results = {
        "command": "python bench/http_load.py", "seconds": SECONDS, "repetitions": REPETITIONS,
        "connections": CONNECTIONS, "web_workers": WEB_WORKERS, "postgres": postgres_version,
        "load_before": load_before, "variants": list(VARIANTS),
        "publish_interval": os.environ.get("BENCH_HTTP_PUBLISH_INTERVAL", "default"),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "summary": summary, "paced": paced_results, "verified": verified,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "http-latest.json").write_text(json.dumps(results, indent=2) + "\n")
    print(markdown(results))
    print(json.dumps(results))


if __name__ == "__main__":
    guarded(main)
