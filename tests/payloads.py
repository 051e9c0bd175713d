"""Task payloads for tests, built with the wire module's own builders (never by hand)."""

from __future__ import annotations

from typing import Any

from diffs import wire


def diff(
    pk: Any = 1,
    label: str = "testapp.question",
    new: dict[str, Any] | None = None,
    *,
    old: dict[str, Any] | None = None,
    created: bool = False,
    parents: tuple[tuple[str, Any], ...] = (),
    seconds_ago: float = 0.0,
    context: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Return a valid diff of ``label``/``pk`` made ``seconds_ago`` (of ``question_text``)."""
    built = wire.new_diff(
        label, pk, {"question_text": "x"} if new is None else new, old,
        created=created, parents=parents, context=context,
    )
    built[wire.TIME] -= seconds_ago
    return built


def changed(original: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """Return a copy of a diff with fields (named by their wire constants' values) replaced."""
    return {**original, **fields}


def without(original: dict[str, Any], field: str) -> dict[str, Any]:
    """Return a copy of a diff without one field."""
    return {name: value for name, value in original.items() if name != field}


def batch(*diffs: dict[str, Any], pending: dict[str, Any] | None = None) -> dict[str, Any]:
    """Return the batch envelope of ``diffs``."""
    return wire.batch(list(diffs), pending)


def member_ids(members: list[str]) -> list[str]:
    """Return the diff ids of stored members, in their order."""
    return [stored.id for stored in wire.decode_members(members) if stored is not None]
