"""The second seed's "History Diffing" examples, stored in a real Redis by the worker's code.

Adapted only where our records are diffs rather than snapshots: ``poll.diffs`` is oldest first
(``old, new = poll.diffs``) where django-simple-history's ``poll.history.all()`` is newest
first, and the seed's Poll/Choice are HistoryPoll/HistoryChoice here.
"""

import pytest

from diffs import DeletedObject, ModelChange, ModelDelta
from tests.integration.conftest import stored
from tests.testapp.models import Category, HistoryChoice, HistoryPoll

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("delivery")]


def quoted(delta):
    """Print the changes as the seed's foreign key examples do."""
    return [f"'{c.field}' changed from '{c.old}' to '{c.new}'" for c in delta.changes]


def bare(delta):
    """Print the changes as the seed's many-to-many examples do."""
    return [f"'{c.field}' changed from {c.old!r} to {c.new!r}" for c in delta.changes]


def test_diff_against_gives_what_changed():
    poll = HistoryPoll.objects.create(question="what's up?")
    poll.question = "what's up, man?"
    poll.save()

    old_record, new_record = stored(poll.diffs, 2)
    delta = new_record.diff_against(old_record)

    assert isinstance(delta, ModelDelta)
    assert (delta.old_record, delta.new_record) == (old_record, new_record)
    assert delta.changed_fields == ["question"]
    assert delta.changes == [ModelChange("question", "what's up?", "what's up, man?")]
    assert quoted(delta) == ["'question' changed from 'what's up?' to 'what's up, man?'"]


def test_foreign_keys_are_raw_pks_or_objects_or_deleted_objects(django_assert_num_queries):
    whats_up = HistoryPoll.objects.create(pk=15, name="what's up?")
    still_around = HistoryPoll.objects.create(pk=31, name="still around?")
    choice = HistoryChoice.objects.create(poll=whats_up)
    choice.poll = still_around
    choice.save()

    old, new = stored(choice.diffs, 2)
    default_delta = new.diff_against(old)
    assert quoted(default_delta) == ["'poll' changed from '15' to '31'"]

    with django_assert_num_queries(1):  # both polls in one query
        delta_with_objs = new.diff_against(old, foreign_keys_are_objs=True)
    assert quoted(delta_with_objs) == ["'poll' changed from 'what's up?' to 'still around?'"]
    assert delta_with_objs.changes[0].old == whats_up

    # Deleting all the polls:
    HistoryPoll.objects.all().delete()
    delta_with_objs = new.diff_against(old, foreign_keys_are_objs=True)
    assert quoted(delta_with_objs) == [
        "'poll' changed from 'Deleted poll (pk=15)' to 'Deleted poll (pk=31)'"
    ]
    assert delta_with_objs.changes[0].old == DeletedObject(model=HistoryPoll, pk=15)


def test_many_to_many_values_are_lists_of_through_dicts(django_assert_num_queries):
    whats_up = HistoryPoll.objects.create(pk=15, name="what's up?")
    informal = Category.objects.create(pk=63, name="informal questions")
    whats_up.categories.add(informal)

    old, new = stored(whats_up.diffs, 2)
    default_delta = new.diff_against(old)
    assert bare(default_delta) == ["'categories' changed from [] to [{'poll': 15, 'category': 63}]"]
    assert new.delta.changes == default_delta.changes

    with django_assert_num_queries(2):  # one per related model: HistoryPoll, Category
        delta_with_objs = new.diff_against(old, foreign_keys_are_objs=True)
    assert bare(delta_with_objs) == [
        "'categories' changed from [] to "
        "[{'poll': <HistoryPoll: what's up?>, 'category': <Category: informal questions>}]"
    ]

    # Deleting all the categories:
    Category.objects.all().delete()
    delta_with_objs = new.diff_against(old, foreign_keys_are_objs=True)
    assert bare(delta_with_objs) == [
        "'categories' changed from [] to [{'poll': <HistoryPoll: what's up?>, "
        "'category': DeletedObject(model=<class 'tests.testapp.models.Category'>, pk=63)}]"
    ]


def test_excluded_and_included_fields():
    poll = HistoryPoll.objects.create(question="q1", name="n1")
    poll.question = "q2"
    poll.name = "n2"
    poll.save()

    old, new = stored(poll.diffs, 2)
    assert new.diff_against(old).changed_fields == ["name", "question"]
    assert new.diff_against(old, excluded_fields=["name"]).changed_fields == ["question"]
    assert new.diff_against(old, included_fields=["name"]).changed_fields == ["name"]
    both = new.diff_against(old, included_fields=["name", "question"], excluded_fields=["name"])
    assert both.changed_fields == ["question"]
