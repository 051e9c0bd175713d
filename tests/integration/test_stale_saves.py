"""Stale instances: loaded before another process changed the row, then saved whole.

By default old values come from the state the instance was loaded with, so such a save records
nothing for a field it did not change in memory, though it wrote the stale value back over the
other process's. ``@diffs.register(read_old_values=True)`` reads the row first and records it.
"""

from __future__ import annotations

import pytest
from django.db import transaction

from tests.integration.conftest import stored
from tests.testapp.models import Counter, PlainCounter

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("delivery")]


def race(model):
    """Return the diffs after a stale instance overwrote another process's change."""
    row = model.objects.create(name="a")
    stale = model.objects.get(pk=row.pk)
    other = model.objects.get(pk=row.pk)  # the other process's instance
    other.name = "b"
    other.save()
    stale.count = 1
    stale.save()  # writes name="a" back
    assert model.objects.get(pk=row.pk).name == "a"
    return stored(row.diffs, 3)


def test_by_default_the_stale_save_leaves_the_other_process_s_value_in_the_history():
    _, other, stale = race(PlainCounter)
    assert other.new == {"name": "b"}
    assert (stale.old, stale.new) == ({"count": 0}, {"count": 1})  # name "a" not seen


def test_read_old_values_records_what_the_stale_save_wrote_over():
    _, other, stale = race(Counter)
    assert other.new == {"name": "b"}
    assert (stale.old, stale.new) == ({"name": "b", "count": 0}, {"name": "a", "count": 1})
    final = stale.diff_against(other)
    assert [(c.field, c.old, c.new) for c in final.changes] == [
        ("count", 0, 1), ("name", "b", "a")
    ]


def test_read_old_values_inside_a_transaction_and_with_update_fields():
    row = Counter.objects.create(name="a")
    stale = Counter.objects.get(pk=row.pk)
    Counter.objects.filter(pk=row.pk).update(name="b", count=5)  # unrecorded: raw change
    with transaction.atomic():
        stale.count = 6
        stale.save(update_fields=["count"])  # reads count only: name is not written
    _, changed = stored(row.diffs, 2)
    assert (changed.old, changed.new) == ({"count": 5}, {"count": 6})


def test_a_save_that_changes_nothing_the_row_holds_records_nothing():
    row = Counter.objects.create(name="a")
    Counter.objects.get(pk=row.pk).save()
    assert len(stored(row.diffs, 1)) == 1
