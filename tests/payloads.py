"""Task payloads for tests, built with the wire module's own builders (never by hand)."""

from __future__ import annotations

from typing import Any

from diffs import wire
from diffs.reading.diff import Diff


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
    if seconds_ago:
        built[wire.TIME], built[wire.ID] = wire.change_time(built[wire.TIME] - seconds_ago)
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


def store_aged(*diffs: dict[str, Any]) -> int:
    """Store diffs as if each had been stored at its change time (a score in the past), through
    the worker's check and the storage's write script; return how many members were new.

    The worker positions what it stores by the storage Redis' clock, so a diff made long ago
    and written now is young to a prune; a test of pruning needs diffs that arrived long ago.
    """
    from diffs.conf import diffs_settings
    from diffs.registry import max_age_for
    from diffs.storage import store
    from diffs.storage.connection import get_redis
    from diffs.storage.keys import object_name
    from diffs.storage.writer import check

    parsed = check(batch(*diffs))
    assert not parsed.errors and not parsed.unknown, parsed.errors
    objects: dict[str, tuple[str, list[tuple[str, float]]]] = {}
    for made in parsed.good:
        targets = [(made.label, made.pk, made.member)]
        targets += [(label, pk, made.parent_member) for label, pk in made.parents]
        for label, pk, member in targets:
            name = object_name(label, pk, made.database)
            objects.setdefault(name, (label, []))[1].append((member, made.timestamp))
    return store.write_members(get_redis(), diffs_settings.key_prefix, objects, max_age_for)


def model_feed_diffs(count: int) -> list[Diff]:
    """Return ``count`` diffs of tickets 1..count as a model feed reads them, stored one
    microsecond apart."""
    found = []
    for n in range(1, count + 1):
        moment, diff_id = wire.change_time()
        found.append(Diff(id=diff_id, model="testapp.ticket", pk=n, timestamp=moment,
                          new={"title": n}, position=1_800_000_000 + n / 1e6))
    return found
