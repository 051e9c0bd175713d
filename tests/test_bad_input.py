"""Hostile payloads, odd pks and failing hooks: clear errors, nothing broken, nothing lost."""

import logging

import pytest

from diffs.exceptions import RecordingError
from diffs.payload import WRITE_TASK, change_time
from tests.celery_app import app as celery_app
from tests.conftest import wait_for_diffs, wait_until
from tests.testapp.models import BadParent, Question, Tag

pytestmark = [pytest.mark.django_db(transaction=True)]


def valid_diff(**overrides):
    timestamp, diff_id = change_time()
    diff = {"i": diff_id, "m": "testapp.question", "p": 1, "t": timestamp, "f": {"a": 1}}
    diff.update(overrides)
    return diff


HOSTILE = {
    "not an object": "hello",
    "wrong version": {"v": 99, "diffs": []},
    "diffs not a list": {"v": 1, "diffs": "x"},
    "unknown batch key": {"v": 1, "diffs": [], "exec": "rm -rf /"},
    "missing id": {"v": 1, "diffs": [{k: v for k, v in valid_diff().items() if k != "i"}]},
    "bad id": {"v": 1, "diffs": [valid_diff(i="../../etc")]},
    "unknown label": {"v": 1, "diffs": [valid_diff(m="nope.model")]},
    "label with a colon": {"v": 1, "diffs": [valid_diff(m="testapp.question:1")]},
    "unregistered model": {"v": 1, "diffs": [valid_diff(m="testapp.plain")]},
    "str pk for an int pk": {"v": 1, "diffs": [valid_diff(p="1")]},
    "bool pk": {"v": 1, "diffs": [valid_diff(p=True)]},
    "list pk": {"v": 1, "diffs": [valid_diff(p=[1])]},
    "time not a number": {"v": 1, "diffs": [valid_diff(t="now")]},
    "time before 2000": {"v": 1, "diffs": [valid_diff(t=5.0)]},
    "fields not an object": {"v": 1, "diffs": [valid_diff(f=[1, 2])]},
    "unknown diff key": {"v": 1, "diffs": [valid_diff(z=1)]},
    "flag not 0/1": {"v": 1, "diffs": [valid_diff(c="yes")]},
    "parent not a pair": {"v": 1, "diffs": [valid_diff(r=[["testapp.question"]])]},
    "parent unknown label": {"v": 1, "diffs": [valid_diff(r=[["x.y", 1]])]},
    "5 MB value": {"v": 1, "diffs": [valid_diff(f={"question_text": "x" * 5_000_000})]},
    "pending rows of an unknown database": {
        "v": 1, "diffs": [], "pending": {"db": "nope", "rows": [[1, "0" * 24]]}
    },
}


@pytest.mark.usefixtures("worker")
@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_payload_is_rejected_with_a_logged_error_and_nothing_written(
    name, storage, diffs_log
):
    question = Question.objects.create(question_text="attacked")
    wait_for_diffs(question.diffs, 1)
    before = sorted(storage.keys("*"))

    celery_app.send_task(WRITE_TASK, args=[HOSTILE[name]], queue="diffs", serializer="json")
    wait_until(lambda: any(r.levelno >= logging.ERROR for r in diffs_log))

    assert sorted(storage.keys("*")) == before
    assert len(question.diffs) == 1  # the attacked object's history still reads
    question.question_text = "still recorded"
    question.save()
    wait_for_diffs(question.diffs, 2)  # and the worker keeps working


@pytest.mark.usefixtures("worker")
def test_valid_diffs_of_a_batch_are_written_when_one_is_rejected(storage, diffs_log):
    question = Question.objects.create(question_text="q")
    wait_for_diffs(question.diffs, 1)
    good = valid_diff(p=question.pk, f={"question_text": "good"})
    bad = valid_diff(p="nope")
    celery_app.send_task(WRITE_TASK, args=[{"v": 1, "diffs": [bad, good]}], queue="diffs")
    _, diff = wait_for_diffs(question.diffs, 2)
    assert diff.new == {"question_text": "good"}
    assert sum(r.levelno >= logging.ERROR for r in diffs_log) == 1


ODD_PKS = ["a:b", "a:b:c", "*", "a*", "{tag}", "line\nbreak", "ünïcødé", "with space", "x" * 1024]


@pytest.mark.usefixtures("worker")
def test_odd_string_pks_each_reach_only_their_own_key(storage):
    tags = [Tag.objects.create(code=code, name=f"n{i}") for i, code in enumerate(ODD_PKS)]
    for tag in tags:
        (diff,) = wait_for_diffs(Tag.diffs.get_by_object_id(tag.code), 1)
        assert diff.pk == tag.code
        assert diff.new == {"name": tag.name}
    assert len(storage.keys("diffs:testapp.tag:*")) == len(ODD_PKS)


@pytest.mark.usefixtures("worker")
def test_pattern_characters_in_a_pk_match_nothing_else(storage):
    Tag.objects.create(code="ab", name="ab")
    star = Tag.objects.create(code="a*", name="star")
    wait_for_diffs(star.diffs, 1)
    wait_for_diffs(Tag.diffs.get_by_object_id("ab"), 1)
    assert [d.new["name"] for d in Tag.diffs.get_by_object_id("a*")] == ["star"]


def test_parent_hook_returning_a_non_model_is_a_clear_error():
    with pytest.raises(RecordingError, match="returned 'not a model', not a model instance"):
        BadParent.objects.create(name="x")


@pytest.mark.usefixtures("worker")
def test_parent_hook_returning_a_non_model_still_records_the_diff_without_raise_errors(
    settings, diffs_log
):
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS, "raise_errors": False}
    row = BadParent.objects.create(name="x")
    (diff,) = wait_for_diffs(row.diffs, 1)
    assert diff.new == {"name": "x"}
    assert any("parent hook" in r.getMessage() and "pk=" in r.getMessage() for r in diffs_log)


@pytest.mark.usefixtures("worker")
def test_a_value_too_large_to_record_is_left_out_but_the_change_is_recorded(diffs_log):
    from tests.testapp.models import AllTypes

    row = AllTypes.objects.create(text="small")
    row.text = "x" * 5_000_000
    row.integer = 7
    row.save()
    _, diff = wait_for_diffs(row.diffs, 2)
    assert diff.new == {"text": {"$omitted": "too large", "size": 5_000_000}, "integer": 7}
    assert diff.old == {"text": "small", "integer": 0}
    assert any("omitted" in r.getMessage() for r in diffs_log)
