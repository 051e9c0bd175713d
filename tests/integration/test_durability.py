"""The durability modes in one process: outbox rows written with the change and deleted once
stored, ``none`` dropping what the broker refused. Spooled diffs sent again through the broker
are in ``tests/e2e/test_durability.py``."""

import pytest
from django.db import transaction

from diffs.models import PendingDiff
from tests.integration.conftest import stored
from tests.payloads import batch, diff
from tests.testapp.models import Question

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("delivery")]


def question_diff(pk, text):
    return diff(pk, new={"question_text": text}, old={})


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
    stored(question.diffs, 2)
    assert not PendingDiff.objects.exists()  # confirmed by the worker's code once stored


@pytest.mark.usefixtures("outbox")
def test_outbox_rows_of_a_rolled_back_transaction_vanish_with_it():
    with pytest.raises(RuntimeError), transaction.atomic():
        Question.objects.create(question_text="never")
        raise RuntimeError
    assert not PendingDiff.objects.exists()
