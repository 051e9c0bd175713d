"""Signal handlers: turn a save or delete of a registered model into a diff and buffer it.

Nothing here talks to Redis: a handler builds a diff with :func:`diffs.wire.new_diff` and hands
it to :mod:`diffs.recording.buffer`, which hands it to the sink (:mod:`diffs.transport.sink`)
once the transaction commits.
A failure to build part of a diff (a value that cannot be encoded, a raising hook) is logged
with the model and pk and counted; the rest of the diff is still recorded. Any other failure
inside a handler is logged and counted too: recording never makes ``save()`` or ``delete()``
raise, whatever the settings hold. With the ``raise_errors`` setting failures raise instead.
"""

from __future__ import annotations

import functools
import logging
from collections import Counter
from collections.abc import Callable
from typing import Any, TypeVar

from django.db import connections, models

from .. import wire
from ..conf import diffs_settings
from ..exceptions import RecordingError
from ..registry import PARENT_HOOK, SERIALIZE_HOOK, Registration, get_registration
from ..wire import OMITTED, UNKNOWN, DiffPayload, dumps, encode_pk
from ..wire.context import preview
from . import buffer, context, tracking
from .encoding import encode_value

logger = logging.getLogger("diffs")

#: Recording failures by kind since the process started (``errors["parent"]``, ...).
errors: Counter[str] = Counter()

#: The types :func:`encode_value` passes through and :func:`_encode` never measures.
_SMALL = frozenset({type(None), bool, int, float})



def parent_hook(instance: models.Model) -> Callable[[], Any] | None:
    """Return the instance's parent hook (any model may have one), or None."""
    if PARENT_HOOK not in _class_hooks(type(instance)) and PARENT_HOOK not in instance.__dict__:
        return None
    hook = getattr(instance, PARENT_HOOK, None)
    return hook if callable(hook) else None


@functools.cache
def _class_hooks(model: type[models.Model]) -> frozenset[str]:
    """Return the hook names ``model`` defines: a failed ``getattr`` on each save costs more
    than the rest of the parent walk (classes never lose methods; the instance is checked too).
    """
    return frozenset(name for name in (PARENT_HOOK, SERIALIZE_HOOK) if hasattr(model, name))


HandlerT = TypeVar("HandlerT", bound=Callable[..., None])


def never_raises(handler: HandlerT) -> HandlerT:
    """Return ``handler`` made unable to fail the save or delete that sent its signal."""

    @functools.wraps(handler)
    def guarded(*args: Any, **kwargs: Any) -> None:
        try:
            handler(*args, **kwargs)
        except RecordingError:
            raise  # raised on purpose, with raise_errors
        except Exception:
            errors["handler"] += 1
            if diffs_settings.raise_errors:
                raise
            instance = kwargs.get("instance")
            logger.exception(
                "diffs: recording a change of %s pk=%r failed; the change itself is saved",
                type(instance).__name__, getattr(instance, "pk", None),
            )

    return guarded  # type: ignore[return-value]


@never_raises
def on_post_save(
    sender: type[models.Model],
    instance: models.Model,
    created: bool,
    raw: bool,
    using: str,
    update_fields: Any,
    **kwargs: Any,
) -> None:
    """Record the fields this save changed (all of them for a create)."""
    registration = get_registration(sender)
    changed = tracking.dirty(instance, registration.fields, update_fields)
    if raw or not context.recording_enabled() or (
        (changed or created) and not addressable(registration, instance)
    ):
        tracking.remember(instance, {t.name: new for t, _, new in changed})
        return
    if not changed and not created:
        return
    for _, _, new in changed:
        if new is UNKNOWN:
            changed = _resolve_expressions(instance, using, changed)
            break
    diff, previous = saved_diff(registration, instance, using, changed, created=created)
    buffer.enqueue(using, diff, instance, previous)


def saved_diff(
    registration: Registration,
    instance: models.Model,
    using: str,
    changed: list[tuple[Any, Any, Any]],
    *,
    created: bool = False,
) -> tuple[DiffPayload, dict[str, Any]]:
    """Return the diff of a written instance and the state it had before (for a rollback).

    ``changed`` is :func:`tracking.dirty`'s ``(field, old, new)``, expressions resolved; the
    instance's tracked state moves forward to the new values. Bulk writes use it too.
    """
    limit = diffs_settings.max_diff_bytes // 2
    previous: dict[str, Any] = {}
    saved: dict[str, Any] = {}
    new_values: dict[str, Any] = {}
    old_values: dict[str, Any] = {}
    for tracked, old, new in changed:
        name = tracked.name
        previous[name] = old
        saved[name] = new
        # A number, a bool or None is its own JSON and always small: most values of most
        # saves, each spared two calls.
        encoded = new if type(new) in _SMALL else _encode(registration, instance, tracked, new,
                                                          limit)
        if encoded is not UNKNOWN:
            new_values[name] = encoded
        if old is not UNKNOWN and not created:
            encoded = old if type(old) in _SMALL else _encode(registration, instance, tracked,
                                                              old, limit)
            if encoded is not UNKNOWN:
                old_values[name] = encoded
    tracking.remember(instance, saved)
    diff = _new_diff(
        registration, instance, using, new_values, old_values, list(saved), created=created
    )
    return diff, previous


@never_raises
def read_old_values(
    sender: type[models.Model],
    instance: models.Model,
    raw: bool,
    using: str,
    update_fields: Any,
    **kwargs: Any,
) -> None:
    """Before a save of an existing row, take its recorded fields' old values from the row.

    For models registered with ``read_old_values=True``. Inside a transaction the row is read
    ``FOR UPDATE`` (where the database can), so no other transaction changes it before this
    save does; in autocommit the read and the save are two statements.
    """
    if raw or not context.recording_enabled() or instance._state.adding or instance.pk is None:
        return
    fields = get_registration(sender).fields
    if update_fields is not None:
        fields = tuple(t for t in fields if t.name in update_fields or t.attname in update_fields)
    if not fields:
        return
    rows = _row_reader(type(instance), tuple(t.attname for t in fields), using).filter(
        pk=instance.pk
    )
    if connections[using].in_atomic_block:
        rows = rows.select_for_update()
    for row in rows[:1]:
        tracking.remember(instance, {t.name: value for t, value in zip(fields, row, strict=True)})


@functools.lru_cache(maxsize=256)
def _row_reader(model: type[models.Model], attnames: tuple[str, ...], using: str) -> Any:
    """Return the query of the columns ``attnames``, built once: building costs as much as
    the query itself (``.first()`` would also add an ``ORDER BY``)."""
    return model._base_manager.using(using).values_list(*attnames)


@never_raises
def on_post_delete(sender: type[models.Model], instance: models.Model, using: str,
                   **kwargs: Any) -> None:
    """Record that the object is gone, with the last values it was known to have."""
    if not context.recording_enabled() or instance.pk is None:
        return
    registration = get_registration(sender)
    if not addressable(registration, instance):
        return
    state = tracking.saved_state(instance) or {}
    old_values = {}
    limit = diffs_settings.max_diff_bytes // 2
    for tracked in registration.fields:
        if tracked.name in state:
            encoded = _encode(registration, instance, tracked, state[tracked.name], limit)
            if encoded is not UNKNOWN:
                old_values[tracked.name] = encoded
    diff = _new_diff(registration, instance, using, {}, old_values, None, deleted=True)
    buffer.enqueue(using, diff, instance, {})


def record(
    registration: Registration,
    instance: models.Model,
    using: str,
    new_values: dict[str, Any],
    old_values: dict[str, Any],
) -> None:
    """Buffer a diff of ``instance`` made of values already encoded (many-to-many changes)."""
    if not addressable(registration, instance):
        return
    diff = _new_diff(registration, instance, using, new_values, old_values, sorted(new_values))
    buffer.enqueue(using, diff, instance, {})


def addressable(registration: Registration, instance: models.Model) -> bool:
    """Return whether the instance's pk can name a history; log (or, with ``raise_errors``,
    raise) why not, naming the model.

    An empty string names no object where histories are read (the feed's and the admin's
    addresses hold the pk), and a longer pk than ``wire.MAX_PK_LENGTH`` characters would make
    its keys too large: a worker refuses both, so they are refused here, in the web process's
    log, rather than in a worker's.
    """
    pk = instance.pk
    key = pk if type(pk) is int else encode_pk(pk)
    if not isinstance(key, str) or 0 < len(key) <= wire.MAX_PK_LENGTH:
        return True
    errors["pk"] += 1
    why = (
        "an empty primary key names no history" if not key
        else f"its primary key is {len(key)} characters, over the {wire.MAX_PK_LENGTH} a "
        "history's name may hold"
    )
    message = (
        f"diffs: a change of {registration.label} pk={preview(key)} is not recorded: {why}. "
        f"Give {type(instance).__name__} objects a primary key of 1 to {wire.MAX_PK_LENGTH} "
        "characters."
    )
    if diffs_settings.raise_errors:
        raise RecordingError(message)
    logger.error(message)
    return False


def _new_diff(
    registration: Registration,
    instance: models.Model,
    using: str,
    new_values: dict[str, Any],
    old_values: dict[str, Any],
    changed: list[str] | None,
    *,
    created: bool = False,
    deleted: bool = False,
) -> DiffPayload:
    """Return the diff of ``instance``, with its parents, (``changed``) its custom data and the
    change context (:func:`diffs.recording.context.current`)."""
    parents = _parents(registration, instance)
    data = UNKNOWN if changed is None else _custom_data(registration, instance, changed)
    return wire.new_diff(
        registration.label, encode_pk(instance.pk), new_values, old_values,
        created=created, deleted=deleted, parents=parents, data=data,
        context=context.current(), database=diffs_settings.database_key(using),
    )


def _encode(
    registration: Registration, instance: models.Model, tracked: Any, value: Any, limit: int
) -> Any:
    """Return ``value`` encoded, or its stand-in when longer than ``limit`` characters."""
    try:
        encoded = encode_value(tracked.field, value)
        kind = type(encoded)
        if kind is str:
            size = len(encoded)
        elif kind is dict or kind is list:
            size = len(dumps(encoded))  # fails here, with the field named, not at publish
        else:
            return encoded  # a number, a bool or None: always small
    except Exception as exc:
        report("value", registration, instance, exc, f"field {tracked.name!r} cannot be encoded")
        return UNKNOWN
    if size > limit:
        # A worker would refuse the whole diff: keep the change, leave out the value.
        logger.warning(
            "diffs: the value of %s.%s pk=%r is %d characters, over half of max_diff_bytes; "
            "recorded as omitted", registration.label, tracked.name, instance.pk, size,
        )
        return {OMITTED: "too large", "size": size}
    return encoded


def _resolve_expressions(
    instance: models.Model, using: str, changed: list[tuple[Any, Any, Any]]
) -> list[tuple[Any, Any, Any]]:
    """Read back from the database the values that ``F()`` expressions gave the fields."""
    unknown = [t for t, _, new in changed if new is UNKNOWN]
    manager = type(instance)._base_manager.using(using)
    row = manager.filter(pk=instance.pk).values_list(*(t.attname for t in unknown)).first()
    stored = dict(zip((t.name for t in unknown), row or (), strict=False))
    return with_stored_values(changed, stored)


def with_stored_values(
    changed: list[tuple[Any, Any, Any]], stored: dict[str, Any]
) -> list[tuple[Any, Any, Any]]:
    """Return ``changed`` with each unknown new value taken from ``stored`` (read from the row);
    a field whose stored value is its old one did not change."""
    resolved = []
    for tracked, old, new in changed:
        if new is UNKNOWN:
            new = stored.get(tracked.name, UNKNOWN)
            if old is not UNKNOWN and new == old:
                continue
        resolved.append((tracked, old, new))
    return resolved


def _custom_data(registration: Registration, instance: models.Model, names: list[str]) -> Any:
    """Return what the model's ``serialize_diff`` makes of the change (UNKNOWN: no such hook)."""
    if SERIALIZE_HOOK not in _class_hooks(type(instance)) and SERIALIZE_HOOK not in (
        instance.__dict__
    ):
        return UNKNOWN
    serialize = getattr(instance, SERIALIZE_HOOK, None)
    if not callable(serialize):
        return UNKNOWN
    try:
        data = serialize(names)
        dumps(data)
    except Exception as exc:
        report("serialize_diff", registration, instance, exc, "serialize_diff() failed")
        return UNKNOWN
    return data


def _parents(registration: Registration, instance: models.Model) -> list[tuple[str, Any]]:
    """Return ``[(label, pk), ...]`` from the nearest parent up, stopping at a cycle."""
    chain: list[tuple[str, Any]] = []
    if parent_hook(instance) is None:
        return chain  # most models: no set to build, no walk
    seen = {(registration.label, encode_pk(instance.pk))}
    current = instance
    try:
        for _ in range(wire.MAX_PARENTS):
            hook = parent_hook(current)
            parent = hook() if hook is not None else None
            if parent is None:
                return chain
            if not isinstance(parent, models.Model):
                raise RecordingError(
                    f"the parent hook of {type(current).__name__} returned {parent!r}, "
                    "not a model instance (or None)"
                )
            if parent.pk is None or parent.pk == "":
                raise RecordingError(
                    f"the parent hook of {type(current).__name__} returned a "
                    f"{type(parent).__name__} without a pk (unsaved, or an empty string): a "
                    "parent needs a pk"
                )
            node = (parent._meta.label_lower, encode_pk(parent.pk))
            if node in seen:
                logger.warning("diffs: parent cycle at %s pk=%r; roll-up stops there", *node)
                return chain
            seen.add(node)
            chain.append(node)
            current = parent
    except Exception as exc:
        report("parent", registration, instance, exc, "the parent hook failed")
    return chain


def report(
    kind: str, registration: Registration, instance: models.Model, exc: Exception, what: str
) -> None:
    """Log and count a recording failure, or raise it with the ``raise_errors`` setting."""
    errors[kind] += 1
    if diffs_settings.raise_errors:
        raise RecordingError(
            f"diffs: {what} for {registration.label} pk={instance.pk!r}: {exc}"
        ) from exc
    logger.error(
        "diffs: %s for %s pk=%r (%s: %s); the rest of the diff is recorded",
        what, registration.label, instance.pk, type(exc).__name__, exc,
    )
