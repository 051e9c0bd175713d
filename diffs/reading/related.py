"""``foreign_keys_are_objs``: the primary keys of a delta become model instances.

A diff knows only labels and JSON values, so the registration's fields say which values point
where: a foreign key's value points at its related model, and each key of a many-to-many dict
at the model its through model's foreign key of that name points at. All values bound for one
model are fetched with one query; a value with no row any more becomes a ``DeletedObject``.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models

from ..registry import Registration
from .delta import DeletedObject, ModelChange, ModelDelta

#: A related model and the field of it a foreign key stores (its pk, or the ``to_field``).
Target = tuple[type[models.Model], models.Field]


def with_objects(
    delta: ModelDelta, registration: Registration, using: str = "default"
) -> ModelDelta:
    """Return ``delta`` with its foreign key values replaced by objects or DeletedObjects.

    The objects are read from database ``using``, the one of the object the delta is about.
    """
    targets = {change.field: _targets(registration, change.field) for change in delta.changes}
    wanted: defaultdict[Target, set[Any]] = defaultdict(set)

    def want(target: Target, key: Any) -> Any:
        wanted[target].add(key)
        return key

    for change in delta.changes:
        _replace(targets[change.field], change.old, want)
        _replace(targets[change.field], change.new, want)
    found = {target: _fetch(target, keys, using) for target, keys in wanted.items()}

    def fetched(target: Target, key: Any) -> Any:
        row = found[target].get(key)
        return row if row is not None else DeletedObject(target[0], key)

    changes = [
        ModelChange(
            c.field,
            _replace(targets[c.field], c.old, fetched),
            _replace(targets[c.field], c.new, fetched),
        )
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
        through = field.remote_field.through  # type: ignore[union-attr]  # a many-to-many field always has one
        return {
            fk.name: (fk.related_model, fk.target_field)
            for fk in through._meta.get_fields()
            if fk.many_to_one and fk.concrete
        }
    if (field.many_to_one or field.one_to_one) and field.concrete:
        # The stubs' Field has no related_model/target_field; a relation's field has both.
        return (field.related_model, field.target_field)  # type: ignore[attr-defined,return-value]
    return None


def _replace(
    target: Target | dict[str, Target] | None, value: Any, leaf: Callable[[Target, Any], Any]
) -> Any:
    """Return ``value`` with each non-null key it holds for a target replaced by ``leaf``."""
    if target is None or value is None:
        return value
    if isinstance(target, dict):
        if not isinstance(value, list):
            return value
        return [
            {key: _replace(target.get(key), pk, leaf) for key, pk in row.items()}
            if isinstance(row, dict) else row
            for row in value
        ]
    try:
        key = target[1].to_python(value)
    except (ValidationError, TypeError, ValueError):
        return DeletedObject(target[0], value)  # no row can hold a key the field rejects
    return leaf(target, key)


def _fetch(target: Target, keys: set[Any], using: str) -> dict[Any, models.Model]:
    """Return the rows of ``target`` whose field holds one of ``keys``, by key: one query."""
    model, field = target
    rows = model._base_manager.using(using).filter(**{f"{field.attname}__in": keys})
    return {getattr(row, field.attname): row for row in rows}
