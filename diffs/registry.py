"""What is registered, and how: ``@diffs.register`` and the per-model options it records."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar, overload

from django.db import models
from django.db.models.signals import post_delete, post_save

from .exceptions import AlreadyRegistered, NotAModel, NotRegistered, UnknownField

ModelT = TypeVar("ModelT", bound=type[models.Model])

#: The parent hooks, in order of preference (the seed README uses both names).
PARENT_HOOKS = ("get_diff_parent", "get_parent_object")


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

    @property
    def field_names(self) -> frozenset[str]:
        """Return the names of the recorded concrete and many-to-many fields."""
        return frozenset(f.name for f in self.fields) | frozenset(self.m2m_fields)


def parent_hook(instance: models.Model) -> Callable[[], Any] | None:
    """Return the instance's parent hook (any model may have one), or None."""
    for name in PARENT_HOOKS:
        hook = getattr(instance, name, None)
        if callable(hook):
            return hook
    return None


_by_model: dict[type[models.Model], Registration] = {}
_by_label: dict[str, Registration] = {}


@overload
def register(model: ModelT) -> ModelT: ...


@overload
def register(
    model: None = None,
    *,
    fields: Iterable[str] | None = None,
    exclude: Iterable[str] | None = None,
    max_element_age: int | None = None,
) -> Callable[[ModelT], ModelT]: ...


def register(
    model: ModelT | None = None,
    *,
    fields: Iterable[str] | None = None,
    exclude: Iterable[str] | None = None,
    max_element_age: int | None = None,
) -> ModelT | Callable[[ModelT], ModelT]:
    """Record every change of ``model``; usable as ``@register`` or ``@register(...)``."""

    def decorate(cls: ModelT) -> ModelT:
        _register(cls, fields, exclude, max_element_age)
        return cls

    if model is None:
        return decorate
    return decorate(model)


def _register(
    model: Any,
    fields: Iterable[str] | None,
    exclude: Iterable[str] | None,
    max_element_age: int | None,
) -> None:
    if not (isinstance(model, type) and issubclass(model, models.Model)):
        raise NotAModel(
            f"diffs.register() takes a Django model class, not {model!r}. "
            "Put @diffs.register directly above `class MyModel(models.Model):`."
        )
    meta = model._meta
    if meta.abstract:
        raise NotAModel(f"{model.__name__} is abstract; register its concrete subclasses instead.")
    if model in _by_model or meta.label_lower in _by_label:
        raise AlreadyRegistered(f"{meta.label} is already registered with diffs; register it once.")
    if fields is not None and exclude is not None:
        raise ValueError("Pass either fields= or exclude= to diffs.register(), not both.")
    if max_element_age is not None and (
        not isinstance(max_element_age, int) or isinstance(max_element_age, bool)
        or max_element_age <= 0
    ):
        raise ValueError(
            f"max_element_age must be a positive int of seconds, not {max_element_age!r}."
        )
    if "diffs" in model.__dict__ or any(f.name == "diffs" for f in meta.local_fields):
        raise AlreadyRegistered(
            f"{meta.label} already has an attribute named 'diffs'; rename it to register the model."
        )

    tracked, m2m = _select_fields(model, fields, exclude)
    registration = Registration(model, meta.label_lower, tracked, m2m, max_element_age)
    _by_model[model] = registration
    _by_label[registration.label] = registration
    _install(registration)


def _recordable(model: type[models.Model]) -> tuple[list[models.Field], list[models.Field]]:
    """Return the model's concrete fields (its pk aside) and its own many-to-many fields."""
    meta = model._meta
    concrete = [f for f in meta.concrete_fields if not f.primary_key]
    return concrete, list(meta.local_many_to_many)


def resolve_field_names(model: type[models.Model], names: Iterable[str], option: str) -> set[str]:
    """Return the field names ``names`` mean (``poll_id`` is ``poll``); raise UnknownField."""
    if isinstance(names, str):
        raise TypeError(f"{option}= takes a list of field names, not the string {names!r}.")
    concrete, many = _recordable(model)
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


def _select_fields(
    model: type[models.Model], fields: Iterable[str] | None, exclude: Iterable[str] | None
) -> tuple[tuple[TrackedField, ...], tuple[str, ...]]:
    concrete, many = _recordable(model)
    chosen = {f.name for f in concrete} | {f.name for f in many}
    if fields is not None:
        chosen = resolve_field_names(model, fields, "fields")
    elif exclude is not None:
        chosen -= resolve_field_names(model, exclude, "exclude")
    tracked = tuple(TrackedField(f.name, f.attname, f) for f in concrete if f.name in chosen)
    m2m = tuple(f.name for f in many if f.name in chosen)
    return tracked, m2m


def _install(registration: Registration) -> None:
    # Imported here: recording imports this module for lookups.
    from . import tracking
    from .manager import DiffsDescriptor

    model = registration.model
    tracking.install(model, registration.fields)
    model.diffs = DiffsDescriptor()  # type: ignore[attr-defined]
    _connect(model)
    connect_many_to_many([registration])


def _connect(sender: type[models.Model]) -> None:
    from . import recording

    uid = f"diffs:{sender._meta.label_lower}"
    post_save.connect(recording.on_post_save, sender=sender, weak=False, dispatch_uid=f"{uid}:save")
    post_delete.connect(
        recording.on_post_delete, sender=sender, weak=False, dispatch_uid=f"{uid}:delete"
    )


def connect_many_to_many(chosen: Iterable[Registration]) -> None:
    """Record the many-to-many changes of registered models whose through models exist."""
    from . import m2m

    for registration in chosen:
        m2m.connect(registration)


def connect_proxies(all_models: Iterable[type[models.Model]]) -> None:
    """Record saves made through proxies of registered models (signals name the proxy)."""
    for model in all_models:
        if model._meta.proxy and model not in _by_model and model._meta.concrete_model in _by_model:
            _connect(model)


def get_registration(model: type[models.Model] | models.Model) -> Registration:
    """Return the registration of a model class or instance, or raise ``NotRegistered``."""
    cls = model if isinstance(model, type) else type(model)
    try:
        return _by_model[cls]
    except KeyError:
        concrete = getattr(getattr(cls, "_meta", None), "concrete_model", None)
        if concrete in _by_model:
            return _by_model[concrete]
        raise NotRegistered(
            f"{getattr(cls, '__name__', cls)!s} is not registered with diffs; "
            "decorate it with @diffs.register."
        ) from None


def registration_for_label(label: str) -> Registration | None:
    """Return the registration of an ``app_label.modelname`` label, or None."""
    return _by_label.get(label)


def is_registered(model: type[models.Model] | models.Model) -> bool:
    """Return whether a model class or instance is registered."""
    cls = model if isinstance(model, type) else type(model)
    return cls in _by_model


def registrations() -> Iterator[Registration]:
    """Iterate over every registration, in registration order."""
    return iter(list(_by_model.values()))
