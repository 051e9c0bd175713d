"""``manage.py diffs_status`` unhealthy: each part that fails makes it fail, saying why.

No worker runs in this tier, so the ``workers`` part fails in every test here (the healthy run
is in ``tests/e2e/test_diffs_status.py``); each test checks the part it breaks. A test about
the workers asks about a queue nobody consumes: the session's in-process worker, which an e2e
test of the same process may have started, consumes ``diffs``.
"""

from __future__ import annotations

import re
import time

import pytest
from celery import Celery

import diffs
from diffs.storage import health
from diffs.storage.connection import get_redis
from diffs.storage.keys import last_write_key
from diffs.storage.pruning import PruneResult
from diffs.transport import pending
from tests import payloads
from tests.celery_app import app as celery_app
from tests.status import run_status
from tests.testapp.models import Question
from tests.topology import free_port

pytestmark = pytest.mark.django_db(transaction=True)

UNCONSUMED = "diffs-unconsumed"


@pytest.fixture
def unconsumed(settings):
    """The diffs queue named after one no worker consumes."""
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS, "queue": UNCONSUMED}


@pytest.mark.usefixtures("unconsumed")
def test_no_worker_on_the_diffs_queue_is_unhealthy(storage):
    found, error = run_status("--timeout", "0.5")
    workers = found["checks"]["workers"]
    assert not workers["ok"] and workers["details"]["consuming"] == []
    assert error is not None and f"workers: no worker consumes '{UNCONSUMED}'" in error
    assert found["healthy"] is False


def test_the_storage_stopped_is_unhealthy(servers, settings):
    stopped = servers("stopped", persistent=False)
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS,
                               "redis": {"url": f"redis://127.0.0.1:{stopped.port}/0"}}
    stopped.stop()
    found, error = run_status("--timeout", "0.5")
    assert found["checks"]["storage"]["ok"] is False
    assert "not reachable" in found["checks"]["storage"]["verdict"]
    assert error is not None and "storage: not reachable" in error


def test_kept_rows_over_the_threshold_are_unhealthy(storage):
    pending.spool([payloads.diff(pk=n) for n in range(1, 4)])
    found, error = run_status("--timeout", "0.5", "--max-kept", "2")
    kept = found["checks"]["kept"]
    assert (kept["ok"], kept["details"]["rows"]) == (False, 3)
    assert error is not None and "kept: 3 diffs wait in the database (over 2)" in error
    found, _ = run_status("--timeout", "0.5", "--max-kept", "3", "--max-kept-age", "3600")
    assert found["checks"]["kept"]["ok"] is True


def test_an_overdue_prune_is_unhealthy(storage, delivery):
    Question.objects.create(question_text="stored")
    health.note_prune(storage, "diffs", PruneResult(members_removed=5, seconds=0.1),
                      now=time.time() - 3600)
    found, error = run_status("--timeout", "0.5", "--max-prune-age", "600")
    prune = found["checks"]["last_prune"]
    assert prune["ok"] is False and prune["details"]["members_removed"] == 5
    assert error is not None and "last_prune: overdue" in error
    found, _ = run_status("--timeout", "0.5", "--max-prune-age", "7200")
    assert found["checks"]["last_prune"]["ok"] is True


def test_diffs_stored_but_never_pruned_is_unhealthy(storage, delivery):
    Question.objects.create(question_text="stored")
    found, _ = run_status("--timeout", "0.5")
    assert found["checks"]["last_prune"]["ok"] is False
    assert found["checks"]["storage"]["details"]["keys_per_model"] == {"testapp.question": 1}


@pytest.mark.usefixtures("no_outage", "storage")
def test_messages_waiting_in_the_diffs_queue_are_counted(settings, broker):
    queue = "diffs-status-nobody"
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS, "queue": queue}
    broker.delete(queue)
    try:
        for n in range(3):
            Question.objects.create(question_text=f"waits {n}")
        assert diffs.flush(timeout=10)
        found, error = run_status("--timeout", "0.5", "--max-queue", "0")
        assert found["checks"]["broker"]["details"]["messages"] >= 1
        assert error is not None and "broker: " in error and f"{queue!r}" in error
    finally:
        broker.delete(queue)


@pytest.mark.usefixtures("unconsumed")
def test_the_text_output_has_one_line_per_part(storage, capsys):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match=r"^unhealthy: .*workers"):
        call_command("diffs_status", "--timeout", "0.5")
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[1] for line in lines] == [
        "storage", "broker", "workers", "kept", "last_write", "last_prune"]
    assert lines[2].startswith("FAIL workers")


def test_an_empty_diffs_queue_is_zero_messages_not_an_error(settings, broker):
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS, "queue": "diffs-status-empty"}
    broker.delete("diffs-status-empty")  # a Redis broker's empty queue is no key at all
    found, _ = run_status("--timeout", "0.5")
    assert found["checks"]["broker"] == {
        "name": "broker", "ok": True, "verdict": "0 messages wait in 'diffs-status-empty'",
        "details": {"queue": "diffs-status-empty", "messages": 0}}


def test_a_broker_that_does_not_answer_is_unhealthy(storage):
    dead = Celery("dead-broker", broker=f"redis://127.0.0.1:{free_port()}/1",
                  set_as_current=True)  # the test project's app is current again after the test
    try:
        found, error = run_status("--timeout", "0.5")
    finally:
        celery_app.set_current()
        dead.close()
    assert found["checks"]["broker"]["ok"] is False
    assert error is not None and "broker: not reachable" in error


def test_a_storage_near_maxmemory_or_evicting_is_unhealthy(servers, settings):
    own = servers("full", persistent=False, maxmemory="1gb", maxmemory_policy="allkeys-lru")
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS,
                               "redis": {"url": f"redis://127.0.0.1:{own.port}/0"}}
    found, error = run_status("--timeout", "0.5", "--max-memory-ratio", "0.0001")
    storage = found["checks"]["storage"]
    assert storage["details"]["maxmemory"] == 1024**3
    assert storage["details"]["maxmemory_policy"] == ["allkeys-lru"]
    assert "evicts diffs silently" in storage["verdict"]
    assert "of maxmemory (over 0%)" in storage["verdict"]
    assert error is not None and "storage: maxmemory-policy allkeys-lru" in error


def test_no_write_for_longer_than_allowed_is_unhealthy(storage):
    storage.set(last_write_key("diffs"), repr(time.time() - 900))  # 900 s and a little
    found, error = run_status("--timeout", "0.5", "--max-write-age", "600")
    assert found["checks"]["last_write"]["ok"] is False
    assert error is not None and re.search(r"last_write: 9\d\ds ago \(over 600s\)", error)
    found, _ = run_status("--timeout", "0.5", "--max-write-age", "3600")
    assert found["checks"]["last_write"]["ok"] is True
    found, _ = run_status("--timeout", "0.5")  # not judged by default
    assert found["checks"]["last_write"]["ok"] is True


def test_writes_are_noted_at_most_once_a_second_per_process(storage):
    client = get_redis()
    health.note_write(client, "diffs")  # (or throttled: an earlier test's write noted it)
    assert health.note_write(client, "diffs") is False
    storage.delete(last_write_key("diffs"))
    assert health.last_write(storage, "diffs") is None
