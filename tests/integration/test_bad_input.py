"""Hostile payloads, odd pks and failing hooks against the worker's code: nothing broken or lost.

Each bad payload's exact rejection is asserted in ``tests/unit/test_wire.py``; here a few of
them go through the write task, run in this process as a worker runs it, to show it logs,
writes nothing for them and keeps working.
"""

import logging

import pytest

from diffs import wire
from diffs.exceptions import RecordingError
from diffs.models import PendingDiff
from diffs_tasks.tasks import write_diffs
from tests import payloads
from tests.integration.conftest import stored
from tests.testapp.models import BadParent, Question, Tag

pytestmark = [pytest.mark.django_db(transaction=True)]

GOOD = payloads.diff()

HOSTILE = {
    "not JSON text": '{"v": 1, "diffs": [',
    "not an object": "hello",
    "unknown batch key": {**payloads.batch(), "exec": "rm -rf /"},
    "label with a colon": payloads.batch(
        payloads.changed(GOOD, **{wire.MODEL: "testapp.question:1"})
    ),
    "5 MB value": payloads.batch(payloads.diff(new={"question_text": "x" * 5_000_000})),
    "pending rows of an unknown database": payloads.batch(
        pending=wire.pending_rows("nope", [(1, GOOD[wire.ID])])
    ),
}


@pytest.mark.usefixtures("delivery")
@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_payload_is_rejected_with_a_logged_error_and_nothing_written(
    name, storage, diffs_log
):
    question = Question.objects.create(question_text="attacked")
    stored(question.diffs, 1)
    before = sorted(storage.keys("*"))

    write_diffs(HOSTILE[name])
    assert any(r.levelno >= logging.ERROR for r in diffs_log)

    assert sorted(storage.keys("*")) == before
    assert len(question.diffs) == 1  # the attacked object's history still reads
    question.question_text = "still recorded"
    question.save()
    stored(question.diffs, 2)  # and the worker keeps working


@pytest.mark.usefixtures("delivery")
def test_made_up_model_labels_never_become_keys_and_what_is_kept_of_them_is_bounded(
    settings, storage, diffs_log
):
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS, "max_unknown_label_diffs": 2}
    made_up = [payloads.changed(payloads.diff(), **{wire.MODEL: f"nope.model{n}"})
               for n in range(3)]
    write_diffs(payloads.batch(*made_up))
    assert any("LOST 1 diff" in r.getMessage() for r in diffs_log)
    kept = PendingDiff.objects.order_by("id")
    assert [row.diff_id for row in kept] == [wire.diff_id(d) for d in made_up[:2]]
    assert [row.waiting_for for row in kept] == ["nope.model0", "nope.model1"]
    assert storage.keys("*") == []
    assert sum("does not know the model" in r.getMessage() for r in diffs_log) == 2


@pytest.mark.usefixtures("delivery")
def test_valid_diffs_of_a_batch_are_written_when_one_is_rejected(storage, diffs_log):
    question = Question.objects.create(question_text="q")
    stored(question.diffs, 1)
    good = payloads.diff(pk=question.pk, new={"question_text": "good"})
    bad = payloads.changed(payloads.diff(), **{wire.PK: "nope"})
    write_diffs(payloads.batch(bad, good))
    _, diff = stored(question.diffs, 2)
    assert diff.new == {"question_text": "good"}
    assert sum(r.levelno >= logging.ERROR for r in diffs_log) == 1


ODD_PKS = ["a:b", "a:b:c", "*", "a*", "{tag}", "line\nbreak", "ünïcødé", "with space", "x" * 1024]


@pytest.mark.usefixtures("delivery")
def test_odd_string_pks_each_reach_only_their_own_key(storage):
    tags = [Tag.objects.create(code=code, name=f"n{i}") for i, code in enumerate(ODD_PKS)]
    for tag in tags:
        (diff,) = stored(Tag.diffs.get_by_object_id(tag.code), 1)
        assert diff.pk == tag.code
        assert diff.new == {"name": tag.name}
    assert len(storage.keys("diffs:{*}:testapp.tag:*")) == len(ODD_PKS)


@pytest.mark.usefixtures("delivery")
def test_pattern_characters_in_a_pk_match_nothing_else(storage):
    Tag.objects.create(code="ab", name="ab")
    star = Tag.objects.create(code="a*", name="star")
    stored(star.diffs, 1)
    stored(Tag.diffs.get_by_object_id("ab"), 1)
    assert [d.new["name"] for d in Tag.diffs.get_by_object_id("a*")] == ["star"]


def test_parent_hook_returning_a_non_model_is_a_clear_error():
    with pytest.raises(RecordingError, match="returned 'not a model', not a model instance"):
        BadParent.objects.create(name="x")


@pytest.mark.usefixtures("delivery")
def test_parent_hook_returning_a_non_model_still_records_the_diff_without_raise_errors(
    settings, diffs_log
):
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS, "raise_errors": False}
    row = BadParent.objects.create(name="x")
    (diff,) = stored(row.diffs, 1)
    assert diff.new == {"name": "x"}
    assert any("parent hook" in r.getMessage() and "pk=" in r.getMessage() for r in diffs_log)


@pytest.mark.usefixtures("delivery")
def test_a_value_too_large_to_record_is_left_out_but_the_change_is_recorded(diffs_log):
    from tests.testapp.models import AllTypes

    row = AllTypes.objects.create(text="small")
    row.text = "x" * 5_000_000
    row.integer = 7
    row.save()
    _, diff = stored(row.diffs, 2)
    assert diff.new == {"text": {"$omitted": "too large", "size": 5_000_000}, "integer": 7}
    assert diff.old == {"text": "small", "integer": 0}
    assert any("omitted" in r.getMessage() for r in diffs_log)
