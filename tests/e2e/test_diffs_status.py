"""``manage.py diffs_status`` healthy: a real worker consumes the diffs queue, diffs are stored
and pruned; every part says ok and the command exits 0."""

from __future__ import annotations

import pytest

from diffs_tasks.tasks import prune_diffs
from tests.conftest import wait_for_diffs
from tests.status import run_status
from tests.testapp.models import Question

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.usefixtures("worker")
def test_a_running_pipeline_is_healthy():
    question = Question.objects.create(question_text="healthy")
    wait_for_diffs(question.diffs, 1)
    prune_diffs.apply()
    found, error = run_status("--timeout", "5")
    assert error is None, found
    checks = found["checks"]
    assert found["healthy"] is True
    assert checks["workers"]["details"]["consuming"]
    assert checks["storage"]["details"]["keys_per_model"] == {"testapp.question": 1}
    assert checks["broker"]["details"]["queue"] == "diffs"
