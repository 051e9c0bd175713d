"""The wire format, in milliseconds: builders, ids, and the exact rejection of each bad payload.

No worker and no Redis here: ``writer.check`` is what the write task runs before it stores
anything, with the worker's own label and pk checks. ``test_bad_input.py`` shows, end to end,
that a real worker survives such payloads.
"""

from __future__ import annotations

import json
import math
import re
import uuid

import pytest

from diffs import wire
from diffs.storage.writer import check
from diffs.wire.schema import PENDING_DB as DB
from diffs.wire.schema import PENDING_ROWS as ROWS
from tests import payloads
from tests.payloads import batch, changed, without

pytestmark = pytest.mark.unit

GOOD = payloads.diff()


def rejection(envelope):
    """Return the one error ``check`` gives for ``envelope`` (and that it stored nothing)."""
    parsed = check(envelope)
    assert parsed.good == [] and parsed.unknown == []
    assert len(parsed.errors) == 1, parsed.errors
    return parsed.errors[0]


HOSTILE = {
    "not an object": ("hello", r"not a version 1 diffs batch"),
    "wrong version": ({**batch(), wire.schema.BATCH_VERSION: 99}, r"not a version 1 diffs batch"),
    "diffs not a list": ({**batch(), wire.schema.BATCH_DIFFS: "x"}, r"batch has no list of diffs"),
    "unknown batch key": ({**batch(), "exec": "rm -rf /"}, r"unknown keys \['exec'\] in batch"),
    "diff not an object": (batch("x"), r"a diff must be an object"),
    "missing id": (batch(without(GOOD, wire.ID)), r"bad or missing id"),
    "bad id": (batch(changed(GOOD, **{wire.ID: "../../etc"})), r"bad or missing id"),
    "label with a colon": (
        batch(changed(GOOD, **{wire.MODEL: "testapp.question:1"})), r"unknown model label"
    ),
    "str pk for an int pk": (
        batch(changed(GOOD, **{wire.PK: "1"})), r"pk '1' is not a valid pk of testapp.question"
    ),
    "bool pk": (batch(changed(GOOD, **{wire.PK: True})), r"pk of testapp.question must be an int"),
    "list pk": (batch(changed(GOOD, **{wire.PK: [1]})), r"pk of testapp.question must be an int"),
    "empty str pk": (
        batch(payloads.diff(pk="", label="testapp.tag", new={"name": "x"})), r"empty or too long"
    ),
    "pk over the limit": (
        batch(payloads.diff(pk="x" * (wire.MAX_PK_LENGTH + 1), label="testapp.tag",
                            new={"name": "x"})),
        r"empty or too long",
    ),
    "time not a number": (batch(changed(GOOD, **{wire.TIME: "now"})), r"bad change time 'now'"),
    "time before 2000": (batch(changed(GOOD, **{wire.TIME: 5.0})), r"bad change time 5.0"),
    "time not finite": (batch(changed(GOOD, **{wire.TIME: math.inf})), r"bad change time inf"),
    "fields not an object": (
        batch(changed(GOOD, **{wire.NEW: [1, 2]})), r"'f' must map field names to values"
    ),
    "old values not an object": (
        batch(changed(GOOD, **{wire.OLD: "x"})), r"'o' must map field names to values"
    ),
    "context not an object": (
        batch(changed(GOOD, **{wire.CONTEXT: ["x"]})), r"the change context must be an object"
    ),
    "context over 4 KB": (
        batch(changed(GOOD, **{wire.CONTEXT: {"note": "x" * wire.schema.MAX_CONTEXT_BYTES}})),
        r"the change context is 4107 bytes, over the limit of 4096",
    ),
    "context nested 9 deep": (
        batch(changed(GOOD, **{wire.CONTEXT: {"deep": [[[[[[[["x"]]]]]]]]}})),
        r"the change context nests deeper than 8",
    ),
    "context name too long": (
        batch(changed(GOOD, **{wire.CONTEXT: {"n" * 101: 1}})),
        r"a change context name must be 1 to 100 characters",
    ),
    "context with an empty name": (
        batch(changed(GOOD, **{wire.CONTEXT: {"": 1}})),
        r"a change context name must be 1 to 100 characters",
    ),
    "context with NaN": (
        batch(changed(GOOD, **{wire.CONTEXT: {"actor": math.nan}})),
        r"the change context cannot be stored as JSON",
    ),
    "missing fields": (batch(without(GOOD, wire.NEW)), r"missing changed fields 'f'"),
    "unknown diff key": (batch({**GOOD, "z": 1}), r"unknown keys \['z'\] in diff"),
    "flag not 0/1": (batch(changed(GOOD, **{wire.CREATED: "yes"})), r"flag 'c' must be 0 or 1"),
    "flag a float": (batch(changed(GOOD, **{wire.DELETED: 1.0})), r"flag 'x' must be 0 or 1"),
    "parents not a list": (
        batch(changed(GOOD, **{wire.PARENTS: "up"})), r"parents must be a list of at most 32"
    ),
    "too many parents": (
        batch(changed(GOOD, **{wire.PARENTS: [["testapp.survey", n] for n in range(33)]})),
        r"parents must be a list of at most 32",
    ),
    "parent not a pair": (
        batch(changed(GOOD, **{wire.PARENTS: [["testapp.question"]]})),
        r"a parent must be \[label, pk\]",
    ),
    "parent label not a label": (
        batch(changed(GOOD, **{wire.PARENTS: [["x", 1]]})), r"unknown model label 'x'"
    ),
    "unknown label and a bad time": (
        batch(changed(GOOD, **{wire.MODEL: "nope.model", wire.TIME: "now"})),
        r"bad change time 'now'",
    ),
    "value JSON cannot store": (
        batch(payloads.diff(new={"question_text": math.nan})), r"cannot be stored as JSON"
    ),
    "5 MB value": (
        batch(payloads.diff(new={"question_text": "x" * 5_000_000})),
        r"is 50000\d\d bytes, over the max_diff_bytes limit of 524288",
    ),
}


@pytest.mark.parametrize("name", HOSTILE)
def test_each_hostile_payload_gets_its_own_rejection(name):
    envelope, message = HOSTILE[name]
    error = rejection(envelope)
    assert re.search(message, error), error


def test_a_rejected_diff_leaves_the_valid_ones_of_its_batch():
    parsed = check(batch(changed(GOOD, **{wire.PK: "nope"}), GOOD))
    assert [diff.id for diff in parsed.good] == [GOOD[wire.ID]]
    assert len(parsed.errors) == 1


@pytest.mark.parametrize(
    ("diff", "labels"),
    [
        (changed(GOOD, **{wire.MODEL: "nope.model"}), ("nope.model",)),
        (changed(GOOD, **{wire.MODEL: "testapp.plain"}), ("testapp.plain",)),  # not registered
        (changed(GOOD, **{wire.PARENTS: [["x.y", 1], ["x.y", 2]]}), ("x.y",)),
        (changed(GOOD, **{wire.MODEL: "nope.model", wire.PK: "any"}), ("nope.model",)),
    ],
    ids=["unknown model", "unregistered model", "unknown parent", "any pk of an unknown model"],
)
def test_a_diff_of_a_model_the_worker_does_not_know_is_set_aside_not_rejected(diff, labels):
    parsed = check(batch(diff, GOOD))
    assert [found.id for found in parsed.good] == [GOOD[wire.ID]]
    assert parsed.unknown == [(diff, labels)]
    assert parsed.errors == []


def test_checked_diff_is_encoded_as_the_stored_member_and_the_parents_copy():
    made = payloads.diff(pk=3, new={"question_text": "q"}, old={"question_text": "p"},
                         parents=(("testapp.survey", 9),))
    (checked,) = check(batch(made)).good
    assert checked.parents == (("testapp.survey", 9),)
    assert json.loads(checked.member) == {
        wire.ID: made[wire.ID], wire.NEW: {"question_text": "q"}, wire.OLD: {"question_text": "p"}
    }
    assert json.loads(checked.parent_member) == {
        **json.loads(checked.member), wire.MODEL: "testapp.question", wire.PK: 3
    }
    assert checked.raw is made


@pytest.mark.parametrize("pk", [3, 2**70, "a\"b\\ é\n", "12"])
def test_the_parents_copy_is_spliced_into_exactly_the_text_encoding_it_would_give(pk):
    member = wire.dumps({wire.ID: "0123456789abcdef", wire.NEW: {"x": [1.5, None, "é"]}})
    expected = wire.dumps({**json.loads(member), wire.MODEL: "app_1.some_model", wire.PK: pk})
    assert wire.validation._parent_member(member, "app_1.some_model", pk) == expected


def test_new_diff_of_a_create_has_no_old_values_and_flags_only_when_true():
    created = wire.new_diff("testapp.question", 1, {"a": 1}, {"a": 0}, created=True)
    assert wire.OLD not in created and created[wire.CREATED] == 1
    assert wire.DELETED not in created and wire.DATA not in created
    assert wire.PARENTS not in created
    deleted = wire.new_diff("testapp.question", 1, {}, {"a": 0}, deleted=True, data=None)
    assert deleted[wire.OLD] == {"a": 0} and deleted[wire.DELETED] == 1
    assert deleted[wire.DATA] is None  # a serialize_diff that returned None is still data


def test_the_context_travels_into_the_member_and_back():
    made = wire.new_diff("testapp.question", 1, {"a": 1}, context={"actor": 5})
    assert wire.new_diff("testapp.question", 1, {"a": 1}, context={}).get(wire.CONTEXT) is None
    (checked,) = check(batch(made)).good
    (stored,) = wire.decode_members([checked.member])
    assert stored.context == {"actor": 5}


def test_pending_rows_reference_round_trips_through_parse_pending():
    pending = wire.pending_rows("default", [(7, GOOD[wire.ID])])
    envelope = batch(GOOD, pending=pending)
    assert wire.parse_pending(envelope, known_alias=lambda alias: True) == (
        "default", [(7, GOOD[wire.ID])]
    )
    assert wire.pending_rows("default", []) is None
    assert wire.schema.BATCH_PENDING not in batch(GOOD, pending=None)


@pytest.mark.parametrize(
    ("pending", "message"),
    [
        ({DB: "default"}, "must be"),
        ({DB: "nope", ROWS: []}, "unknown database 'nope'"),
        ({DB: "default", ROWS: [["1", GOOD[wire.ID]]]}, "int id"),
        ({DB: "default", ROWS: [[1, "short"]]}, "int id, diff id"),
    ],
)
def test_bad_pending_rows_reference_is_rejected(pending, message):
    envelope = {**batch(GOOD), wire.schema.BATCH_PENDING: pending}
    with pytest.raises(wire.InvalidPayload, match=message):
        wire.parse_pending(envelope, known_alias=lambda alias: alias == "default")


def test_diff_ids_are_short_and_sort_in_the_order_changes_were_made():
    ids = [wire.change_time()[1] for _ in range(1000)]
    assert all(len(diff_id) == 16 for diff_id in ids)
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


def test_change_times_never_repeat_within_a_process():
    times = [wire.change_time()[0] for _ in range(1000)]
    assert times == sorted(times) and len(set(times)) == len(times)


def test_decode_members_reads_each_member_and_marks_the_unreadable():
    member = wire.dumps({wire.ID: GOOD[wire.ID], wire.NEW: {"a": 1}, wire.CREATED: 1})
    rolled_up = wire.dumps({wire.ID: GOOD[wire.ID], wire.NEW: {}, wire.MODEL: "a.b", wire.PK: 2})
    first, second, bad = wire.decode_members([member, rolled_up, '{"no": "id"}'])
    assert first == wire.StoredDiff(GOOD[wire.ID], None, None, True, False, {"a": 1}, {}, None,
                                    False, {})
    assert (second.model, second.pk) == ("a.b", 2)
    assert bad is None
    assert wire.decode_members(["{not json", member])[0] is None


def test_encode_pk_keeps_ints_and_strings_and_refuses_bools():
    assert wire.encode_pk(5) == 5
    assert wire.encode_pk("a:b") == "a:b"
    assert wire.encode_pk(uuid.UUID(int=1)) == "00000000-0000-0000-0000-000000000001"
    with pytest.raises(TypeError):
        wire.encode_pk(True)


def test_a_context_at_every_limit_is_accepted():
    note = "x" * (wire.schema.MAX_CONTEXT_BYTES - len('{"n":""}'))
    at_limits = {"n": note}
    assert len(wire.dumps(at_limits).encode()) == wire.schema.MAX_CONTEXT_BYTES
    wire.check_context(at_limits)
    wire.check_context({"a" * wire.schema.MAX_CONTEXT_NAME: [[[[[[[1]]]]]]], "b": {"c": None}})
    parsed = check(batch(changed(GOOD, **{wire.CONTEXT: at_limits})))
    assert parsed.errors == [] and len(parsed.good) == 1


@pytest.mark.parametrize("value", [{1: "x"}, {"x": {2: "y"}}, {"x": ("tuple",)}, {"x": b"b"}])
def test_a_context_of_other_than_json_is_refused(value):
    with pytest.raises(wire.InvalidPayload, match="change context"):
        wire.check_context(value)


@pytest.mark.parametrize("text", ["a" * 15, "a" * 17, "a" * 16 + "\n", "a" * 15 + "!", 16])
def test_only_sixteen_characters_of_the_id_alphabet_are_an_id(text):
    assert not wire.is_diff_id(text)
    assert wire.is_diff_id("-aZ_09" + "a" * 10)


@pytest.mark.parametrize("value", [
    {"i": "0123456789abcdef", "f": {"counter": 1, "score": 2.5}, "o": {}},
    {"é": "\u2028 \x00 \"quoted\" \\ \ud800", "n": None, "b": [True, False]},
    [1e16, 1.5e-07, -0.0, 123456789012345678901234567890, 2**63],
    "text", 5, 0.1, None, [], {},
    {"deep": [[[{"x": [1, {"y": "z"}]}]]]},
])
def test_dumps_writes_the_same_text_as_json_dumps(value: object) -> None:
    expected = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    assert wire.dumps(value) == expected


@pytest.mark.parametrize("number", [math.nan, math.inf, -math.inf])
def test_dumps_refuses_what_json_cannot_hold(number: float) -> None:
    with pytest.raises(ValueError, match="Out of range float values are not JSON compliant"):
        wire.dumps({"f": {"x": [number]}})


def test_dumps_refuses_a_value_json_cannot_encode() -> None:
    with pytest.raises(TypeError, match="is not JSON serializable"):
        wire.dumps({"f": object()})


def test_dumps_refuses_a_circular_value() -> None:
    circular: list[object] = []
    circular.append(circular)
    # CPython's C encoder runs out of depth; the pure-Python one (no _json) sees the cycle.
    with pytest.raises((RecursionError, ValueError)):
        wire.dumps(circular)
