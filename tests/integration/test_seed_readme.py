"""The seed README's examples, as written there, stored in a real Redis by the worker's code."""

import pytest

from tests.integration.conftest import stored
from tests.testapp.models import Choice, CustomQuestion, Question

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("delivery")]


def test_quick_example():
    question = Question.objects.create(question_text="What is life?")

    question.question_text = "What is python?"
    question.save()

    created, changed = stored(question.diffs, 2)
    assert created.created is True
    assert changed.created is False
    assert changed.data == {
        "model": "testapp.question",
        "pk": question.pk,
        "fields": {"question_text": "What is python?"},
    }
    assert isinstance(changed.timestamp, float)
    assert created.timestamp < changed.timestamp
    assert Question.diffs.get_by_object_id(question.id)[-1] == changed
    for diff in question.diffs:
        assert diff.data["pk"] == question.pk


def test_custom_serialization():
    question = CustomQuestion.objects.create(question_text="What will happen?")

    (diff,) = stored(CustomQuestion.diffs.get_by_object_id(question.id), 1)
    assert CustomQuestion.diffs.get_by_object_id(question.id)[-1].data == {
        "fields": ["question_text", "pub_date"]
    }
    assert diff.data == {"fields": ["question_text", "pub_date"]}


def test_related_models():
    question = Question.objects.create(question_text="What will happen?")
    choice = Choice.objects.create(choice_text="Nothing", question=question)

    choice.choice_text = "Something"
    choice.save()

    # returns diffs for question and its choices
    stored(question.diffs, 3)
    assert len(question.diffs) == 3
    models = [d.model for d in question.diffs]
    assert models == ["testapp.question", "testapp.choice", "testapp.choice"]
    assert question.diffs[-1].data["fields"] == {"choice_text": "Something"}
    assert len(choice.diffs) == 2
