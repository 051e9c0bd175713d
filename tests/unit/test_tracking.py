"""Dirty-field tracking, in milliseconds: no database, no Redis, no worker.

Instances are built the way the ORM builds them (``Model.from_db``), so the state they carry
is the one a query would have given them.
"""

from __future__ import annotations

import datetime

import django
import pytest
from django.db.models import F

from diffs.recording import tracking
from diffs.registry import get_registration
from diffs.wire import UNKNOWN
from tests.testapp.models import AllTypes, Note, Question

WHEN = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)


def loaded(model, **values):
    """Return an instance of ``model`` as a query returning ``values`` would build it."""
    names = ["id", *values]
    return model.from_db("default", names, [1, *values.values()])


def changes(instance, update_fields=None):
    """Return ``{name: (old, new)}`` of what saving ``instance`` now would record."""
    fields = get_registration(instance).fields
    return {t.name: (old, new) for t, old, new in tracking.dirty(instance, fields, update_fields)}


def test_a_loaded_instance_that_was_not_changed_is_clean():
    question = loaded(Question, question_text="q", pub_date=WHEN)
    assert changes(question) == {}
    assert not question.is_dirty()


def test_a_changed_field_reports_its_loaded_and_its_new_value():
    question = loaded(Question, question_text="q", pub_date=WHEN)
    question.question_text = "r"
    assert changes(question) == {"question_text": ("q", "r")}
    assert question.get_dirty_fields() == {"question_text": "q"}  # dirtyfields' own API


def test_the_same_value_assigned_again_is_no_change():
    question = loaded(Question, question_text="q", pub_date=WHEN)
    question.question_text = "q"
    question.pub_date = WHEN.replace()
    assert changes(question) == {}


def test_a_value_the_database_would_give_back_equal_is_no_change():
    row = loaded(AllTypes, integer=5)
    row.integer = "5"
    assert changes(row) == {}


def test_a_never_loaded_instance_knows_no_old_values():
    question = Question(question_text="new", pub_date=WHEN)
    assert changes(question) == {
        "question_text": (UNKNOWN, "new"), "pub_date": (UNKNOWN, WHEN)
    }


def test_an_expression_is_a_change_whose_new_value_only_the_database_knows():
    row = loaded(AllTypes, integer=5)
    row.integer = F("integer") + 1
    assert changes(row) == {"integer": (5, UNKNOWN)}


def test_json_changed_in_place_is_seen_because_the_state_is_a_copy():
    row = loaded(AllTypes, data={"tags": ["a"]})
    row.data["tags"].append("b")
    assert changes(row) == {"data": ({"tags": ["a"]}, {"tags": ["a", "b"]})}


def test_deferred_fields_are_not_part_of_the_save():
    question = loaded(Question, question_text="q")  # pub_date deferred
    assert "pub_date" not in question.__dict__
    question.question_text = "r"
    assert changes(question) == {"question_text": ("q", "r")}


def test_update_fields_limits_the_change_to_the_fields_written():
    question = loaded(Question, question_text="q", pub_date=WHEN)
    question.question_text = "r"
    question.pub_date = WHEN + datetime.timedelta(days=1)
    assert changes(question, update_fields=["pub_date"]) == {
        "pub_date": (WHEN, WHEN + datetime.timedelta(days=1))
    }


def test_only_recorded_fields_are_kept_in_the_loaded_state():
    note = loaded(Note, title="t", body="b")  # registered with fields=["title"]
    assert tracking.saved_state(note) == {"title": "t"}


def test_remember_moves_the_state_forward_and_forgets_unknown_values():
    row = loaded(AllTypes, integer=5, char="c")
    tracking.remember(row, {"integer": 6, "char": UNKNOWN})
    assert tracking.saved_state(row) == {"integer": 6}
    row.integer = 6
    assert "integer" not in changes(row)


def test_refresh_from_db_state_is_read_again(db):
    question = Question.objects.create(question_text="q")
    Question.objects.filter(pk=question.pk).update(question_text="elsewhere")
    question.refresh_from_db()
    assert tracking.saved_state(question)["question_text"] == "elsewhere"
    assert changes(question) == {}


@pytest.mark.skipif(django.VERSION < (6, 1), reason="fetch modes are new in Django 6.1")
def test_a_loaded_instance_keeps_the_fetch_mode_of_its_query(db):
    from django.db.models import FETCH_PEERS

    Question.objects.create(question_text="q")
    question = Question.objects.fetch_mode(FETCH_PEERS).get()
    assert question._state.fetch_mode is FETCH_PEERS
    assert changes(question) == {}
