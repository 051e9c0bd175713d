"""Many-to-many changes are recorded from either side, on commit, like any other diff."""

import pytest
from django.core import serializers
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from diffs import ModelChange
from tests.integration.conftest import stored
from tests.testapp.models import Category, HistoryPoll, HistoryPollCategory, Person, Tag

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("delivery")]


def rows(poll, *categories):
    return [{"poll": poll.pk, "category": c.pk} for c in categories]


def last_change(instance, count):
    """Return the only change of the newest of ``instance``'s ``count`` diffs."""
    diff = stored(instance.diffs, count)[-1]
    (change,) = diff.delta.changes
    return change


@pytest.fixture
def poll_and_categories():
    poll = HistoryPoll.objects.create(name="poll")
    return poll, [Category.objects.create(pk=pk, name=f"c{pk}") for pk in (3, 1, 2)]


def test_add_remove_and_clear_from_the_forward_side(poll_and_categories):
    poll, (c3, c1, c2) = poll_and_categories
    poll.categories.add(c3, c1)
    assert last_change(poll, 2) == ModelChange("categories", [], rows(poll, c1, c3))
    poll.categories.add(c2)
    assert last_change(poll, 3) == ModelChange(
        "categories", rows(poll, c1, c3), rows(poll, c1, c2, c3)
    )
    poll.categories.remove(c1)
    assert last_change(poll, 4) == ModelChange(
        "categories", rows(poll, c1, c2, c3), rows(poll, c2, c3)
    )
    poll.categories.clear()
    assert last_change(poll, 5) == ModelChange("categories", rows(poll, c2, c3), [])


def test_add_of_what_is_already_there_records_nothing(poll_and_categories, delivery):
    poll, (c3, _, _) = poll_and_categories
    poll.categories.add(c3)
    stored(poll.diffs, 2)
    sent = len(delivery.batches)
    poll.categories.add(c3)
    poll.categories.remove(*Category.objects.exclude(pk=c3.pk))
    assert len(delivery.batches) == sent
    assert len(poll.diffs) == 2


def test_set_is_a_remove_then_an_add_and_nets_out(poll_and_categories):
    poll, (c3, c1, c2) = poll_and_categories
    poll.categories.set([c1, c2])
    poll.categories.set([c2, c3])
    created, *_, last = stored(poll.diffs, 4)
    assert [d.delta.changes[0].new for d in poll.diffs[1:]] == [
        rows(poll, c1, c2), rows(poll, c2), rows(poll, c2, c3)
    ]
    assert last.diff_against(created).changes == [
        ModelChange("categories", [], rows(poll, c2, c3))
    ]


def test_reverse_side_records_for_each_poll_it_changes():
    category = Category.objects.create(name="c")
    one, two = HistoryPoll.objects.create(name="1"), HistoryPoll.objects.create(name="2")
    one.categories.add(Category.objects.create(name="other"))
    stored(one.diffs, 2)
    other_rows = one.diffs[-1].new["categories"]

    category.polls.add(one, two)
    assert last_change(one, 3).new == sorted(
        [*other_rows, {"poll": one.pk, "category": category.pk}], key=lambda r: r["category"]
    )
    assert last_change(two, 2) == ModelChange("categories", [], rows(two, category))

    category.polls.remove(two)
    assert last_change(two, 3) == ModelChange("categories", rows(two, category), [])


def test_reverse_clear_records_for_every_poll_it_touched():
    category, kept = Category.objects.create(name="c"), Category.objects.create(name="kept")
    one, two = HistoryPoll.objects.create(name="1"), HistoryPoll.objects.create(name="2")
    one.categories.add(category, kept)
    two.categories.add(category)
    stored(one.diffs, 2)
    stored(two.diffs, 2)

    category.polls.clear()
    assert last_change(one, 3) == ModelChange(
        "categories", rows(one, category, kept), rows(one, kept)
    )
    assert last_change(two, 3) == ModelChange("categories", rows(two, category), [])


def test_custom_through_model_is_recorded_with_its_field_names(poll_and_categories):
    poll, (c3, _, _) = poll_and_categories
    poll.categories.add(c3)
    stored(poll.diffs, 2)
    assert HistoryPollCategory.objects.get().poll_id == poll.pk
    assert poll.diffs[-1].new == {"categories": [{"poll": poll.pk, "category": 3}]}


def test_symmetrical_self_reference_records_both_people():
    ann, bob, cy = (Person.objects.create(name=n) for n in ("ann", "bob", "cy"))
    ann.friends.add(bob, cy)
    assert last_change(ann, 2).new == [
        {"from_person": ann.pk, "to_person": bob.pk}, {"from_person": ann.pk, "to_person": cy.pk}
    ]
    assert last_change(bob, 2).new == [{"from_person": bob.pk, "to_person": ann.pk}]
    assert last_change(cy, 2).new == [{"from_person": cy.pk, "to_person": ann.pk}]

    bob.friends.clear()
    assert last_change(bob, 3) == ModelChange(
        "friends", [{"from_person": bob.pk, "to_person": ann.pk}], []
    )
    assert last_change(ann, 3).new == [{"from_person": ann.pk, "to_person": cy.pk}]
    assert len(cy.diffs) == 2


def test_one_way_self_reference_from_either_side():
    ann, bob = Person.objects.create(name="ann"), Person.objects.create(name="bob")
    bob.followers.add(ann)  # the reverse side of ann.follows
    assert last_change(ann, 2) == ModelChange(
        "follows", [], [{"from_person": ann.pk, "to_person": bob.pk}]
    )
    ann.follows.remove(bob)
    assert last_change(ann, 3).new == []
    assert len(bob.diffs) == 1


def test_string_primary_keys_stay_strings_and_sort():
    ann = Person.objects.create(name="ann")
    tags = [Tag.objects.create(code=code, name=code) for code in ("b:2", "a\n1")]
    ann.tags.add(*tags)
    assert last_change(ann, 2).new == [
        {"person": ann.pk, "tag": "a\n1"}, {"person": ann.pk, "tag": "b:2"}
    ]
    Tag.objects.get(code="b:2").people.clear()
    assert last_change(ann, 3).new == [{"person": ann.pk, "tag": "a\n1"}]


def test_rolled_back_many_to_many_change_records_nothing(poll_and_categories):
    poll, (c3, c1, _) = poll_and_categories
    poll.categories.add(c3)
    stored(poll.diffs, 2)
    with pytest.raises(RuntimeError), transaction.atomic():
        poll.categories.add(c1)
        raise RuntimeError
    poll.categories.remove(c3)
    assert last_change(poll, 3) == ModelChange("categories", rows(poll, c3), [])


def test_many_to_many_change_is_sent_with_its_transaction(poll_and_categories, delivery):
    poll, (c3, c1, _) = poll_and_categories
    sent = len(delivery.batches)
    with transaction.atomic():
        poll.name = "renamed"
        poll.save()
        poll.categories.add(c3, c1)
        assert len(delivery.batches) == sent
    _, renamed, added = stored(poll.diffs, 3)
    assert renamed.changed_fields == ["name"]
    assert added.changed_fields == ["categories"]


def test_disabled_setting_records_no_many_to_many_change(poll_and_categories, settings):
    poll, (c3, _, _) = poll_and_categories
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS, "enabled": False}
    poll.categories.add(c3)
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS, "enabled": True}
    poll.categories.clear()
    assert last_change(poll, 2) == ModelChange("categories", rows(poll, c3), [])


def test_objects_changed_from_the_other_side_are_loaded_when_a_hook_reads_them():
    ann, bob = Person.objects.create(name="ann"), Person.objects.create(name="bob")
    bob.followers.add(ann)
    stored(ann.diffs, 2)
    assert ann.diffs[-1].data == {"name": "ann", "fields": ["follows"]}


def test_related_people_resolve_to_objects_with_one_query(django_assert_num_queries):
    ann, bob = Person.objects.create(name="ann"), Person.objects.create(name="bob")
    tag = Tag.objects.create(code="t", name="t")
    ann.friends.add(bob)
    ann.tags.add(tag)
    created, *_, tagged = stored(ann.diffs, 3)
    with django_assert_num_queries(2):  # Person, Tag
        delta = tagged.diff_against(created, foreign_keys_are_objs=True)
    friends, tags = delta.changes
    assert friends == ModelChange("friends", [], [{"from_person": ann, "to_person": bob}])
    assert tags == ModelChange("tags", [], [{"person": ann, "tag": tag}])
    assert isinstance(friends.new[0]["to_person"], Person)


def test_fixture_loading_records_the_many_to_many_values_it_sets():
    Tag.objects.create(code="t", name="t")
    data = '[{"model": "testapp.person", "pk": 900, "fields": {"name": "fixture", ' \
           '"tags": ["t"], "friends": [], "follows": []}}]'
    for obj in serializers.deserialize("json", data):
        obj.save()
    (diff,) = stored(Person.diffs.get_by_object_id(900), 1)
    assert diff.new == {"tags": [{"person": 900, "tag": "t"}]}


def queries(settings, enabled, change):
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS, "enabled": enabled}
    with CaptureQueriesContext(connection) as captured:
        change()
    return len(captured.captured_queries)


@pytest.mark.parametrize(
    ("change", "extra"),
    [
        (lambda poll, c: poll.categories.add(Category.objects.create(name="new")), 1),
        (lambda poll, c: poll.categories.remove(c), 1),
        (lambda poll, c: poll.categories.clear(), 1),
        (lambda poll, c: c.polls.clear(), 2),
    ],
    ids=["add", "remove", "clear", "reverse clear"],
)
def test_recording_a_change_costs_a_read_of_the_through_rows(settings, change, extra):
    poll = HistoryPoll.objects.create(name="p")
    one, two = Category.objects.create(name="1"), Category.objects.create(name="2")
    poll.categories.add(one, two)
    quiet = queries(settings, False, lambda: change(poll, one))
    poll.categories.set([one, two])
    recorded = queries(settings, True, lambda: change(poll, one))
    assert recorded == quiet + extra
