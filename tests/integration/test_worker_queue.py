"""A worker that does not consume the diffs queue says so when it starts (issue 22, item 6).

``celery -A proj worker`` without ``-Q diffs`` consumes only ``celery``: diffs would pile up in
the broker with nothing in any log. The start-up check reads the queues of the worker's own
consumer (here: the session's real worker, which consumes ``diffs``).
"""

from __future__ import annotations

import pytest
from celery.signals import worker_ready

from diffs_tasks.signals import check_queue, consumed_queues


def test_the_check_runs_when_a_worker_starts():
    assert check_queue in [receiver() for _, receiver in worker_ready.receivers]


def test_a_worker_consuming_the_diffs_queue_says_nothing(celery_worker_session, diffs_log):
    consumer = celery_worker_session.consumer
    assert consumed_queues(consumer) == {"diffs"}
    check_queue(sender=consumer)
    assert diffs_log == []


def test_a_worker_not_consuming_the_diffs_queue_warns_with_the_fix(
    celery_worker_session, diffs_log, settings
):
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS, "queue": "diffs-elsewhere"}
    check_queue(sender=celery_worker_session.consumer)
    (record,) = diffs_log
    message = record.getMessage()
    assert "consumes diffs, not 'diffs-elsewhere'" in message
    assert "-Q diffs-elsewhere" in message


@pytest.mark.parametrize("sender", [None, object()])
def test_a_sender_that_is_no_consumer_is_left_alone(sender, diffs_log):
    check_queue(sender=sender)
    assert diffs_log == []
