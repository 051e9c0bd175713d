"""Diffs for people and programs: one JSON shape (the feed, ``show_diffs --json``) and one
text table (``show_diffs``, ``make demo``). Pure functions of ``Diff`` values: no I/O."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .delta import ModelDelta
from .diff import Diff


def kind(diff: Diff) -> str:
    """Return ``created``, ``deleted`` or ``changed``."""
    return "created" if diff.created else "deleted" if diff.deleted else "changed"


def diff_as_json(diff: Diff) -> dict[str, Any]:
    """Return a diff as the feed sends it; ``context`` only when the change has one."""
    found: dict[str, Any] = {
        "id": diff.id,
        "model": diff.model,
        "pk": diff.pk,
        "timestamp": diff.timestamp,
        "created": diff.created,
        "deleted": diff.deleted,
        "changed_fields": diff.changed_fields,
        "old": diff.old,
        "new": diff.new,
    }
    if diff.context:
        found["context"] = diff.context
    return found


def delta_as_json(delta: ModelDelta) -> dict[str, Any]:
    """Return a net change as JSON: its fields, their changes, and the diffs bounding it."""
    return {
        "changed_fields": delta.changed_fields,
        "changes": [{"field": c.field, "old": c.old, "new": c.new} for c in delta.changes],
        "old_record": None if delta.old_record is None else delta.old_record.id,
        "new_record": None if delta.new_record is None else delta.new_record.id,
    }


def changes_text(diff: Diff) -> str:
    """Return a diff's fields as ``name: old -> new`` (``name=new`` for a create)."""
    return ", ".join(
        f"{name}={diff.new.get(name)!r}" if diff.created
        else f"{name}: {diff.old.get(name)!r} -> {diff.new.get(name)!r}"
        for name in diff.changed_fields
    )


HEADER = f"{'when (UTC)':<26} {'object':<22} {'kind':<8} {'who':<8} changes"


def table_row(diff: Diff) -> str:
    """Return one line of the table: when, which object, kind, who, the changes."""
    when = diff.datetime.strftime("%Y-%m-%d %H:%M:%S.%f")
    who = "" if diff.actor is None else str(diff.actor)
    return f"{when:<26} {diff.model + ':' + str(diff.pk):<22} {kind(diff):<8} {who:<8} " \
        f"{changes_text(diff)}"


def table(diffs: Iterable[Diff]) -> list[str]:
    """Return the readable table of ``diffs``: a header line, then one line per diff."""
    return [HEADER, *(table_row(diff) for diff in diffs)]
