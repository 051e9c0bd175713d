"""``diffs.testing.wait_for`` with a real worker: it flushes this process's publisher, then
waits for the worker's writes."""

from __future__ import annotations

import pytest

from diffs.testing import wait_for
from tests.testapp.models import Question


@pytest.mark.django_db(transaction=True)
def test_wait_for_flushes_the_publisher_and_returns_the_diffs_the_worker_wrote(
        worker, settings):
    # An hour's publish interval: without wait_for's flush nothing would reach the worker.
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS, "publish": "background",
                               "publish_interval": 3600, "publish_batch_size": 10_000}
    question = Question.objects.create(question_text="What is life?")
    question.question_text = "What is Python?"
    question.save()

    created, changed = wait_for(question, 2)

    assert created.created and created.new["question_text"] == "What is life?"
    assert (changed.old, changed.new) == ({"question_text": "What is life?"},
                                          {"question_text": "What is Python?"})
    assert len(question.diffs) == 2
