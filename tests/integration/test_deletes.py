"""Deletes are recorded end to end: one diff per object, with its last values, rolled up."""

import pytest

from diffs import ModelChange
from tests.integration.conftest import stored
from tests.testapp.models import Choice, HistoryPoll, Question

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("delivery")]


def test_delete_records_a_deleted_diff_with_the_last_values():
    question = Question.objects.create(question_text="bye")
    pk = question.pk
    question = Question.objects.get(pk=pk)
    question.delete()
    created, deleted = stored(Question.diffs.get_by_object_id(pk), 2)
    assert (created.created, created.deleted) == (True, False)
    assert (deleted.created, deleted.deleted) == (False, True)
    assert deleted.new == {}
    assert deleted.old["question_text"] == "bye"
    assert deleted.old == created.new


def test_delete_is_rolled_up_to_the_parent():
    question = Question.objects.create(question_text="q")
    choice = Choice.objects.create(question=question, choice_text="c")
    choice_pk = choice.pk
    choice.delete()
    *_, rolled_up = stored(question.diffs, 3)
    assert (rolled_up.model, rolled_up.pk, rolled_up.deleted) == ("testapp.choice", choice_pk, True)
    assert rolled_up.old == {"question": question.pk, "choice_text": "c", "votes": 0}


def test_cascade_delete_records_every_object_it_removes():
    question = Question.objects.create(question_text="q")
    choices = [Choice.objects.create(question=question, choice_text=f"c{i}") for i in range(3)]
    question.delete()
    for choice in choices:
        _, deleted = stored(Choice.diffs.get_by_object_id(choice.pk), 2)
        assert deleted.deleted


def test_queryset_delete_records_one_diff_per_object():
    polls = [HistoryPoll.objects.create(name=f"p{i}") for i in range(5)]
    deleted, _ = HistoryPoll.objects.filter(name__in=["p1", "p2", "p3"]).delete()
    assert deleted == 3
    for poll in polls:
        diffs = stored(poll.diffs, 2 if poll.name in ("p1", "p2", "p3") else 1)
        assert [d.deleted for d in diffs] == [False, True][: len(diffs)]
    assert polls[1].diffs[-1].delta.changes == [
        ModelChange("name", "p1", None), ModelChange("question", "", None)
    ]
