"""What every benchmark here needs: its own redis-server, a real Celery worker, statistics.

Nothing here touches a service the benchmark did not start, except the local PostgreSQL, where
the recording benchmark creates a database of its own and drops it afterwards.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "example"))

from demo import free_port, start_redis  # noqa: E402  (the example's: a redis-server on a free port)


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
            stop(process, 30)


def stop(process: subprocess.Popen[Any], timeout: float = 60) -> None:
    """Stop a process with SIGTERM and wait for it (killed after ``timeout`` seconds)."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def guarded(main: Callable[[], None]) -> None:
    """Run a benchmark's ``main``; a ``BenchError`` ends the process with its message."""
    try:
        main()
    except BenchError as exc:
        sys.exit(f"BENCH FAILED: {exc}")


class KeyReader(threading.Thread):
    """Subscribed to the workers' written-keys channel: reads the members each announced key
    gained since it was last read (scored from ``since`` on) and hands them to :meth:`seen`."""

    def __init__(self, client: Any, prefix: str, since: float | str = "-inf") -> None:
        from diffs.storage.keys import written_channel

        super().__init__(daemon=True)
        self.client = client
        self.pubsub = client.pubsub(ignore_subscribe_messages=True)
        self.pubsub.subscribe(written_channel(prefix))
        self.since = since
        self.newest: dict[str, float] = {}
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            message = self.pubsub.get_message(timeout=0.2)
            if message is None:
                continue
            for key in json.loads(message["data"]):
                pairs = self.client.zrangebyscore(key, self.newest.get(key, self.since), "+inf",
                                                  withscores=True)
                self.seen(key, pairs, time.time())
                if pairs:
                    self.newest[key] = pairs[-1][1]

    def seen(self, key: str, pairs: list[tuple[Any, float]], now: float) -> None:
        """Take the ``(member, score)`` pairs read of ``key`` at ``now`` (the last ones again)."""
        raise NotImplementedError

    def stop(self) -> None:
        self.stopping.set()
        self.join()
        self.pubsub.close()


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


class PostgresServer:
    """A PostgreSQL server the bench started: its port and its postmaster's pid."""

    def __init__(self, port: int, pid: int) -> None:
        self.port = port
        self.pid = pid

    def connect(self, dbname: str = "postgres") -> Any:
        """Return a new autocommit connection to ``dbname`` on this server."""
        import psycopg

        return psycopg.connect(host="127.0.0.1", port=self.port, user="postgres",
                               dbname=dbname, autocommit=True)


def _postgres_bin(name: str) -> str:
    found = shutil.which(name) or max(
        (str(path) for path in Path("/usr/lib/postgresql").glob(f"*/bin/{name}")),
        key=lambda path: int(Path(path).parent.parent.name), default=None,
    )
    if found is None:
        raise BenchError(f"{name} not found: install PostgreSQL's server (Debian: postgresql)")
    return found


@contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """Run a private PostgreSQL server (initdb in a temporary folder, a free port on
    127.0.0.1, the server's default settings); yield it, then stop it and remove its files.

    Private so that every process of it, and all the WAL it writes, belong to the bench: the
    machine's shared server also runs other people's tests. As root it runs as ``postgres``.
    """
    workdir = tempfile.mkdtemp(prefix="diffs-bench-pg-")
    as_user: list[str] = []
    if os.geteuid() == 0:
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(workdir, "postgres")
    data = str(Path(workdir) / "data")
    subprocess.run([*as_user, _postgres_bin("initdb"), "-D", data, "-A", "trust", "-U",
                    "postgres", "-E", "UTF8", "--no-sync"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    port = free_port()
    process = subprocess.Popen(
        [*as_user, _postgres_bin("postgres"), "-D", data, "-p", str(port), "-k", workdir,
         "-c", "listen_addresses=127.0.0.1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        server = PostgresServer(port, 0)

        def accepting() -> bool:
            try:
                server.connect().close()
            except Exception:
                return process.poll() is not None  # stop waiting: it exited
            return True

        wait_until(accepting, "the private PostgreSQL server to start", timeout=60, interval=0.1)
        if process.poll() is not None:
            raise BenchError(f"the private PostgreSQL server exited ({process.returncode})")
        server.pid = int((Path(data) / "postmaster.pid").read_text().split()[0])
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)  # fast shutdown
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(workdir, ignore_errors=True)


def cpu_seconds(pid: int) -> float:
    """Return the CPU seconds (user + system) of process ``pid``, of the children it reaped
    and of its live descendants: a server and its workers or backends, all counted."""
    import psutil

    root = psutil.Process(pid)
    times = root.cpu_times()
    total = times.user + times.system + times.children_user + times.children_system
    for child in root.children(recursive=True):
        try:
            child_times = child.cpu_times()
        except psutil.NoSuchProcess:  # it exited a moment ago: its parent reaped it
            continue
        total += child_times.user + child_times.system
    return total
