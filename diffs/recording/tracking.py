"""Dirty-field tracking: the state each instance was loaded or last saved with.

The state lives in ``instance._original_state`` (django-dirtyfields' attribute), keyed by field
name. A registered model that does not already use ``DirtyFieldsMixin`` gets the mixin's public
methods (``get_dirty_fields``, ``is_dirty``, ...) set on the class rather than spliced into its
bases, so registering never changes the model's migrations. Its state is captured in ``from_db``
(not ``post_init``), only for the recorded fields, and values of immutable types are not copied:
loading instances stays close to the cost of an untracked model.
"""

from __future__ import annotations

import datetime
import decimal
import uuid
from collections.abc import Iterable
from copy import deepcopy
from typing import Any

from dirtyfields import DirtyFieldsMixin
from django.db import models
from django.db.models.expressions import BaseExpression, Combinable
from django.db.models.fields.files import FieldFile

from ..registry import TrackedField
from ..wire import UNKNOWN

STATE_ATTR = "_original_state"

#: Values of these exact types cannot change in place, so the state keeps them as they are.
IMMUTABLE_TYPES = frozenset(
    {
        type(None), bool, int, float, str, bytes, decimal.Decimal, uuid.UUID,
        datetime.datetime, datetime.date, datetime.time, datetime.timedelta,
    }
)

_GRAFTED = (
    "compare_function", "normalise_function", "ENABLE_M2M_CHECK", "_as_dict", "_as_dict_m2m",
    "_connect_m2m_relations", "get_dirty_fields", "is_dirty", "save_dirty_fields",
)


def frozen(value: Any) -> Any:
    """Return a copy of ``value`` that later in-place changes of the instance cannot reach."""
    if type(value) in IMMUTABLE_TYPES:
        return value
    if isinstance(value, (BaseExpression, Combinable)):
        return UNKNOWN
    if isinstance(value, FieldFile):
        return value.name
    if isinstance(value, memoryview):
        return bytes(value)
    return deepcopy(value)


def snapshot(values: dict[str, Any], pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Return ``{name: frozen value}`` for the pairs ``(name, attname)`` loaded in ``values``."""
    state = {}
    for name, attname in pairs:
        if attname in values:
            value = values[attname]
            if type(value) not in IMMUTABLE_TYPES:
                value = frozen(value)
                if value is UNKNOWN:
                    continue
            state[name] = value
    return state


def install(model: type[models.Model], fields: tuple[TrackedField, ...]) -> None:
    """Give ``model`` the django-dirtyfields API and keep its state from load to save."""
    if issubclass(model, DirtyFieldsMixin):
        return  # the mixin already keeps _original_state from __init__ and post_save
    for name in _GRAFTED:
        if not hasattr(model, name):
            setattr(model, name, DirtyFieldsMixin.__dict__[name])
    model.FIELDS_TO_CHECK = [f.name for f in fields]  # type: ignore[attr-defined]  # dirtyfields' attribute
    pairs = tuple((f.name, f.attname) for f in fields)
    _wrap_from_db(model, pairs)
    _wrap_refresh_from_db(model, pairs)


def _wrap_from_db(model: type[models.Model], pairs: tuple[tuple[str, str], ...]) -> None:
    original = model.from_db.__func__  # type: ignore[attr-defined]  # a classmethod's function

    def from_db(cls: type[models.Model], db: str, field_names: Any, values: Any,
                **options: Any) -> models.Model:
        # Django 6.1 passes ``fetch_mode=`` to a from_db() that accepts it (and warns about
        # one that does not); older versions pass nothing.
        instance = original(cls, db, field_names, values, **options)
        # Read through getattr, not __dict__: touching __dict__ makes CPython build a dict for
        # an instance that keeps its attributes inline, one more allocation per loaded row.
        state = {}
        for name, attname in pairs:
            if attname in field_names:
                value = getattr(instance, attname)
                if type(value) not in IMMUTABLE_TYPES:
                    value = frozen(value)
                    if value is UNKNOWN:
                        continue
                state[name] = value
        setattr(instance, STATE_ATTR, state)
        return instance

    # Wrapped on purpose: the loaded state is captured here.
    model.from_db = classmethod(from_db)  # type: ignore[method-assign,assignment]


def _wrap_refresh_from_db(model: type[models.Model], pairs: tuple[tuple[str, str], ...]) -> None:
    original = model.refresh_from_db

    def refresh_from_db(self: models.Model, using: Any = None, fields: Any = None,
                        *args: Any, **kwargs: Any) -> None:
        original(self, using, fields, *args, **kwargs)
        chosen = pairs if fields is None else [p for p in pairs if p[0] in fields or p[1] in fields]
        state = self.__dict__.setdefault(STATE_ATTR, {})
        state.update(snapshot(self.__dict__, chosen))

    model.refresh_from_db = refresh_from_db  # type: ignore[method-assign]  # wrapped on purpose


def saved_state(instance: models.Model) -> dict[str, Any] | None:
    """Return the state the instance had in the database, or None when it is unknown."""
    return instance.__dict__.get(STATE_ATTR)


def dirty(
    instance: models.Model,
    fields: tuple[TrackedField, ...],
    update_fields: Iterable[str] | None,
) -> list[tuple[TrackedField, Any, Any]]:
    """Return ``(field, old, new)`` for each recorded field whose value the save changed.

    ``old`` is ``UNKNOWN`` when the instance was not loaded from the database (or the field was
    deferred); ``new`` is ``UNKNOWN`` when the field was assigned an expression, whose value
    only the database knows.
    """
    values = instance.__dict__
    state = values.get(STATE_ATTR)
    if state is None:
        state = {}
    chosen = None if update_fields is None else frozenset(update_fields)
    changed = []
    for tracked in fields:
        if chosen is not None and tracked.name not in chosen and tracked.attname not in chosen:
            continue
        attname = tracked.attname
        if attname not in values:
            continue  # deferred and never assigned: not written by this save
        new = values[attname]
        old = state.get(tracked.name, UNKNOWN)
        if old is not UNKNOWN and (old is new or _equal(old, new)):
            continue
        kind = type(new)
        if kind in IMMUTABLE_TYPES and kind is not str:
            changed.append((tracked, old, new))  # already as the database gives it back
            continue
        if isinstance(new, (BaseExpression, Combinable)):
            changed.append((tracked, old, UNKNOWN))
            continue
        new = _normalised(tracked.field, new)
        if old is not UNKNOWN and _equal(old, new):
            continue
        changed.append((tracked, old, new))
    return changed


def _equal(old: Any, new: Any) -> bool:
    try:
        return bool(old == new) and type(old) is type(new)
    except Exception:  # an odd type that cannot compare: treat it as changed
        return False


def _normalised(field: models.Field, value: Any) -> Any:
    """Return the value as the database will give it back (``"5"`` for an int field is 5).

    A file is its name (what the column holds: a save that did not change it records nothing)
    and a ``memoryview`` its bytes, as in the saved state.
    """
    if type(value) in IMMUTABLE_TYPES and not isinstance(value, str):
        return value
    if isinstance(value, str) and field.get_internal_type() in _TEXT_TYPES:
        return value
    if isinstance(value, FieldFile):
        return value.name
    if isinstance(value, memoryview):
        return bytes(value)
    try:
        return field.to_python(value)
    except Exception:
        return value


_TEXT_TYPES = frozenset(
    {"CharField", "TextField", "SlugField", "EmailField", "URLField", "FilePathField"}
)


def remember(instance: models.Model, values: dict[str, Any]) -> None:
    """Record ``{name: value}`` as what the database now holds for the instance."""
    state = instance.__dict__.get(STATE_ATTR)
    if state is None:
        instance.__dict__[STATE_ATTR] = state = {}
    for name, value in values.items():
        if value is UNKNOWN:
            state.pop(name, None)
        elif type(value) in IMMUTABLE_TYPES:  # most values: no call to make
            state[name] = value
        else:
            state[name] = frozen(value)
