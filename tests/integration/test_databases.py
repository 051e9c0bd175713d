"""Two databases of ``DATABASES``, one pk: two objects, two histories, and ``Diff.using``."""

from __future__ import annotations

import pytest

from diffs.storage.keys import object_key
from diffs.storage.pruning import prune
from tests.integration.conftest import stored
from tests.testapp.models import Choice, Question

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "other"])


def texts(diff_set):
    return [d.new.get("question_text") or d.new.get("choice_text") for d in diff_set]


@pytest.mark.usefixtures("delivery")
def test_the_same_pk_saved_in_two_databases_has_a_history_in_each(storage):
    here = Question.objects.create(pk=7, question_text="in default")
    there = Question.objects.using("other").create(pk=7, question_text="in other")
    there.question_text = "changed in other"
    there.save()

    (made_here,) = stored(here.diffs, 1)
    made_there = stored(there.diffs, 2)
    assert texts([made_here]) == ["in default"]
    assert texts(made_there) == ["in other", "changed in other"]
    assert made_here.using == "default"
    assert {d.using for d in made_there} == {"other"}
    assert list(Question.diffs.using("other").get_by_object_id(7)) == made_there
    assert list(Question.diffs.get_by_object_id(7)) == [made_here]
    assert sorted(storage.keys("diffs:{*}:testapp.question*")) == sorted([
        object_key("diffs", "testapp.question", 7),
        object_key("diffs", "testapp.question", 7, "other"),
    ])


def test_a_child_rolls_up_to_its_parent_in_its_own_database(delivery, storage):
    there = Question.objects.using("other").create(question_text="parent")
    Choice.objects.using("other").create(question=there, choice_text="child")
    assert texts(there.diffs) == ["parent", "child"]
    assert not Question.diffs.get_by_object_id(there.pk)  # nothing under the default's key


def test_database_keys_names_a_database_in_keys(delivery, storage, settings):
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS, "database_keys": {"other": "eu"}}
    there = Question.objects.using("other").create(question_text="mapped")
    assert texts(there.diffs) == ["mapped"]
    assert storage.keys("diffs:{*}:testapp.question*") == [
        object_key("diffs", "testapp.question", there.pk, "eu")]


def test_pruning_reaches_every_database_with_each_model_s_age(delivery, storage):
    Question.objects.create(question_text="here")
    Question.objects.using("other").create(question_text="there")
    assert prune(max_age=0).members_removed == 2
    assert storage.keys("diffs:{*}:testapp.*") == []


def test_a_model_s_own_max_age_applies_to_its_keys_in_every_database(storage):
    from diffs import wire
    from diffs.storage.writer import write_batch
    from tests.payloads import store_aged

    old = wire.new_diff("testapp.note", 1, {"title": "t"}, database="other")
    old[wire.TIME], old[wire.ID] = wire.change_time(old[wire.TIME] - 120)  # Note's age is 60 s
    fresh = wire.new_diff("testapp.note", 2, {"title": "t"}, database="other")
    assert store_aged(old) == 1  # arrived two minutes ago
    assert write_batch(wire.batch([fresh])).written == 1
    assert prune().members_removed == 1
    assert storage.keys("diffs:{*}:testapp.note*") == [
        object_key("diffs", "testapp.note", 2, "other")]
