"""Real processes for fault tests: a restartable redis-server, workers, web clients.

Every process runs with ``tests.faults.settings`` and an environment naming the test's own
SQLite file, storage prefix, queue and broker, so tests never see each other's data.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import port_for
import pytest
import redis
from pytest_redis.executor import RedisExecutor

from diffs.storage.keys import object_key
from tests.payloads import member_ids

ROOT = Path(__file__).resolve().parents[2]

#: Every fault scenario runs in both publish modes; ``make test`` runs only the default one,
#: ``make test-faults`` both (the on_commit variants are marked ``on_commit_matrix``).
PUBLISH_MODES = ["background", pytest.param("on_commit", marks=pytest.mark.on_commit_matrix)]


def redis_server(datadir: Path, persistent: bool = True, **options: Any) -> RedisExecutor:
    """Return a started redis-server on a free port; with AOF so a restart keeps the queue.

    ``options`` are configuration values set once it runs (``maxmemory_policy="noeviction"``:
    underscores for dashes).
    """
    executor = RedisExecutor(
        executable=shutil.which("redis-server") or "redis-server",
        databases=2,
        redis_timeout=30,
        loglevel="warning",
        host="127.0.0.1",
        port=port_for.select_random(),
        datadir=datadir,
        appendonly="yes" if persistent else "no",
    )
    executor.start()
    if options:
        client = redis.Redis(host="127.0.0.1", port=executor.port)
        for name, value in options.items():
            client.config_set(name.replace("_", "-"), value)
        client.close()
    return executor


class Scenario:
    """The processes of one fault scenario, stopped by :meth:`close`."""

    def __init__(self, tmp: Path, storage_url: str, broker_url: str, **env: str) -> None:
        run_id = uuid.uuid4().hex[:8]
        self.prefix = f"fault{run_id}"
        self.queue = f"diffs-fault-{run_id}"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.faults.settings",
            "PYTHONPATH": str(ROOT),
            "FAULT_DB": str(tmp / "db.sqlite3"),
            "FAULT_STORAGE_URL": storage_url,
            "FAULT_BROKER_URL": broker_url,
            "FAULT_PREFIX": self.prefix,
            "FAULT_QUEUE": self.queue,
            **env,
        }
        self.tmp = tmp
        self.processes: list[subprocess.Popen] = []
        self.storage = redis.Redis.from_url(storage_url, decode_responses=True)
        if os.environ.get("DIFFS_TEST_DB") == "postgres":  # the scenario gets its own database
            self.env["FAULT_PG_DB"] = f"diffs_fault_{run_id}"
            self._postgres(f"CREATE DATABASE {self.env['FAULT_PG_DB']}")
        else:  # WAL: the processes read while one writes; the file keeps it for every connection
            with contextlib.closing(sqlite3.connect(self.env["FAULT_DB"])) as db:
                db.execute("PRAGMA journal_mode=WAL")
        subprocess.run(
            [sys.executable, "-m", "django", "migrate", "-v0", "--skip-checks"],
            env=self.env, check=True, cwd=ROOT,
        )

    def spawn(self, *args: str, env: dict[str, str] | None = None,
              **kwargs: Any) -> subprocess.Popen:
        """Start a process with the scenario's environment (and ``env`` on top).

        Each process leads a session of its own, so that :meth:`kill` and :meth:`close` reach
        the children it forks (a prefork worker's pool) too.
        """
        process = subprocess.Popen(args, env={**self.env, **(env or {})}, cwd=ROOT,
                                   start_new_session=True, **kwargs)
        self.processes.append(process)
        return process

    def worker(self, pool: str = "solo", concurrency: int = 1, **env: str) -> subprocess.Popen:
        """Start a real Celery worker consuming the scenario's queue (``env``: on top)."""
        log = open(self.tmp / f"worker-{len(self.processes)}.log", "w")  # noqa: SIM115
        # A node name of its own: workers of other test runs share the machine's RabbitMQ, where
        # a second ``celery@<host>`` cannot take the first one's exclusive remote-control queue
        # and its consumer stops, stuck, after a reconnect.
        node = f"{self.queue}-{len(self.processes)}@%h"
        return self.spawn(
            sys.executable, "-m", "celery", "-A", "tests.celery_app", "worker", "-n", node,
            "-Q", self.queue, "-P", pool, "-c", str(concurrency),
            "-l", os.environ.get("FAULT_WORKER_LOGLEVEL", "WARNING"),
            "--without-gossip", "--without-mingle", "--without-heartbeat",
            stdout=log, stderr=subprocess.STDOUT, env=env,
        )

    @staticmethod
    def kill(process: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` to a process and every process of its session (a dead worker's pool)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        process.wait()

    def client(self, count: int, pause: float, tag: str) -> subprocess.Popen:
        """Start a web process that makes ``count`` saves (see ``tests.faults.client``)."""
        return self.spawn(
            sys.executable, "-m", "tests.faults.client", str(count), str(pause), tag,
            stdout=subprocess.PIPE, stderr=open(self.tmp / f"{tag}.err", "w"),
            text=True,
        )

    def run_python(self, code: str) -> str:
        """Run Django code in a process of the scenario; return what it printed."""
        return self.run_process(code).stdout.strip()

    def run_process(self, code: str) -> subprocess.CompletedProcess[str]:
        """Run Django code in a process of the scenario; return it, with stdout and stderr."""
        return subprocess.run(
            [sys.executable, "-c", f"import django; django.setup(); {code}"],
            env=self.env, cwd=ROOT, check=True, capture_output=True, text=True,
        )

    def key(self, label: str, pk: Any) -> str:
        """Return the storage key of an object under the scenario's prefix."""
        return object_key(self.prefix, label, pk)

    @staticmethod
    def result(process: subprocess.Popen, timeout: float = 300) -> dict[str, Any]:
        """Wait for a client and return what it reported."""
        out, _ = process.communicate(timeout=timeout)
        assert process.returncode == 0, out
        return json.loads(out.strip().splitlines()[-1])

    def stored_ids(self) -> list[str]:
        """Return the ids of every member under the scenario's prefix (test-only SCAN)."""
        ids = []
        for key in self.storage.scan_iter(match=f"{self.prefix}:{{*}}:*.*:*", count=1000):
            ids.extend(member_ids(self.storage.zrange(key, 0, -1)))
        return ids

    def wait_stored(self, count: int, timeout: float = 120) -> list[str]:
        """Wait until ``count`` diffs are stored; return their ids.

        ``timeout`` is how long the count may stand still below ``count``, not a limit on the
        whole wait: a worker slowed down by a loaded machine is still given the time it needs,
        while one that stopped storing fails the test after ``timeout`` seconds.
        """
        return self._wait(lambda ids, previous: len(ids) >= count, timeout, interval=0.5)

    def wait_settled(self, at_least: int, timeout: float = 120) -> list[str]:
        """Wait until ``at_least`` diffs are stored, no row is pending and the count holds still
        for a second; return the stored ids (``timeout``: as in :meth:`wait_stored`)."""
        return self._wait(
            lambda ids, previous: len(ids) >= at_least and len(ids) == previous
            and not self.pending_rows(),
            timeout, interval=1,
        )

    def _wait(self, done: Any, stall: float, interval: float) -> list[str]:
        """Poll the stored ids until ``done(ids, previous_count)``, or until no diff has been
        stored for ``stall`` seconds."""
        previous = -1
        last_move = time.monotonic()
        while True:
            ids = self.stored_ids()
            if done(ids, previous):
                return ids
            if len(ids) != previous:
                last_move = time.monotonic()
            elif time.monotonic() - last_move > stall:
                return ids
            previous = len(ids)
            time.sleep(interval)

    def pending_rows(self) -> int:
        """Return how many diffs still wait in the scenario's database."""
        return int(self.run_python(
            "from diffs.models import PendingDiff; print(PendingDiff.objects.count())"
        ))

    @staticmethod
    def _postgres(statement: str) -> None:
        import psycopg

        with psycopg.connect(
            host=os.environ.get("PGHOST", "127.0.0.1"), port=os.environ.get("PGPORT", "5432"),
            user=os.environ.get("PGUSER", "postgres"), dbname="postgres", autocommit=True,
        ) as connection:
            connection.execute(statement)

    def close(self) -> None:
        """Stop every process and delete the scenario's keys."""
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # what it forked and left behind
        for key in self.storage.scan_iter(match=f"{self.prefix}:*", count=1000):
            self.storage.delete(key)
        self.storage.close()
        if "FAULT_PG_DB" in self.env:
            self._postgres(f"DROP DATABASE IF EXISTS {self.env['FAULT_PG_DB']} WITH (FORCE)")
