"""The background publisher: many commits per task message, nothing dropped, with a real broker
and worker. Its settings checks are unit tests; processes that exit, fork or are killed with
diffs in their queue are fault scenarios (``tests/faults/test_process_exits.py``).
"""

from __future__ import annotations

import base64
import json
import socket
import uuid

import pytest
from celery import Celery
from django.db import transaction

import diffs
from diffs import wire
from diffs.models import PendingDiff
from diffs.transport import pending, runtime
from tests import payloads
from tests.celery_app import app as celery_app
from tests.conftest import wait_for_diffs, wait_until
from tests.testapp.models import Question

#: Long enough that only a full batch, a full queue or flush() sends anything during a test.
NEVER = 600


@pytest.fixture
def slow_publisher(settings):
    """Publish to a queue no worker reads, only when flushed or a batch of 1,000 is full."""
    queue = f"diffs-background-{uuid.uuid4().hex[:8]}"
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS, "queue": queue,
                               "publish_interval": NEVER, "publish_batch_size": 1000}
    return queue


@pytest.fixture
def queued(broker, slow_publisher):
    """Return a function listing the batches waiting in the test's queue, oldest first."""

    def batches() -> list[dict]:
        found = []
        for raw in reversed(broker.lrange(slow_publisher, 0, -1)):
            args, _, _ = json.loads(base64.b64decode(json.loads(raw)["body"]))
            found.append(json.loads(args[0]))
        return found

    yield batches
    assert diffs.flush(timeout=10)
    broker.delete(slow_publisher, f"_kombu.binding.{slow_publisher}")


def grown(before: dict[str, int]) -> dict[str, int]:
    """Return how much each counter of ``diffs.stats()`` grew since ``before``."""
    now = diffs.stats()
    return {name: now[name] - before[name] for name in now if name not in
            ("queue_high_water", "queue_length")}


def questions(count: int, prefix: str = "q") -> list[Question]:
    return [Question.objects.create(question_text=f"{prefix}{i}") for i in range(count)]


# -- in process, both databases -----------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_many_commits_go_as_one_message_in_commit_order(queued):
    before = diffs.stats()
    made = questions(30)  # 30 autocommit transactions
    with transaction.atomic():
        for question in made[:5]:
            question.question_text += "!"
            question.save()
    assert diffs.stats()["queue_length"] == 35
    assert queued() == []  # nothing is sent before the interval, a full batch or a flush
    assert diffs.flush(timeout=10)
    (sent,) = queued()
    texts = [diff["f"]["question_text"] for diff in wire.batch_diffs(sent)]
    assert texts == [f"q{i}" for i in range(30)] + [f"q{i}!" for i in range(5)]
    assert grown(before) == {"diffs_recorded": 35, "diffs_published": 35, "messages_sent": 1,
                             "backpressure_publishes": 0, "diffs_spooled": 0,
                             "diffs_resent": 0}
    assert diffs.stats()["queue_length"] == 0
    assert diffs.stats()["queue_high_water"] >= 35


@pytest.mark.django_db(transaction=True)
def test_a_full_batch_is_sent_without_waiting_for_the_interval(settings, queued):
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS, "publish_batch_size": 10}
    questions(25)
    wait_until(lambda: len(queued()) == 2)  # two full batches went; 5 diffs wait
    assert [len(wire.batch_diffs(batch)) for batch in queued()] == [10, 10]
    assert diffs.flush(timeout=10)
    assert [len(wire.batch_diffs(batch)) for batch in queued()] == [10, 10, 5]


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("worker")
def test_the_interval_sends_what_waits_and_the_worker_stores_it(settings):
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS, "publish_interval": 0.05}
    made = questions(20)
    for question in made:  # no flush: only the interval sends
        wait_for_diffs(question.diffs, 1)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("worker")
def test_a_full_queue_makes_the_commit_publish_itself_and_loses_nothing(settings):
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS, "publish_queue_size": 3,
                               "publish_interval": NEVER, "publish_batch_size": 1000}
    before = diffs.stats()
    made = questions(10)
    assert diffs.stats()["queue_length"] == 3  # the first three wait; seven published at once
    assert grown(before)["backpressure_publishes"] == 7
    assert diffs.flush(timeout=10)
    assert grown(before)["diffs_published"] == 10
    for question in made:
        assert len(wait_for_diffs(question.diffs, 1)) == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("worker")
def test_a_refused_message_is_spooled_by_the_thread_then_resent(settings, diffs_log):
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS, "raise_errors": False,
                               "publish_timeout": 0.3}
    dead = Celery("dead", broker=f"redis://127.0.0.1:{free_port()}/0", set_as_current=False)
    with runtime.replaced() as fresh:  # no outage remembered from an earlier test
        dead.set_current()
        try:
            made = questions(12)
            assert diffs.flush(timeout=10)
        finally:
            celery_app.set_current()
        assert diffs.stats()["diffs_spooled"] == 12
        assert PendingDiff.objects.filter(sent_at__isnull=True).count() == 12
        assert any("refused a batch" in record.getMessage() for record in diffs_log)
        assert fresh.sender.resend(100) == 12
    for question in made:
        wait_for_diffs(question.diffs, 1)
    wait_until(lambda: not PendingDiff.objects.exists())


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("worker")
def test_outbox_rows_of_many_commits_stay_until_the_worker_stored_them(settings):
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS, "durability": "outbox",
                               "publish_interval": NEVER, "publish_batch_size": 1000}
    before = diffs.stats()
    made = questions(15)
    assert PendingDiff.objects.count() == 15  # written with each change
    assert diffs.flush(timeout=10)
    assert grown(before)["messages_sent"] == 1  # one message names the rows of 15 commits
    for question in made:
        wait_for_diffs(question.diffs, 1)
    wait_until(lambda: not PendingDiff.objects.exists())


@pytest.mark.django_db(transaction=True, databases=["default", "other"])
def test_outbox_rows_of_two_databases_go_in_a_message_each(settings, queued):
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS, "durability": "outbox"}
    Question.objects.create(question_text="default")
    Question.objects.using("other").create(question_text="other")
    Question.objects.create(question_text="default again")
    assert diffs.flush(timeout=10)
    sent = {wire.pending_database(wire.batch_pending(batch)):
            [d["f"]["question_text"] for d in wire.batch_diffs(batch)] for batch in queued()}
    assert sent == {"default": ["default", "default again"], "other": ["other"]}


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("storage")
def test_eager_mode_publishes_synchronously(eager, slow_publisher):
    question = Question.objects.create(question_text="eager")
    assert len(question.diffs) == 1  # stored before save() returned: no thread, no flush
    assert diffs.stats()["queue_length"] == 0


@pytest.mark.django_db(transaction=True)
def test_on_commit_mode_sends_at_each_commit_and_flush_returns_at_once(settings, queued):
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS, "publish": "on_commit"}
    before = diffs.stats()
    questions(3)
    assert len(queued()) == 3
    assert diffs.flush(timeout=0)
    assert grown(before)["messages_sent"] == 3


@pytest.mark.django_db
def test_a_refused_batch_mixing_outbox_rows_and_rowless_diffs_keeps_both(settings):
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS, "raise_errors": False}
    with_row, rowless = payloads.diff(1), payloads.diff(2)
    row = pending.add_to_outbox(with_row, "default")
    with runtime.replaced() as fresh:
        fresh.sender.failed(payloads.batch(with_row, rowless, pending=wire.pending_rows(
            "default", [(row, wire.diff_id(with_row))])), ConnectionError("down"))
    kept = dict(PendingDiff.objects.values_list("diff_id", "sent_at"))
    assert kept == {wire.diff_id(with_row): None, wire.diff_id(rowless): None}  # both due now


@pytest.mark.django_db(transaction=True)
def test_what_cannot_be_sent_by_the_exit_deadline_is_spooled(settings, diffs_log):
    # A broker that takes the connection and never answers: each message waits publish_timeout.
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS, "raise_errors": False,
                               "publish_timeout": 0.5, "publish_batch_size": 10,
                               "publish_interval": NEVER}
    made = [payloads.diff(number) for number in range(30)]
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        silent = Celery("silent", broker=f"redis://127.0.0.1:{listener.getsockname()[1]}/0",
                        set_as_current=False)
        publisher = runtime.Runtime().publisher  # not the process's
        for diff in made:
            assert publisher.submit([diff], None, silent, "diffs-silent")
        publisher.close(0.5)  # what an exit does
        assert publisher.submit([payloads.diff()], None, silent, "diffs-silent") is False
        wait_until(lambda: PendingDiff.objects.count() == 30)  # and the message on its way
    assert set(PendingDiff.objects.values_list("diff_id", flat=True)) == {
        wire.diff_id(diff) for diff in made}
    assert any("exited before its diffs were sent" in r.getMessage() for r in diffs_log)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
