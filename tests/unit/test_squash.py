"""Squashing one transaction's repeated saves of an object (``diffs.wire.squash``)."""

from __future__ import annotations

from typing import Any

from diffs import wire
from diffs.wire import CONTEXT, CREATED, DELETED, ID, NEW, OLD, OMITTED


def every(label: str) -> bool:
    return True


def update(new: dict[str, Any], old: dict[str, Any], pk: int = 1, **extra: Any) -> wire.DiffPayload:
    return wire.new_diff("app.thing", pk, new, old, **extra)


def create(new: dict[str, Any], pk: int = 1) -> wire.DiffPayload:
    return wire.new_diff("app.thing", pk, new, created=True)


def delete(old: dict[str, Any], pk: int = 1) -> wire.DiffPayload:
    return wire.new_diff("app.thing", pk, {}, old, deleted=True)


def test_saves_of_one_object_become_one_diff_with_first_old_and_last_new_values():
    first = update({"a": 2}, {"a": 1})
    second = update({"a": 3, "b": "y"}, {"a": 2, "b": "x"})
    last = update({"b": "z"}, {"b": "y"})
    [squashed] = wire.squash([first, second, last], every)
    assert squashed[NEW] == {"a": 3, "b": "z"}
    assert squashed[OLD] == {"a": 1, "b": "x"}
    assert squashed[ID] == last[ID]


def test_a_field_back_at_its_first_value_is_dropped():
    [squashed] = wire.squash(
        [update({"a": 2, "b": 5}, {"a": 1, "b": 4}), update({"a": 1}, {"a": 2})], every
    )
    assert squashed[NEW] == {"b": 5}
    assert squashed[OLD] == {"b": 4}


def test_saves_that_net_to_nothing_record_nothing():
    assert wire.squash([update({"a": 2}, {"a": 1}), update({"a": 1}, {"a": 2})], every) == []


def test_a_field_back_and_changed_again_keeps_its_first_old_value():
    diffs = [update({"a": 2}, {"a": 1}), update({"a": 1}, {"a": 2}), update({"a": 3}, {"a": 1})]
    [squashed] = wire.squash(diffs, every)
    assert (squashed[NEW], squashed[OLD]) == ({"a": 3}, {"a": 1})


def test_an_unknown_first_old_value_stays_unknown():
    [squashed] = wire.squash([update({"a": 2}, {}), update({"a": 3}, {"a": 2})], every)
    assert (squashed[NEW], squashed[OLD]) == ({"a": 3}, {})


def test_values_omitted_as_too_large_are_never_taken_for_unchanged():
    omitted = {OMITTED: "too large", "size": 900_000}
    diffs = [update({"a": omitted}, {"a": omitted}), update({"b": 2}, {"b": 1})]
    [squashed] = wire.squash(diffs, every)
    assert squashed[NEW] == {"a": omitted, "b": 2}


def test_a_create_then_changes_is_one_created_diff_with_the_last_values():
    [squashed] = wire.squash([create({"a": 1, "b": 1}), update({"a": 2}, {"a": 1})], every)
    assert squashed[NEW] == {"a": 2, "b": 1}
    assert squashed[CREATED] == 1
    assert OLD not in squashed


def test_a_create_then_a_delete_is_a_created_diff_and_a_deleted_one():
    made, changed, gone = create({"a": 1}), update({"a": 2}, {"a": 1}), delete({"a": 2})
    first, second = wire.squash([made, changed, gone], every)
    assert (first[CREATED], first[NEW]) == (1, {"a": 2})
    assert second is gone and second[DELETED] == 1


def test_a_save_after_a_delete_starts_a_new_diff():
    diffs = [update({"a": 2}, {"a": 1}), delete({"a": 2}), create({"a": 5})]
    assert wire.squash(diffs, every) == diffs


def test_objects_and_models_not_squashed_keep_their_diffs_in_order():
    one, other = update({"a": 2}, {"a": 1}, pk=1), update({"a": 2}, {"a": 1}, pk=2)
    again = update({"a": 3}, {"a": 2}, pk=1)
    assert wire.squash([one, other, again], lambda label: False) == [one, other, again]
    squashed = wire.squash([one, other, again], every)
    assert [d[ID] for d in squashed] == [other[ID], again[ID]]
    assert squashed[1][OLD] == {"a": 1}


def test_the_last_change_context_is_kept_else_the_first():
    diffs = [update({"a": 2}, {"a": 1}, context={"actor": 1}), update({"a": 3}, {"a": 2})]
    assert wire.squash(diffs, every)[0][CONTEXT] == {"actor": 1}
    diffs.append(update({"a": 4}, {"a": 3}, context={"actor": 2}))
    assert wire.squash(diffs, every)[0][CONTEXT] == {"actor": 2}


def test_a_single_save_is_left_as_it_was():
    diff = update({"a": 1}, {"a": 1})
    assert wire.squash([diff], every)[0] is diff
