"""The spool (default) and outbox durability modes, with the real worker and both databases."""

import logging

import pytest
from django.db import transaction

from diffs.models import PendingDiff
from diffs.transport import runtime
from tests.conftest import wait_for_diffs, wait_until
from tests.payloads import batch, diff
from tests.testapp.models import Question

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("worker")]


def question_diff(pk, text):
    return diff(pk, new={"question_text": text}, old={})


@pytest.fixture
def outbox(settings):
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS, "durability": "outbox"}


@pytest.fixture
def no_outage():
    """Run the test on a runtime of its own: no outage remembered from an earlier test."""
    with runtime.replaced() as fresh:
        yield fresh.sender


def test_refused_batch_is_spooled_and_resent_and_the_worker_clears_it(no_outage, diffs_log):
    question = Question.objects.create(question_text="q")
    wait_for_diffs(question.diffs, 1)
    refused = [question_diff(question.pk, "first"), question_diff(question.pk, "second")]
    no_outage.failed(batch(*refused[:1]), ConnectionError("broker down"))
    no_outage.failed(batch(*refused[1:]), ConnectionError("broker down"))
    assert PendingDiff.objects.filter(sent_at__isnull=True).count() == 2
    errors = [r for r in diffs_log if r.levelno >= logging.ERROR]
    assert len(errors) == 1  # once per outage, not per batch
    assert "refused" in errors[0].getMessage()

    question.question_text = "after the outage"
    question.save()  # the first successful publish sends the spool again
    diffs = wait_for_diffs(question.diffs, 4)
    assert [d.new["question_text"] for d in diffs[1:]] == ["first", "second", "after the outage"]
    wait_until(lambda: not PendingDiff.objects.exists())
    assert any("works again" in r.getMessage() for r in diffs_log if r.levelno == logging.WARNING)


def test_resend_task_sends_spooled_diffs(no_outage):
    from diffs_tasks.tasks import resend_pending

    question = Question.objects.create(question_text="q")
    wait_for_diffs(question.diffs, 1)
    no_outage.failed(batch(question_diff(question.pk, "kept")), ConnectionError("down"))
    assert resend_pending() == 1
    wait_for_diffs(question.diffs, 2)
    wait_until(lambda: not PendingDiff.objects.exists())


def test_durability_none_drops_refused_batches_with_an_error(settings, no_outage, diffs_log):
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS, "durability": "none"}
    no_outage.failed(batch(question_diff(1, "gone")), ConnectionError("x"))
    assert not PendingDiff.objects.exists()
    assert any("LOST 1 diff" in r.getMessage() for r in diffs_log)


@pytest.mark.usefixtures("outbox")
def test_outbox_row_is_written_with_the_change_and_deleted_once_stored():
    with transaction.atomic():
        question = Question.objects.create(question_text="q")
        question.question_text = "q2"
        question.save()
        assert PendingDiff.objects.count() == 2  # in the same transaction
    wait_for_diffs(question.diffs, 2)
    wait_until(lambda: not PendingDiff.objects.exists())


@pytest.mark.usefixtures("outbox")
def test_outbox_rows_of_a_rolled_back_transaction_vanish_with_it():
    with pytest.raises(RuntimeError), transaction.atomic():
        Question.objects.create(question_text="never")
        raise RuntimeError
    assert not PendingDiff.objects.exists()


@pytest.mark.usefixtures("outbox")
def test_outbox_rows_whose_message_was_lost_are_sent_again_after_the_threshold(settings):
    # A queue no worker reads stands for a message lost inside the broker or a dead worker.
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS, "queue": "lost",
                               "outbox_resend_after": 1}
    question = Question.objects.create(question_text="q")
    assert len(question.diffs) == 0
    assert PendingDiff.objects.count() == 1
    sender = runtime.current().sender
    assert sender.resend(100) == 0  # not yet: its message may still be on its way
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS, "queue": "diffs"}
    wait_until(lambda: sender.resend(100) == 1, timeout=30)  # once outbox_resend_after passed
    wait_for_diffs(question.diffs, 1)
    wait_until(lambda: not PendingDiff.objects.exists())
