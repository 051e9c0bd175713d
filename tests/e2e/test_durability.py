"""Spooled and outbox diffs sent again through the broker and stored by a real worker."""

import logging

import pytest

from diffs.models import PendingDiff
from diffs.transport import runtime
from tests.conftest import wait_for_diffs, wait_until
from tests.payloads import batch, diff
from tests.testapp.models import Question

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("worker")]


def question_diff(pk, text):
    return diff(pk, new={"question_text": text}, old={})


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
