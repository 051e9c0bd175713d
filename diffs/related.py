"""``foreign_keys_are_objs``: the primary keys of a delta become model instances.

A diff knows only labels and JSON values, so the registration's fields say which values point
where: a foreign key's value points at its related model, and each key of a many-to-many dict
at the model its through model's foreign key of that name points at. All values bound for one
model are fetched with one query; a value with no row any more becomes a ``DeletedObject``.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import models

from .delta import DeletedObject, ModelChange, ModelDelta
from .registry import Registration

#: A related model and the field of it a foreign key stores (its pk, or the ``to_field``).
Target = tuple[type[models.Model], models.Field]


def with_objects(delta: ModelDelta, registration: Registration) -> ModelDelta:
    """Return ``delta`` with its foreign key values replaced by objects or DeletedObjects."""
    targets = {change.field: _targets(registration, change.field) for change in delta.changes}
    wanted: defaultdict[Target, set[Any]] = defaultdict(set)
    for change in delta.changes:
        for value in (change.old, change.new):
            for target, key in _references(targets[change.field], value):
                wanted[target].add(key)
    found = {target: _fetch(target, keys) for target, keys in wanted.items()}

    def resolve(target: Target | dict[str, Target] | None, value: Any) -> Any:
        if target is None or value is None:
            return value
        if isinstance(target, dict):
            if not isinstance(value, list):
                return value
            return [
                {key: resolve(target.get(key), pk) for key, pk in row.items()}
                if isinstance(row, dict) else row
                for row in value
            ]
        key = _python(target, value)
        row = found.get(target, {}).get(key)
        return row if row is not None else DeletedObject(target[0], key)

    changes = [
        ModelChange(c.field, resolve(targets[c.field], c.old), resolve(targets[c.field], c.new))
        for c in delta.changes
    ]
    return dataclasses.replace(delta, changes=changes)


def _targets(registration: Registration, name: str) -> Target | dict[str, Target] | None:
    """Return where a field's values point: one target, one per through key, or None."""
    try:
        field = registration.model._meta.get_field(name)
    except FieldDoesNotExist:
        return None
    if field.many_to_many:
        through = field.remote_field.through  # type: ignore[union-attr]
        return {
            fk.name: (fk.related_model, fk.target_field)  # type: ignore[attr-defined]
            for fk in through._meta.get_fields()
            if fk.many_to_one and fk.concrete
        }
    if (field.many_to_one or field.one_to_one) and field.concrete:
        return (field.related_model, field.target_field)  # type: ignore[attr-defined,return-value]
    return None


def _references(target: Target | dict[str, Target] | None, value: Any) -> list[tuple[Target, Any]]:
    """Return ``(target, key)`` for every non-null reference a stored value holds."""
    if target is None or value is None:
        return []
    if isinstance(target, dict):
        if not isinstance(value, list):
            return []
        return [
            (target[key], _python(target[key], pk))
            for row in value if isinstance(row, dict)
            for key, pk in row.items()
            if key in target and pk is not None
        ]
    return [(target, _python(target, value))]


def _python(target: Target, value: Any) -> Any:
    """Return a stored (JSON) key as the Python value the related field holds."""
    try:
        return target[1].to_python(value)
    except Exception:  # a value the field no longer accepts: it can match no row
        return value


def _fetch(target: Target, keys: set[Any]) -> dict[Any, models.Model]:
    """Return the rows of ``target`` whose field holds one of ``keys``, by key: one query."""
    model, field = target
    rows = model._base_manager.filter(**{f"{field.attname}__in": keys})
    return {getattr(row, field.attname): row for row in rows}
