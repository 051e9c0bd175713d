"""The catalogue of registered models: what is recorded of each, and the lookups on it.

It only knows; it connects nothing. :mod:`diffs.installer` fills it (``@diffs.register``) and
wires each model up; the recording side, the reading side and the worker look things up here.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.db import models

from .conf import diffs_settings
from .exceptions import AlreadyRegistered, InvalidOption, NotRegistered, UnknownField


@dataclass(frozen=True)
class TrackedField:
    """A concrete field whose changes are recorded."""

    name: str
    attname: str
    field: models.Field


@dataclass(frozen=True)
class Registration:
    """Everything the library knows about one registered model."""

    model: type[models.Model]
    label: str
    fields: tuple[TrackedField, ...]
    m2m_fields: tuple[str, ...]
    max_element_age: int | None
    read_old_values: bool = False
    #: Whether the worker also adds each diff to the model's feed (``storage.keys.feed_key``).
    model_feed: bool = False
    #: Whether one transaction's saves of an object become one diff (None: the setting).
    squash: bool | None = None

    @property
    def squashes(self) -> bool:
        """Whether one transaction's saves of an object become one diff."""
        return diffs_settings.squash if self.squash is None else self.squash


#: The parent hook: a model's method returning the instance its diffs roll up to (or None).
PARENT_HOOK = "get_diff_parent"
#: The hook that makes a diff's custom data (``serialize_diff(changed_field_names)``).
SERIALIZE_HOOK = "serialize_diff"

_by_model: dict[type[models.Model], Registration] = {}
_by_label: dict[str, Registration] = {}
_squashed: set[str] = set()  # the labels registered with squash=True


def add(registration: Registration) -> None:
    """Enter ``registration`` in the catalogue; raise ``AlreadyRegistered`` for a second one."""
    if registration.model in _by_model or registration.label in _by_label:
        raise AlreadyRegistered(
            f"{registration.model._meta.label} is already registered with diffs; register it once."
        )
    _by_model[registration.model] = registration
    _by_label[registration.label] = registration
    if registration.squash:
        _squashed.add(registration.label)


def _find(model: type[models.Model] | models.Model) -> Registration | None:
    """Return the registration of a model class or instance, or None.

    A proxy has its concrete model's: a row has one history, whichever class saved it.
    """
    cls = model if isinstance(model, type) else type(model)
    found = _by_model.get(cls)
    concrete = getattr(getattr(cls, "_meta", None), "concrete_model", None)
    if found is None and concrete is not None:
        found = _by_model.get(concrete)
    return found


def get_registration(model: type[models.Model] | models.Model) -> Registration:
    """Return the registration of a model class or instance (a proxy: its concrete model's),
    or raise ``NotRegistered``."""
    found = _find(model)
    if found is None:
        cls = model if isinstance(model, type) else type(model)
        raise NotRegistered(
            f"{getattr(cls, '__name__', cls)!s} is not registered with diffs; "
            "decorate it with @diffs.register."
        )
    return found


def registration_for_label(label: str) -> Registration | None:
    """Return the registration of an ``app_label.modelname`` label, or None."""
    return _by_label.get(label)


def is_registered(model: type[models.Model] | models.Model) -> bool:
    """Return whether a model class or instance is recorded (a proxy: its concrete model)."""
    return _find(model) is not None


def registrations() -> Iterator[Registration]:
    """Iterate over every registration, in registration order."""
    return iter(list(_by_model.values()))


def squashing() -> bool:
    """Return whether any model's saves may be squashed (a commit need not look otherwise)."""
    return diffs_settings.squash or bool(_squashed)


def squashes(label: str) -> bool:
    """Return whether the saves of one transaction of a ``label`` object become one diff."""
    registration = _by_label.get(label)
    return diffs_settings.squash if registration is None else registration.squashes


def max_age_for(label: str) -> int:
    """Return how long a diff kept under ``label`` lives: its model's age, else the setting."""
    registration = _by_label.get(label)
    if registration is not None and registration.max_element_age is not None:
        return registration.max_element_age
    return diffs_settings.max_element_age


def keeps_model_feed(label: str) -> bool:
    """Return whether the model ``label`` is registered with ``model_feed=True``."""
    registration = _by_label.get(label)
    return registration is not None and registration.model_feed


def recordable_fields(model: type[models.Model]) -> tuple[list[models.Field], list[models.Field]]:
    """Return the model's concrete fields and its own many-to-many fields.

    Left out: the pk (it names the object) and generated fields (the database computes them
    from the fields that are recorded, and Django does not know their value after an update).
    """
    meta = model._meta
    concrete = [
        f for f in meta.concrete_fields if not f.primary_key and not getattr(f, "generated", False)
    ]
    return concrete, list(meta.local_many_to_many)


def resolve_field_names(model: type[models.Model], names: Iterable[str], option: str) -> set[str]:
    """Return the field names ``names`` mean (``poll_id`` is ``poll``); raise UnknownField."""
    if isinstance(names, str):
        raise InvalidOption(f"{option}= takes a list of field names, not the string {names!r}.")
    concrete, many = recordable_fields(model)
    known = {f.name for f in concrete} | {f.name for f in many}
    aliases = {f.attname: f.name for f in concrete}
    resolved = set()
    for name in names:
        name = aliases.get(name, name)
        if name not in known:
            raise UnknownField(
                f"{model._meta.label} has no recordable field {name!r} (named in {option}=). "
                f"Choose from: {', '.join(sorted(known))}."
            )
        resolved.add(name)
    return resolved
