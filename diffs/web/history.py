"""The rows of the admin's history page: an object's diffs, newest first, ready to show.

A page reads only its own diffs from Redis (by rank), and resolves what it shows with one
query per model: the actors (as users, where the actor is a user's pk) and the related objects
foreign keys point at (``DeletedObject`` where they are gone).
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, overload

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from ..reading import related
from ..reading.delta import ModelChange, ModelDelta
from ..reading.diff import Diff
from ..reading.diffset import DiffSet
from ..reading.render import kind
from ..registry import registration_for_label


class NewestFirst(Sequence[Diff]):
    """A ``DiffSet`` seen newest first, sliced by rank in Redis (what ``Paginator`` needs)."""

    def __init__(self, diffs: DiffSet) -> None:
        self.diffs = diffs
        self._count: int | None = None

    def __len__(self) -> int:
        if self._count is None:
            self._count = len(self.diffs)
        return self._count

    @overload
    def __getitem__(self, index: int) -> Diff: ...

    @overload
    def __getitem__(self, index: slice) -> list[Diff]: ...

    def __getitem__(self, index: int | slice) -> Diff | list[Diff]:
        count = len(self)
        if isinstance(index, int):
            return self[index:index + 1][0]
        start, stop, _ = index.indices(count)
        if start >= stop:
            return []
        return list(reversed(self.diffs[count - stop:count - start]))


@dataclass(frozen=True)
class Row:
    """One diff as the page shows it."""

    diff: Diff
    when: datetime.datetime
    who: Any
    kind: str
    changes: list[ModelChange]
    of_child: bool


def rows(diffs: Sequence[Diff], label: str, pk: int | str, using: str) -> list[Row]:
    """Return the rows of ``diffs`` (diffs of ``label``/``pk`` and of its children), whose
    related objects are looked up in database ``using``, the object's own."""
    changes = _changes_with_objects(diffs, using)
    actors = _actors(diffs)
    return [
        Row(
            diff=diff,
            when=diff.datetime,
            who=actors.get(_actor_key(diff.actor), diff.actor),
            kind=kind(diff),
            changes=changes[diff.id],
            of_child=(diff.model, diff.pk) != (label, pk),
        )
        for diff in diffs
    ]


def _changes_with_objects(diffs: Sequence[Diff], using: str) -> dict[str, list[ModelChange]]:
    """Return each diff's own changes, foreign keys as objects: one query per related model."""
    by_label: defaultdict[str, list[Diff]] = defaultdict(list)
    for diff in diffs:
        by_label[diff.model].append(diff)
    found: dict[str, list[ModelChange]] = {}
    for label, group in by_label.items():
        registration = registration_for_label(label)
        own = [diff.delta.changes for diff in group]
        if registration is not None:
            # One delta holding every change of the group, so each related model is one query.
            merged = ModelDelta(None, None, [], [change for changes in own for change in changes])
            resolved = iter(related.with_objects(merged, registration, using).changes)
            own = [[next(resolved) for _ in changes] for changes in own]
        found.update((diff.id, changes) for diff, changes in zip(group, own, strict=True))
    return found


def _actor_key(actor: Any) -> Any:
    return actor if isinstance(actor, (int, str)) and not isinstance(actor, bool) else None


def _actors(diffs: Sequence[Diff]) -> dict[Any, Any]:
    """Return the users whose pks the diffs name as actors, keyed by the actor (one query)."""
    user_model = get_user_model()
    pks: dict[Any, Any] = {}  # the actor as the diff holds it -> the user pk it names
    for diff in diffs:
        key = _actor_key(diff.actor)
        if key is not None and key not in pks:
            try:
                pks[key] = user_model._meta.pk.to_python(key)  # type: ignore[union-attr]
            except (ValidationError, TypeError, ValueError):
                continue
    if not pks:
        return {}
    users = {user.pk: user for user in user_model._base_manager.filter(pk__in=set(pks.values()))}
    return {key: users[pk] for key, pk in pks.items() if pk in users}
