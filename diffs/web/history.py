"""The rows of the admin's history page: an object's diffs, newest first, ready to show.

A page reads only its own diffs from Redis (by rank), and resolves what it shows with one
query per model: the actors (as users, where the actor is a user's pk) and the related objects
foreign keys point at (``DeletedObject`` where they are gone). Fields and values are shown as
the admin shows them (:mod:`.display`).
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, overload

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.text import capfirst

from ..reading import related
from ..reading.delta import ModelChange, ModelDelta
from ..reading.diff import Diff
from ..reading.diffset import DiffSet
from ..reading.render import kind
from ..registry import registration_for_label
from .display import field_label, moment, value_display


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
class Shown:
    """One changed field as the page shows it: its label, its values before and after."""

    label: str
    old: Any
    new: Any


@dataclass(frozen=True)
class Row:
    """One diff as the page shows it."""

    diff: Diff
    when: datetime.datetime
    who: Any
    kind: str
    changes: list[ModelChange]
    of_child: bool
    #: ``when`` in the current time zone, to the second.
    moment: str = ""
    #: The changed fields, with verbose names and values as the admin shows them.
    shown: tuple[Shown, ...] = ()
    #: What a child's diff is of (``Choice 5``), and its own Changes page (None: none).
    subject: str = ""
    link: str | None = None


#: ``link(label, pk)``: the address of the Changes page of another object, or None.
Link = Callable[[str, Any], "str | None"]


def rows(
    diffs: Sequence[Diff], label: str, pk: int | str, using: str, *, empty: str = "-",
    link: Link | None = None,
) -> list[Row]:
    """Return the rows of ``diffs`` (diffs of ``label``/``pk`` and of its children), whose
    related objects are looked up in database ``using``, the object's own; ``empty`` shows a
    value that is None, ``link`` gives a child's Changes page."""
    changes = _changes_with_objects(diffs, using)
    actors = _actors(diffs)
    found = []
    for diff in diffs:
        registration = registration_for_label(diff.model)
        model = None if registration is None else registration.model
        of_child = (diff.model, diff.pk) != (label, pk)
        shown = _shown(model, changes[diff.id], empty, deleted=diff.deleted)
        found.append(Row(
            diff=diff,
            when=diff.datetime,
            who=actors.get(_actor_key(diff.actor), diff.actor),
            kind=kind(diff),
            changes=changes[diff.id],
            of_child=of_child,
            moment=moment(diff.datetime),
            shown=shown,
            subject=_subject(model, diff) if of_child else "",
            link=link(diff.model, diff.pk) if of_child and link is not None else None,
        ))
    return found


def _shown(
    model: type[models.Model] | None, changes: list[ModelChange], empty: str, *, deleted: bool
) -> tuple[Shown, ...]:
    """Return the changes as shown: a delete shows the last values as its "new" side, and two
    values that differ but look alike (microseconds the admin's form dropped) as stored."""
    found = []
    for change in changes:
        new = change.old if deleted else change.new
        old_shown = value_display(model, change.field, change.old, empty)
        new_shown = value_display(model, change.field, new, empty)
        if str(old_shown) == str(new_shown) and change.old != new:
            old_shown, new_shown = str(change.old), str(new)
        found.append(Shown(field_label(model, change.field), old_shown, new_shown))
    return tuple(found)


def _subject(model: type[models.Model] | None, diff: Diff) -> str:
    name = diff.model if model is None else str(capfirst(model._meta.verbose_name))
    return f"{name} {diff.pk}"


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
