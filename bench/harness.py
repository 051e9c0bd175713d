"""What every benchmark here needs: its own redis-server, a real Celery worker, statistics.

Nothing here touches a service the benchmark did not start, except the local PostgreSQL, where
the recording benchmark creates a database of its own and drops it afterwards.
"""

from __future__ import annotations

import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "example"))

from demo import start_redis  # noqa: E402  (the example's: a redis-server on a free port)


class BenchError(RuntimeError):
    """A benchmark could not run, or what it stored does not match what it saved."""


@contextmanager
def redis_server() -> Iterator[str]:
    """Run a private, memory-only redis-server on a free port; yield its URL without a db."""
    if shutil.which("redis-server") is None:
        raise BenchError("redis-server is not installed: `make bench` installs it.")
    workdir = tempfile.mkdtemp(prefix="diffs-bench-")
    url, process = start_redis(workdir)
    try:
        yield url.rsplit("/", 1)[0]
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


def wait_until(condition: Callable[[], object], what: str, timeout: float = 60.0,
               interval: float = 0.01) -> None:
    """Poll ``condition`` until it is truthy; raise ``BenchError`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise BenchError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


@contextmanager
def celery_worker(env: dict[str, str], queue: str,
                  number: int = 0) -> Iterator[subprocess.Popen[bytes]]:
    """Run one real Celery worker process (solo pool) on ``queue`` for the bench project
    (``number``: which of several at once)."""
    with tempfile.NamedTemporaryFile(prefix="diffs-bench-worker-", suffix=".log") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "bench.celery_app", "worker", "-P", "solo",
             "-Q", queue, "-n", f"bench-{os.getpid()}-{queue}-{number}@%h", "--loglevel", "WARNING",
             "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=ROOT,
            env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            yield process
        except BaseException:
            print(Path(log.name).read_text()[-3000:], file=sys.stderr)
            raise
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def percentile(values: list[float], fraction: float) -> float:
    """Return the value below which ``fraction`` of ``values`` lie (nearest rank)."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
    return ordered[index]


def median(values: list[float]) -> float:
    """Return the median of ``values``."""
    return statistics.median(values)


def create_tables() -> None:
    """Create the tables of the configured database: auth's migrations first, because
    ``run_syncdb`` creates the unmigrated bench apps' tables (a historical row's foreign key to
    the user among them) before it runs any migration."""
    from django.core.management import call_command

    call_command("migrate", "auth", verbosity=0)
    call_command("migrate", run_syncdb=True, verbosity=0)


def sizes(client: Any, keys: Iterable[str]) -> list[int]:
    """Return how many members each sorted set of ``keys`` holds, in one round trip."""
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.zcard(key)
    return list(pipe.execute())


def postgres(statement: str) -> None:
    """Run one statement (CREATE/DROP DATABASE) on the machine's PostgreSQL, in autocommit.

    The benchmarks make a database of their own per run and drop it after; this connects to
    the ``test`` database that the machine always has, as PGHOST/PGPORT/PGUSER say.
    """
    import psycopg

    with psycopg.connect(host=os.environ.get("PGHOST", "127.0.0.1"),
                         port=os.environ.get("PGPORT", "5432"),
                         user=os.environ.get("PGUSER", "postgres"), dbname="test",
                         autocommit=True) as conn:
        conn.execute(statement)
