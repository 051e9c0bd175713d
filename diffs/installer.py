"""``@diffs.register``: check the options, enter the model in the catalogue, wire it up.

Wiring a model means: dirty-field tracking (:mod:`diffs.recording.tracking`), the reading
descriptor ``Model.diffs`` (:mod:`diffs.reading.diffset`), the ``post_save``/``post_delete``
handlers (:mod:`diffs.recording.handlers`), connected per model with a ``dispatch_uid``, and
the many-to-many receivers (:mod:`diffs.recording.m2m`), which need the through models and are
therefore connected again from ``DiffsConfig.ready()`` with the proxies of registered models.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar, overload

from django.db import models
from django.db.models.signals import post_delete, post_save, pre_save

from . import registry
from .exceptions import AlreadyRegistered, InvalidOption, NotAModel
from .reading.diffset import DiffsDescriptor
from .recording import handlers, m2m, tracking
from .registry import Registration, TrackedField

ModelT = TypeVar("ModelT", bound=type[models.Model])


@overload
def register(model: ModelT) -> ModelT: ...


@overload
def register(
    model: None = None,
    *,
    fields: Iterable[str] | None = None,
    exclude: Iterable[str] | None = None,
    max_element_age: int | None = None,
    read_old_values: bool = False,
    model_feed: bool = False,
    squash: bool | None = None,
) -> Callable[[ModelT], ModelT]: ...


def register(
    model: ModelT | None = None,
    *,
    fields: Iterable[str] | None = None,
    exclude: Iterable[str] | None = None,
    max_element_age: int | None = None,
    read_old_values: bool = False,
    model_feed: bool = False,
    squash: bool | None = None,
) -> ModelT | Callable[[ModelT], ModelT]:
    """Record every change of ``model``; usable as ``@register`` or ``@register(...)``.

    ``read_old_values=True`` reads the recorded fields of the row before each save of an
    existing object, so the old values are the database's even for an instance loaded before
    another process changed the row (one more query per save). ``model_feed=True`` also keeps
    a feed of every change to the model's objects, in the order they were stored, which
    ``GET <feed prefix>/<app_label.model>/`` answers (one more write per diff, by the worker).
    ``squash=True`` makes the saves of an object in one transaction one diff (``squash=False``:
    one each; None, the default: the ``squash`` setting decides).
    """

    def decorate(cls: ModelT) -> ModelT:
        install(_registration(cls, fields, exclude, max_element_age, read_old_values,
                              model_feed, squash))
        return cls

    if model is None:
        return decorate
    return decorate(model)


def _registration(
    model: Any,
    fields: Iterable[str] | None,
    exclude: Iterable[str] | None,
    max_element_age: int | None,
    read_old_values: bool = False,
    model_feed: bool = False,
    squash: bool | None = None,
) -> Registration:
    """Return the registration ``register`` was asked for, or raise a named error saying why not."""
    if not (isinstance(model, type) and issubclass(model, models.Model)):
        raise NotAModel(
            f"diffs.register() takes a Django model class, not {model!r}. "
            "Put @diffs.register directly above `class MyModel(models.Model):`."
        )
    meta = model._meta
    if meta.abstract:
        raise NotAModel(f"{model.__name__} is abstract; register its concrete subclasses instead.")
    if meta.proxy:
        raise NotAModel(_proxy_refusal(model))
    if registry.is_registered(model) or registry.registration_for_label(meta.label_lower):
        raise AlreadyRegistered(f"{meta.label} is already registered with diffs; register it once.")
    if fields is not None and exclude is not None:
        raise InvalidOption("Pass either fields= or exclude= to diffs.register(), not both.")
    if max_element_age is not None and (
        not isinstance(max_element_age, int) or isinstance(max_element_age, bool)
        or max_element_age <= 0
    ):
        raise InvalidOption(
            f"max_element_age must be a positive int of seconds, not {max_element_age!r}."
        )
    if type(read_old_values) is not bool:
        raise InvalidOption(f"read_old_values must be True or False, not {read_old_values!r}.")
    if type(model_feed) is not bool:
        raise InvalidOption(f"model_feed must be True or False, not {model_feed!r}.")
    if squash is not None and type(squash) is not bool:
        raise InvalidOption(
            f"squash must be True, False or None (the squash setting), not {squash!r}."
        )
    if "diffs" in model.__dict__ or any(f.name == "diffs" for f in meta.local_fields):
        raise AlreadyRegistered(
            f"{meta.label} already has an attribute named 'diffs'; rename it to register the model."
        )
    tracked, many = _select_fields(model, fields, exclude)
    return Registration(model, meta.label_lower, tracked, many, max_element_age, read_old_values,
                        model_feed, squash)


def _proxy_refusal(proxy: type[models.Model]) -> str:
    """Return why ``register`` refuses a proxy, and what to do instead."""
    concrete: Any = proxy._meta.concrete_model
    name, label = proxy.__name__, concrete._meta.label
    if registry.is_registered(concrete):
        return (
            f"{name} is a proxy of {label}, which is registered: a row has one history "
            f"whichever class saved it, so saves through {name} are already recorded in "
            f"{label}'s history and {name}.diffs reads it. Remove @diffs.register from {name}."
        )
    return (
        f"{name} is a proxy of {label}: a row has one history whichever class saved it, so "
        f"register {label} itself (diffs.register({concrete.__name__}), with the options you "
        f"meant for {name}); saves through {name} are then recorded in that history and "
        f"{name}.diffs reads it."
    )


def _select_fields(
    model: type[models.Model], fields: Iterable[str] | None, exclude: Iterable[str] | None
) -> tuple[tuple[TrackedField, ...], tuple[str, ...]]:
    concrete, many = registry.recordable_fields(model)
    chosen = {f.name for f in concrete} | {f.name for f in many}
    if fields is not None:
        chosen = registry.resolve_field_names(model, fields, "fields")
    elif exclude is not None:
        chosen -= registry.resolve_field_names(model, exclude, "exclude")
    tracked = tuple(TrackedField(f.name, f.attname, f) for f in concrete if f.name in chosen)
    return tracked, tuple(f.name for f in many if f.name in chosen)


def install(registration: Registration) -> None:
    """Enter ``registration`` in the catalogue and wire its model up."""
    registry.add(registration)
    model = registration.model
    tracking.install(model, registration.fields)
    model.diffs = DiffsDescriptor()  # type: ignore[attr-defined]  # added at registration
    _connect_handlers(model)
    m2m.connect(registration)


def _connect_handlers(sender: type[models.Model]) -> None:
    uid = f"diffs:{sender._meta.label_lower}"
    if registry.get_registration(sender).read_old_values:
        pre_save.connect(
            handlers.read_old_values, sender=sender, weak=False, dispatch_uid=f"{uid}:read"
        )
    post_save.connect(handlers.on_post_save, sender=sender, weak=False, dispatch_uid=f"{uid}:save")
    post_delete.connect(
        handlers.on_post_delete, sender=sender, weak=False, dispatch_uid=f"{uid}:delete"
    )


def finish(all_models: Iterable[type[models.Model]]) -> None:
    """Wire what needs every model loaded: proxies of registered models and many-to-many fields.

    Called from ``DiffsConfig.ready()``. Saves through a proxy send signals naming the proxy,
    so it gets the handlers too (its diffs are its concrete model's: one history per row);
    many-to-many through models may have been lazy references when their model was registered
    (``m2m.connect`` skips those until now).
    """
    for model in all_models:
        if model._meta.proxy and registry.is_registered(model):
            _connect_handlers(model)
    for registration in registry.registrations():
        m2m.connect(registration)
