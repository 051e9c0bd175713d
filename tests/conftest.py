"""Fixtures of every tier: the session's own redis-server (pytest-redis), a real Celery worker.

Redis database 0 of the session's server is the diffs storage, database 1 the Celery broker.
Nothing here touches a Redis that the session did not start. Under pytest-xdist each worker
process is a session of its own: its own redis-server, worker thread and test databases.

The tiers are folders: ``tests/unit`` (its ``conftest.py`` overrides :func:`services` to allow
no service at all), ``tests/integration`` (its ``conftest.py`` stores diffs in-process, no
worker), ``tests/e2e`` and ``tests/faults`` (the real worker and the fault scenarios below).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from asgiref.sync import sync_to_async
from celery.bootsteps import RUN
from celery.contrib.testing.worker import start_worker
from django.conf import settings as django_settings
from django.db import connections
from django.test import override_settings

import diffs
from diffs.transport import runtime
from tests import connect_guard
from tests.celery_app import app as celery_app
from tests.faults.harness import Scenario
from tests.faults.harness import redis_server as start_redis_server
from tests.storage_kinds import (  # noqa: F401  (fixtures: the cluster and the sentinel)
    any_storage,
    cluster_storage,
    redis_cluster,
    redis_sentinel,
    sentinel_storage,
)

#: The testing kit's pytest plugin, loaded here rather than by its entry point (setup.cfg says
#: why): the diffs_isolated fixture, and the per-run names this suite opts out of.
pytest_plugins = ["diffs.testing.plugin"]

STORAGE_DB = 0
BROKER_DB = 1

#: For tests that run ``manage.py check``: from Django 6.1 its model checks query every database
#: (a JSONField asks each whether it supports JSON).
every_database = pytest.mark.django_db(databases=["default", "other"])


@pytest.fixture(scope="session")
def redis_server(redis_proc: Any) -> dict[str, Any]:
    """Return host, port and URLs of the session's redis-server."""
    base = f"redis://{redis_proc.host}:{redis_proc.port}"
    return {
        "host": redis_proc.host,
        "port": redis_proc.port,
        "storage_url": f"{base}/{STORAGE_DB}",
        "broker_url": f"{base}/{BROKER_DB}",
    }


@pytest.fixture(scope="session")
def session_redis(redis_server: dict[str, Any]) -> Iterator[None]:
    """Point the diffs storage and the test project's Celery app at the session's redis-server."""
    connect_guard.install(allowed_port=redis_server["port"])  # never the default Redis's data
    # override_settings, not an assignment: its setting_changed signal renews diffs' snapshot.
    storage = override_settings(DIFFS_SETTINGS={
        **django_settings.DIFFS_SETTINGS,
        "redis": {"url": redis_server["storage_url"]},
    })
    storage.enable()
    celery_app.conf.broker_url = redis_server["broker_url"]
    celery_app.conf.broker_transport_options = {"visibility_timeout": 30}
    celery_app.set_current()
    celery_app.set_default()
    yield
    storage.disable()


@pytest.fixture(autouse=True)
def services(session_redis: None) -> None:
    """Every test but a unit test may use the session's redis-server (the unit tier overrides
    this fixture to allow no service at all)."""


@pytest.fixture
def storage(redis_server: dict[str, Any]) -> Iterator[redis.Redis]:
    """Return a client of the storage database, emptied before and after the test."""
    client = redis.Redis.from_url(redis_server["storage_url"], decode_responses=True)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture
def broker(redis_server: dict[str, Any]) -> Iterator[redis.Redis]:
    """Return a client of the broker database."""
    client = redis.Redis.from_url(redis_server["broker_url"], decode_responses=True)
    yield client
    client.close()


@pytest.fixture(scope="session")
def celery_worker_session(
    redis_server: dict[str, Any], django_db_setup: Any, django_db_blocker: Any
) -> Iterator[Any]:
    """Run one real Celery worker (solo pool, in a thread) for the whole session.

    It starts once the test databases exist: its start runs Django's system checks, which on
    Django 6.1 query every database, and a connection opened to in-memory SQLite before the
    test database is made would keep a private database of its own (no tables, for threads).

    It opts into what Celery 6 will do on a lost broker connection (cancel running late-acked
    tasks; the solo pool runs none while it reconnects): else Celery warns with a
    PendingDeprecationWarning, which this suite's filters make an error in every thread while a
    test runs (warnings filters are the process's), and the error stops the worker for good.
    """
    celery_app.conf.worker_cancel_long_running_tasks_on_connection_loss = True
    with django_db_blocker.unblock(), start_worker(
        celery_app,
        pool="solo",
        concurrency=1,
        perform_ping_check=False,
        loglevel="WARNING",
        queues=["diffs"],
        shutdown_timeout=10,
    ) as worker:
        yield worker


@pytest.fixture(autouse=True)
def _publisher_drained() -> Iterator[None]:
    """Leave no diff of a test in the background publisher's queue for the next test, and the
    test project's Celery app current (``Celery(...)`` makes any new app the current one)."""
    yield
    diffs.flush(timeout=10)
    celery_app.set_current()


@pytest.fixture
def worker(celery_worker_session: Any, storage: redis.Redis, broker: redis.Redis) -> Iterator[Any]:
    """A running worker and clean storage; waits for the queue to drain after the test."""
    if celery_worker_session.blueprint.state != RUN:  # fail now, not after every wait runs out
        pytest.fail("the session's Celery worker has stopped: its log, in the output of an "
                    "earlier test of this process, says why")
    yield celery_worker_session
    diffs.flush(timeout=10)
    wait_until(lambda: broker.llen("diffs") == 0 and not broker.hlen("unacked"), timeout=20)


@pytest.fixture
def eager() -> Iterator[None]:
    """Run write tasks in-process, synchronously (Celery's eager mode)."""
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


@pytest.fixture
def outbox(settings: Any) -> None:
    """Record in the ``outbox`` durability mode."""
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS, "durability": "outbox"}


@pytest.fixture
def no_outage() -> Iterator[Any]:
    """Run the test on a runtime of its own (no outage remembered from an earlier test); return
    its sender."""
    with runtime.replaced() as fresh:
        yield fresh.sender


@pytest.fixture
def diffs_log() -> Iterator[list[logging.LogRecord]]:
    """Collect the records of the ``diffs`` logger, whichever thread logs them."""
    records = []

    class Collect(logging.Handler):
        def emit(self, record):
            records.append(record)

    handler = Collect(level=logging.WARNING)
    logger = logging.getLogger("diffs")
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


@pytest.fixture
def async_client_run(async_client: Any) -> Callable[[str, dict[str, str]], Any]:
    """Return ``run(path, headers)``: one request through the async stack, its JSON."""

    def run(path, headers):
        async def go():
            try:
                return await async_client.get(path, headers=headers)
            finally:  # the test client leaves the ORM's thread connected: PostgreSQL's
                await sync_to_async(connections.close_all)()  # test database must drop

        return asyncio.run(go()).json()

    return run


#: How long a wait of the e2e and fault tiers gives a real worker, server or process by default:
#: generous, because a loaded machine (2 cores, shared) slows them down by many times; a test
#: that passes never waits that long, one that fails says what it waited for.
WAIT = 30.0


def wait_until(condition: Callable[[], Any], timeout: float = WAIT, interval: float = 0.02) -> Any:
    """Poll ``condition`` until it is truthy; fail the test with a clear message otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout}s: {condition}")
        time.sleep(interval)


def wait_for_diffs(diff_set: Any, count: int, timeout: float = WAIT) -> list[Any]:
    """Wait until ``diff_set`` holds ``count`` diffs and return them, oldest first."""
    wait_until(lambda: len(diff_set) >= count, timeout=timeout)
    found = list(diff_set)
    assert len(found) == count, found
    return found


@pytest.fixture
def servers(tmp_path):
    """Start restartable redis-servers on free ports (``persistent``: AOF); stop them after."""
    started = []

    def start(name: str, persistent: bool = True, **options: Any):
        datadir = tmp_path / name
        datadir.mkdir()
        started.append(start_redis_server(datadir, persistent, **options))
        return started[-1]

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def publish_mode() -> str:
    """The ``publish`` setting of a scenario's processes (fault tests parametrize it)."""
    return "background"


@pytest.fixture
def scenarios(tmp_path, redis_server, storage, publish_mode):
    """Return a factory of fault scenarios (real web, worker and beat processes); closes them.

    By default a scenario stores into the session's storage Redis and uses its broker database,
    each under names of its own (key prefix, queue), and publishes as ``publish_mode`` says.
    """
    made = []

    def make(
        broker_url: str = redis_server["broker_url"],
        storage_url: str = redis_server["storage_url"],
        **env: str,
    ) -> Scenario:
        env.setdefault("FAULT_PUBLISH", publish_mode)
        made.append(Scenario(tmp_path, storage_url, broker_url, **env))
        return made[-1]

    yield make
    for scenario in made:
        scenario.close()
