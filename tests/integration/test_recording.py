"""Recording in the web process: what a save sends, when, and the traps of dirty tracking."""

import pytest
from django.core import serializers
from django.db import transaction
from django.db.models import F

from tests.integration.conftest import stored
from tests.otherapp.models import Item as OtherItem
from tests.testapp.models import Choice, Item, Legacy, Note, Question

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("delivery")]


def test_save_that_changes_nothing_records_nothing():
    question = Question.objects.create(question_text="Same")
    question.save()
    Question.objects.get(pk=question.pk).save()
    stored(question.diffs, 1)
    assert [d.created for d in question.diffs] == [True]


def test_created_diff_holds_every_recorded_field_as_serializers_write_them():
    question = Question.objects.create(question_text="New")
    (diff,) = stored(question.diffs, 1)
    expected = serializers.serialize("python", [Question.objects.get(pk=question.pk)])
    reference = serializers.serialize("json", [Question.objects.get(pk=question.pk)])
    assert diff.created and not diff.deleted
    assert diff.old == {}
    assert diff.data["fields"].keys() == expected[0]["fields"].keys()
    assert f'"pub_date": "{diff.data["fields"]["pub_date"]}"' in reference


@pytest.mark.smoke
def test_update_records_old_and_new_values():
    question = Question.objects.create(question_text="Before")
    question = Question.objects.get(pk=question.pk)
    question.question_text = "After"
    question.save()
    _, diff = stored(question.diffs, 2)
    assert diff.old == {"question_text": "Before"}
    assert diff.new == {"question_text": "After"}
    assert diff.changed_fields == ["question_text"]


def test_rolled_back_transaction_records_nothing(delivery):
    question = Question.objects.create(question_text="Kept")
    stored(question.diffs, 1)
    with pytest.raises(RuntimeError), transaction.atomic():
        question.question_text = "Rolled back"
        question.save()
        raise RuntimeError
    assert delivery.sizes == [1]
    assert len(question.diffs) == 1


def test_save_after_rolled_back_save_of_same_value_is_recorded_with_committed_old_value():
    question = Question.objects.create(question_text="Committed")
    with pytest.raises(RuntimeError), transaction.atomic():
        question.question_text = "Lost"
        question.save()
        raise RuntimeError
    question.save()  # still "Lost" in memory, "Committed" in the database
    _, diff = stored(question.diffs, 2)
    assert diff.old == {"question_text": "Committed"}
    assert diff.new == {"question_text": "Lost"}


def test_rolled_back_savepoint_drops_only_its_diffs():
    question = Question.objects.create(question_text="v1")
    with transaction.atomic():
        question.question_text = "v2"
        question.save()
        try:
            with transaction.atomic():
                question.question_text = "v3"
                question.save()
                Question.objects.create(question_text="never")
                raise RuntimeError
        except RuntimeError:
            pass
        question.question_text = "v4"
        question.save()
    diffs = stored(question.diffs, 3)
    assert [(d.old, d.new) for d in diffs[1:]] == [
        ({"question_text": "v1"}, {"question_text": "v2"}),
        ({"question_text": "v2"}, {"question_text": "v4"}),
    ]
    assert not Question.objects.filter(question_text="never").exists()


def test_many_saves_in_one_transaction_are_sent_as_one_batch_at_the_commit(delivery):
    with transaction.atomic():
        questions = [Question.objects.create(question_text=f"q{i}") for i in range(20)]
        for question in questions:
            question.question_text += "!"
            question.save()
        sent_before_commit = list(delivery.sizes)
    assert sent_before_commit == []
    assert delivery.sizes == [40]
    for question in questions:
        stored(question.diffs, 2)


def test_one_batch_per_transaction(delivery):
    with transaction.atomic():
        for i in range(5):
            Question.objects.create(question_text=f"q{i}")
    assert delivery.sizes == [5]
    Question.objects.create(question_text="autocommit")
    assert delivery.sizes == [5, 1]


def test_f_expression_is_recorded_with_the_value_it_took():
    question = Question.objects.create(question_text="q")
    choice = Choice.objects.create(question=question, choice_text="c", votes=1)
    choice.votes = F("votes") + 1
    choice.save()
    _, diff = stored(choice.diffs, 2)
    assert diff.old == {"votes": 1}
    assert diff.new == {"votes": 2}


def test_json_changed_in_place_is_seen():
    from tests.testapp.models import AllTypes

    row = AllTypes.objects.create(data={"a": [1]})
    row = AllTypes.objects.get(pk=row.pk)
    row.data["a"].append(2)
    row.save()
    _, diff = stored(row.diffs, 2)
    assert diff.old == {"data": {"a": [1]}}
    assert diff.new == {"data": {"a": [1, 2]}}


def test_raw_save_records_nothing():
    data = '[{"model": "testapp.question", "pk": 900, "fields": {"question_text": "fixture", ' \
           '"pub_date": "2024-01-01T00:00:00Z"}}]'
    for obj in serializers.deserialize("json", data):
        obj.save()
    marker = Question.objects.create(question_text="marker")
    stored(marker.diffs, 1)
    assert len(Question.diffs.get_by_object_id(900)) == 0


def test_update_fields_records_only_the_fields_written():
    question = Question.objects.create(question_text="a")
    question = Question.objects.get(pk=question.pk)
    question.question_text = "b"
    question.pub_date = question.pub_date.replace(year=2001)
    question.save(update_fields=["question_text"])
    question.save()
    _, first, second = stored(question.diffs, 3)
    assert first.changed_fields == ["question_text"]
    assert second.changed_fields == ["pub_date"]


def test_same_class_name_in_two_apps_records_under_each_label():
    mine = Item.objects.create(name="mine")
    theirs = OtherItem.objects.create(label="theirs")
    (a,) = stored(mine.diffs, 1)
    (b,) = stored(theirs.diffs, 1)
    assert (a.model, b.model) == ("testapp.item", "otherapp.item")


def test_identical_changes_stay_separate_entries_in_order():
    question = Question.objects.create(question_text="A")
    for text in ("B", "A", "B"):
        question.question_text = text
        question.save()
    diffs = stored(question.diffs, 4)
    assert [d.new["question_text"] for d in diffs] == ["A", "B", "A", "B"]
    assert len({d.id for d in diffs}) == 4


def test_fields_option_limits_what_is_recorded():
    note = Note.objects.create(title="t", body="secret")
    note.body = "changed"
    note.save()
    note.title = "t2"
    note.save()
    created, changed = stored(note.diffs, 2)
    assert created.new == {"title": "t"}
    assert changed.new == {"title": "t2"}


def test_model_already_using_dirtyfields_is_recorded():
    legacy = Legacy.objects.create(name="a")
    legacy.name = "b"
    legacy.save()
    _, diff = stored(legacy.diffs, 2)
    assert (diff.old, diff.new) == ({"name": "a"}, {"name": "b"})
    assert not legacy.is_dirty()


def test_grafted_dirtyfields_api_works():
    question = Question.objects.create(question_text="a")
    question = Question.objects.get(pk=question.pk)
    assert not question.is_dirty()
    question.question_text = "b"
    assert question.get_dirty_fields() == {"question_text": "a"}


def test_disabled_setting_records_nothing(settings):
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS, "enabled": False}
    question = Question.objects.create(question_text="quiet")
    question.question_text = "still quiet"
    question.save()
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS, "enabled": True}
    question.question_text = "loud"
    question.save()
    (diff,) = stored(question.diffs, 1)
    assert diff.old == {"question_text": "still quiet"}
