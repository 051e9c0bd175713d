"""``diffs.testing.wait_for`` without a worker: what it accepts, diffs written in process, and
the error when nothing writes them (the wait through a real worker: tests/e2e/test_wait_for.py).
"""

from __future__ import annotations

import uuid

import pytest

import diffs
from diffs import InvalidOption, NotRegistered, UnsavedInstance
from diffs.testing import isolated, wait_for
from tests.testapp.models import Plain, Question


@pytest.mark.parametrize("count", [0, -1, True, 1.5, "1", None])
def test_a_count_that_is_not_a_positive_int_is_refused(count):
    with pytest.raises(InvalidOption, match=r"wait_for\(count=.*a positive int"):
        wait_for(Question(pk=1), count)


@pytest.mark.parametrize("timeout", [0, -1, True, "1", None, float("nan")])
def test_a_timeout_that_is_not_a_positive_number_is_refused(timeout):
    with pytest.raises(InvalidOption, match=r"wait_for\(timeout=.*a positive number"):
        wait_for(Question(pk=1), timeout=timeout)


def test_an_unsaved_instance_is_refused():
    with pytest.raises(UnsavedInstance, match="save it before reading its diffs"):
        wait_for(Question(question_text="not saved"))


def test_an_instance_of_an_unregistered_model_is_refused():
    with pytest.raises(NotRegistered):
        wait_for(Plain(pk=1))


def test_what_is_neither_an_instance_nor_a_diff_set_is_refused():
    with pytest.raises(InvalidOption, match="not str"):
        wait_for("polls.question")


@pytest.mark.django_db
def test_diffs_written_in_process_are_returned_at_once(storage):
    with isolated():
        question = Question.objects.create(question_text="What's new?")
        question.question_text = "What is new?"
        question.save()
        created, changed = wait_for(question, 2)
        assert created.created and changed.new == {"question_text": "What is new?"}


@pytest.mark.django_db
def test_a_diff_set_is_waited_for_too_as_of_a_deleted_object(storage):
    with isolated():
        question = Question.objects.create(question_text="gone")
        pk = question.pk
        question.delete()
        assert [diff.deleted for diff in wait_for(Question.diffs.get_by_object_id(pk), 2)] == [
            False, True]


@pytest.mark.django_db(transaction=True)
def test_diffs_no_worker_writes_time_out_with_a_message_that_names_the_queue(
        storage, broker, settings):
    queue = f"diffs-wait-for-{uuid.uuid4().hex[:8]}"  # a queue no worker reads
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS, "queue": queue}
    try:
        question = Question.objects.create(question_text="Anyone there?")
        diffs.flush()  # handed to the broker before the short wait starts, however busy
        with pytest.raises(TimeoutError) as raised:
            wait_for(question, timeout=0.2)
        assert str(raised.value) == (
            f"testapp.question pk={question.pk} holds 0 of 1 diffs after 0.2 s: is a Celery "
            f"worker consuming the {queue!r} queue (celery -A proj worker -Q {queue},celery), "
            "and writing to the Redis this process reads?"
        )
        assert broker.llen(queue) == 1  # handed to the broker: only the worker is missing
    finally:
        broker.delete(queue, f"_kombu.binding.{queue}")
