"""Squashing: the diffs of one transaction's repeated saves of an object made into one.

Pure and in the web process: the buffer hands it the diffs that survived their transaction, in
the order they were made, at the commit, so a savepoint that rolled back has already taken its
diffs out. A run of saves of one object (its model squashed) becomes one diff: the first old
value and the last new value of each field, a field back at its first value dropped, a run
that nets to nothing dropped whole. A run that starts with a create stays a create, with the
values of the last save. A delete ends a run and is kept as it is: create then delete is two
diffs, ``created`` with the last values and ``deleted``, so an object that lived only inside a
transaction still leaves its history (its pk was used, someone made it). The squashed diff
takes the id, time, change context, custom data and parents of the run's last save, and that
save's place in the batch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .schema import CONTEXT, CREATED, DATABASE, DELETED, MODEL, NEW, OLD, OMITTED, PK, DiffPayload


def squash(diffs: list[DiffPayload], squashes: Callable[[str], bool]) -> list[DiffPayload]:
    """Return ``diffs`` with each run of saves of one object of a model ``squashes(label)``
    names made one diff, in the order of each run's last save."""
    slots: list[DiffPayload | None] = []
    runs: dict[tuple[Any, ...], int] = {}  # object -> slot of its open run
    merged: set[int] = set()  # slots made of more than one save
    for diff in diffs:
        if not squashes(diff[MODEL]):
            slots.append(diff)
            continue
        target = (diff[MODEL], diff[PK], diff.get(DATABASE, ""))
        if DELETED in diff:
            runs.pop(target, None)  # a delete ends the run and is kept as it is
            slots.append(diff)
            continue
        at = runs.get(target)
        runs[target] = len(slots)
        if at is None:
            slots.append(diff)
            continue
        earlier = slots[at]
        slots[at] = None
        merged.discard(at)
        merged.add(len(slots))
        slots.append(diff if earlier is None else _joined(earlier, diff))
    squashed = []
    for at, slot in enumerate(slots):
        if slot is not None and at in merged:
            slot = _settled(slot)
            if not slot[NEW] and CREATED not in slot:
                continue  # the saves of the run net to nothing
        if slot is not None:
            squashed.append(slot)
    return squashed


def _joined(earlier: DiffPayload, later: DiffPayload) -> DiffPayload:
    """Return the later save's diff carrying the earlier one's first old values and flag.

    Every field stays until :func:`_settled`: a field dropped now would take a later save's
    old value, which is not the first.
    """
    joined: DiffPayload = dict(later)  # type: ignore[assignment]  # a copy of a DiffPayload
    joined[NEW] = {**earlier[NEW], **later[NEW]}
    if CONTEXT not in later and CONTEXT in earlier:
        joined[CONTEXT] = earlier[CONTEXT]
    if CREATED in earlier:
        joined[CREATED] = earlier[CREATED]
        joined.pop(OLD, None)
        return joined
    old = dict(earlier.get(OLD, {}))
    later_old = later.get(OLD, {})
    for name in later[NEW]:
        if name not in earlier[NEW] and name in later_old:
            old[name] = later_old[name]  # first changed by this save: its old value is first
    joined[OLD] = old
    return joined


def _settled(diff: DiffPayload) -> DiffPayload:
    """Return a squashed update without the fields whose last value is their first."""
    if CREATED in diff:
        return diff
    old = diff.get(OLD, {})
    back = [name for name, value in diff[NEW].items() if name in old and _same(old[name], value)]
    if back:
        diff[NEW] = {k: v for k, v in diff[NEW].items() if k not in back}
        diff[OLD] = {k: v for k, v in old.items() if k not in back}
    return diff


def _same(old: Any, new: Any) -> bool:
    """Return whether two encoded values are one (never for values omitted as too large)."""
    if type(old) is not type(new) or old != new:
        return False
    return not (type(new) is dict and OMITTED in new)
