"""Net change between two points of an object's history: diff_against, diff.delta, diffs.delta."""

import pytest

from diffs import InvalidOption, ModelChange, NotRegistered, UnknownField
from diffs.reading.diffset import DiffSet
from tests.integration.conftest import stored
from tests.testapp.models import Choice, HistoryChoice, HistoryPoll, Question

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("delivery")]


def edit(instance, **values):
    for name, value in values.items():
        setattr(instance, name, value)
    instance.save()


def test_field_changed_several_times_shows_first_old_and_last_new_value():
    poll = HistoryPoll.objects.create(question="a")
    for text in ("b", "c", "d"):
        edit(poll, question=text)
    first, *_, last = stored(poll.diffs, 4)
    assert last.diff_against(first).changes == [ModelChange("question", "a", "d")]


def test_field_set_back_to_its_earlier_value_is_not_a_change():
    poll = HistoryPoll.objects.create(question="a", name="n")
    edit(poll, question="b", name="m")
    edit(poll, question="a")
    first, _, last = stored(poll.diffs, 3)
    delta = last.diff_against(first)
    assert delta.changes == [ModelChange("name", "n", "m")]
    assert delta.changed_fields == ["name"]


def test_diff_against_itself_changes_nothing():
    poll = HistoryPoll.objects.create(question="a")
    (diff,) = stored(poll.diffs, 1)
    assert diff.diff_against(diff).changes == []


def test_changed_fields_are_alphabetical_and_match_changes():
    poll = HistoryPoll.objects.create(question="q", name="n")
    edit(poll, question="q2", name="n2")
    old, new = stored(poll.diffs, 2)
    delta = new.diff_against(old)
    assert delta.changed_fields == ["name", "question"]
    assert [c.field for c in delta.changes] == delta.changed_fields


def test_diff_against_a_newer_diff_is_a_clear_error():
    poll = HistoryPoll.objects.create(question="a")
    edit(poll, question="b")
    old, new = stored(poll.diffs, 2)
    with pytest.raises(ValueError, match=r"is newer than .*newer\.diff_against\(older\)"):
        old.diff_against(new)


def test_diff_against_another_objects_diff_is_a_clear_error():
    one = HistoryPoll.objects.create(question="a")
    other = HistoryPoll.objects.create(question="b")
    (a,) = stored(one.diffs, 1)
    (b,) = stored(other.diffs, 1)
    with pytest.raises(ValueError, match="both diffs must be of the same object"):
        b.diff_against(a)
    with pytest.raises(TypeError, match="takes another Diff"):
        b.diff_against("yesterday")


def test_unknown_included_or_excluded_field_is_a_clear_error():
    poll = HistoryPoll.objects.create(question="a")
    edit(poll, question="b")
    old, new = stored(poll.diffs, 2)
    with pytest.raises(UnknownField, match=r"no recordable field 'colour' \(named in excluded"):
        new.diff_against(old, excluded_fields=["colour"])
    with pytest.raises(UnknownField, match="Choose from: categories, name, question"):
        new.diff_against(old, included_fields=["colour"])
    with pytest.raises(InvalidOption, match="list of field names"):
        new.diff_against(old, included_fields="question")


def test_foreign_key_may_be_named_by_its_attname():
    first, second = HistoryPoll.objects.create(), HistoryPoll.objects.create()
    choice = HistoryChoice.objects.create(poll=first, choice="x")
    edit(choice, poll=second, choice="y")
    old, new = stored(choice.diffs, 2)
    assert new.diff_against(old, included_fields=["poll_id"]).changes == [
        ModelChange("poll", first.pk, second.pk)
    ]


def test_old_value_unknown_to_the_save_is_taken_from_earlier_diffs():
    poll = HistoryPoll.objects.create(question="a", name="n")
    # Never loaded: the save cannot know the old values and records every field as new.
    HistoryPoll(pk=poll.pk, question="b", name="n").save()
    created, blind = stored(poll.diffs, 2)
    assert blind.old == {}
    assert blind.diff_against(created).changes == [ModelChange("question", "a", "b")]


def test_own_delta_of_create_update_and_delete():
    poll = HistoryPoll.objects.create(question="a", name="n")
    edit(poll, question="b")
    pk = poll.pk
    poll.delete()
    created, changed, deleted = stored(HistoryPoll.diffs.get_by_object_id(pk), 3)
    assert created.delta.changes == [
        ModelChange("name", None, "n"), ModelChange("question", None, "a")
    ]
    assert changed.delta.changes == [ModelChange("question", "a", "b")]
    assert deleted.delta.changes == [
        ModelChange("name", "n", None), ModelChange("question", "b", None)
    ]
    assert deleted.delta.new_record.deleted


def test_delta_since_a_time_is_what_a_client_missed():
    poll = HistoryPoll.objects.create(question="a", name="n")
    (seen,) = stored(poll.diffs, 1)
    edit(poll, question="b")
    edit(poll, question="c", name="m")
    edit(poll, name="n")
    *_, newest = stored(poll.diffs, 4)

    delta = poll.diffs.delta(since=seen.timestamp)
    assert delta.changes == [ModelChange("question", "a", "c")]
    assert (delta.old_record, delta.new_record) == (None, newest)
    assert poll.diffs.delta(since=newest.timestamp).changes == []
    assert poll.diffs.delta(since=newest.timestamp).new_record is None


def test_delta_until_a_time_stops_there():
    poll = HistoryPoll.objects.create(question="a")
    edit(poll, question="b")
    edit(poll, question="c")
    created, middle, _ = stored(poll.diffs, 3)
    delta = poll.diffs.delta(since=created.datetime, until=middle.datetime)
    assert delta.changes == [ModelChange("question", "a", "b")]
    assert delta.new_record == middle


def test_delta_of_a_parent_leaves_out_its_childrens_diffs():
    question = Question.objects.create(question_text="q")
    (seen,) = stored(question.diffs, 1)
    Choice.objects.create(question=question, choice_text="c")
    edit(question, question_text="q2")
    stored(question.diffs, 3)  # the choice's diff is rolled up into the question's
    delta = question.diffs.delta(since=seen.timestamp)
    assert delta.changes == [ModelChange("question_text", "q", "q2")]


def test_delta_over_a_delete_and_a_create_with_the_same_pk():
    poll = HistoryPoll.objects.create(pk=77, question="a", name="n")
    (seen,) = stored(poll.diffs, 1)
    poll.delete()
    HistoryPoll.objects.create(pk=77, question="a", name="other")
    stored(HistoryPoll.diffs.get_by_object_id(77), 3)
    delta = HistoryPoll.diffs.get_by_object_id(77).delta(since=seen.timestamp)
    assert delta.changes == [ModelChange("name", "n", "other")]


def test_diff_against_works_from_the_two_diffs_alone_once_redis_lost_them(storage):
    poll = HistoryPoll.objects.create(question="a")
    edit(poll, question="b")
    old, new = stored(poll.diffs, 2)
    storage.flushdb()
    assert new.diff_against(old).changes == [ModelChange("question", "a", "b")]


def test_plain_values_are_left_alone_with_foreign_keys_are_objs():
    poll = HistoryPoll.objects.create(question="a")
    edit(poll, question="b")
    old, new = stored(poll.diffs, 2)
    assert new.diff_against(old, foreign_keys_are_objs=True).changes == [
        ModelChange("question", "a", "b")
    ]


def test_delta_of_an_unregistered_label_with_options_is_a_clear_error():
    with pytest.raises(NotRegistered, match=r"testapp\.plain is not registered"):
        DiffSet("testapp.plain", 1).delta(0, included_fields=["name"])
