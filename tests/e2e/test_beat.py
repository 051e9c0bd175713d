"""A real ``celery beat`` (a subprocess) and a real worker prune on schedule.

Beat fires the prune task every second (``prune_interval`` = 1); the session's in-thread
worker runs it. Expired diffs vanish from object and parent keys while fresh ones stay, and a
diff that expires later vanishes at a later beat. Runs with Celery's own scheduler and with
django-celery-beat's ``DatabaseScheduler``.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from diffs.storage.keys import object_key
from tests.conftest import wait_until
from tests.integration.test_pruning import CHOICE, HOUR, NOTE, QUESTION, ids, put
from tests.optional import needs_celery_beat

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Beat:
    """A running beat: its log file and, under django-celery-beat, its database file."""

    log: Path
    database: Path | None

    def periodic_tasks(self) -> list[tuple[str, str, str, int, str]]:
        """Return django-celery-beat's rows: name, task, queue, interval and its unit."""
        assert self.database is not None
        with closing(sqlite3.connect(self.database)) as db:  # "with connect()" leaves it open
            return db.execute(
                "SELECT t.name, t.task, t.queue, i.every, i.period"
                " FROM django_celery_beat_periodictask t"
                " JOIN django_celery_beat_intervalschedule i ON t.interval_id = i.id"
            ).fetchall()

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _beat_env(redis_server: dict[str, Any], database: Path | None) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.beat_settings",
        "DIFFS_TEST_BROKER_URL": redis_server["broker_url"],
        "PYTHONPATH": str(ROOT),
    }
    env.pop("DIFFS_TEST_DB", None)
    if database is not None:
        env["DIFFS_TEST_BEAT_DB"] = str(database)
    return env


@pytest.fixture(params=["celery", pytest.param("django_celery_beat", marks=needs_celery_beat)])
def beat(request: Any, redis_server: dict[str, Any], tmp_path: Path) -> Iterator[Beat]:
    """Run ``celery beat`` with the given scheduler until the test ends."""
    log = tmp_path / "beat.log"
    database = None
    command = [sys.executable, "-m", "celery", "-A", "tests.beat_app", "beat",
               "--loglevel", "INFO", "--logfile", str(log)]
    if request.param == "celery":
        env = _beat_env(redis_server, None)
        command += ["--schedule", str(tmp_path / "beat-schedule")]
    else:
        database = tmp_path / "beat.sqlite3"
        env = _beat_env(redis_server, database)
        subprocess.run([sys.executable, "-m", "django", "migrate", "django_celery_beat", "-v0"],
                       env=env, cwd=ROOT, check=True, timeout=120)
        command += ["--scheduler", "django_celery_beat.schedulers:DatabaseScheduler"]
    process = subprocess.Popen(command, env=env, cwd=ROOT)
    try:
        yield Beat(log, database)
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_beat_prunes_expired_diffs_and_keeps_fresh_ones(worker, storage, beat):
    put(CHOICE, 1, 2 * HOUR, parents=((QUESTION, 1),))
    put(NOTE, 1, 120)  # Note's own max age is 60 seconds
    fresh_question = put(QUESTION, 1, 60)
    fresh_choice = put(CHOICE, 1, 30, parents=((QUESTION, 1),))
    fresh_note = put(NOTE, 1, 5)

    wait_until(lambda: ids(storage, CHOICE, 1) == [fresh_choice], timeout=60)
    wait_until(lambda: ids(storage, NOTE, 1) == [fresh_note])
    assert ids(storage, QUESTION, 1) == [fresh_question, fresh_choice]

    put(CHOICE, 2, 2 * HOUR, parents=((QUESTION, 1),))  # expired after the first prunes ran
    wait_until(lambda: not storage.exists(object_key("diffs", "testapp.choice", 2)))
    assert ids(storage, QUESTION, 1) == [fresh_question, fresh_choice]
    assert "Sending due task diffs.prune (diffs.prune)" in beat.log.read_text()
    if beat.database is not None:
        assert beat.periodic_tasks() == [
            ("diffs.prune", "diffs.prune", "diffs", 1, "seconds"),
            ("diffs.resend", "diffs.resend", "diffs", 30, "seconds"),
        ]
