"""Squashing: with the ``squash`` setting, one transaction's saves of an object are one diff."""

from __future__ import annotations

import pytest
from django.db import transaction

from diffs.recording import tracking
from tests.integration.conftest import stored
from tests.testapp.models import Choice, Question

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def squashing(settings, delivery):
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS, "squash": True}
    return delivery


def four_saves(question: Question) -> None:
    """Four saves of one object in one transaction, as a busy request makes them."""
    with transaction.atomic():
        for text in ("b", "c", "d", "e"):
            question.question_text = text
            question.save()


def test_four_saves_in_a_transaction_are_one_diff_from_the_first_to_the_last_value(squashing):
    question = Question.objects.create(question_text="a")
    four_saves(question)
    _, changed = stored(question.diffs, 2)
    assert (changed.old, changed.new) == ({"question_text": "a"}, {"question_text": "e"})
    assert squashing.sizes == [1, 1]


def test_without_the_setting_each_save_is_a_diff(delivery):
    question = Question.objects.create(question_text="a")
    four_saves(question)
    stored(question.diffs, 5)


def test_saves_in_autocommit_are_a_diff_each(squashing):
    question = Question.objects.create(question_text="a")
    question.question_text = "b"
    question.save()
    question.question_text = "c"
    question.save()
    stored(question.diffs, 3)


def test_saves_that_end_where_they_began_record_nothing(squashing):
    question = Question.objects.create(question_text="a")
    with transaction.atomic():
        question.question_text = "b"
        question.save()
        question.question_text = "a"
        question.save()
    stored(question.diffs, 1)
    assert squashing.sizes == [1]


def test_a_create_then_changes_is_one_created_diff_with_the_last_values(squashing):
    with transaction.atomic():
        question = Question.objects.create(question_text="a")
        question.question_text = "b"
        question.save()
    [created] = stored(question.diffs, 1)
    assert created.created
    assert created.new["question_text"] == "b"


def test_a_create_then_a_delete_records_the_created_and_the_deleted_diffs(squashing):
    with transaction.atomic():
        question = Question.objects.create(question_text="a")
        pk = question.pk
        question.question_text = "b"
        question.save()
        question.delete()
    created, deleted = stored(Question.diffs.get_by_object_id(pk), 2)
    assert (created.created, created.new["question_text"]) == (True, "b")
    assert (deleted.deleted, deleted.old["question_text"]) == (True, "b")


def test_a_save_in_a_rolled_back_savepoint_is_left_out_of_the_squashed_diff(squashing):
    question = Question.objects.create(question_text="a")
    with transaction.atomic():
        question.question_text = "b"
        question.save()
        try:
            with transaction.atomic():
                question.question_text = "c"
                question.save()
                raise RuntimeError("roll the savepoint back")
        except RuntimeError:
            pass
        assert tracking.saved_state(question)["question_text"] == "b"
        question.question_text = "d"
        question.save()
    _, changed = stored(question.diffs, 2)
    assert (changed.old, changed.new) == ({"question_text": "a"}, {"question_text": "d"})


def test_other_objects_keep_their_own_diffs(squashing):
    question = Question.objects.create(question_text="q")
    with transaction.atomic():
        choices = [Choice.objects.create(question=question, choice_text=str(n)) for n in range(2)]
        for choice in choices:
            choice.votes = 1
            choice.save()
    for choice in choices:
        [created] = stored(choice.diffs, 1)
        assert (created.created, created.new["votes"]) == (True, 1)


@pytest.mark.usefixtures("outbox")
def test_in_outbox_durability_each_save_keeps_its_diff(squashing):
    question = Question.objects.create(question_text="a")
    four_saves(question)
    stored(question.diffs, 5)
