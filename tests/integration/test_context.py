"""The change context read at the save and carried by every kind of diff into the storage;
nothing is recorded inside ``disabled()``. The context's own rules are unit tests."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

import diffs
from tests.integration.conftest import stored
from tests.testapp.models import Category, HistoryPoll, Question

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("delivery")]


def test_creates_changes_and_deletes_carry_the_context():
    with diffs.context(actor=3, reason="edit"):
        question = Question.objects.create(question_text="q")
        question.question_text = "r"
        question.save()
    pk = question.pk
    with diffs.context(actor=4):
        question.delete()
    created, changed, deleted = stored(Question.diffs.get_by_object_id(pk), 3)
    assert created.context == changed.context == {"actor": 3, "reason": "edit"}
    assert created.actor == 3
    assert deleted.deleted and deleted.context == {"actor": 4}


def test_a_diff_without_a_context_reads_as_empty():
    question = Question.objects.create(question_text="q")
    (diff,) = stored(question.diffs, 1)
    assert diff.context == {} and diff.actor is None


def test_a_model_instance_is_stored_as_its_pk_read_at_the_save():
    user = User(username="late")  # no pk yet when the block is entered
    with diffs.context(actor=user):
        user.save()
        question = Question.objects.create(question_text="q")
    (diff,) = stored(question.diffs, 1)
    assert diff.actor == user.pk


def test_a_lazy_value_is_resolved_at_the_save_not_at_block_entry():
    who = {"actor": None}
    with diffs.context(actor=lambda: who["actor"]):
        first = Question.objects.create(question_text="before login")
        who["actor"] = 42
        second = Question.objects.create(question_text="after login")
    assert stored(first.diffs, 1)[0].context == {}
    assert stored(second.diffs, 1)[0].actor == 42


def test_many_to_many_diffs_carry_the_context():
    poll = HistoryPoll.objects.create(name="poll")
    category = Category.objects.create(name="c")
    with diffs.context(actor=9):
        poll.categories.add(category)
    _, added = stored(poll.diffs, 2)
    assert added.changed_fields == ["categories"] and added.actor == 9


def test_nothing_is_recorded_inside_disabled_saves_deletes_or_many_to_many():
    poll = HistoryPoll.objects.create(name="poll")
    category = Category.objects.create(name="c")
    kept = Question.objects.create(question_text="kept")
    stored(kept.diffs, 1)
    with diffs.disabled():
        hidden = Question.objects.create(question_text="hidden")
        kept.question_text = "quietly"
        kept.save()
        poll.categories.add(category)
        hidden_pk = hidden.pk
        hidden.delete()
    kept.question_text = "loudly"
    kept.save()  # recorded: against the value saved inside the block
    _, changed = stored(kept.diffs, 2)
    assert changed.old == {"question_text": "quietly"}
    assert len(poll.diffs) == 1
    assert len(Question.diffs.get_by_object_id(hidden_pk)) == 0


