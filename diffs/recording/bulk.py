"""Bulk writes recorded: the diffs of many rows written at once, built as a save's are.

:class:`diffs.RecordedQuerySet` writes the rows, then hands the instances to
:func:`record_written` inside the same transaction. Each diff is built by
:func:`diffs.recording.handlers.saved_diff`, like a save's, and goes through the
per-transaction buffer, so a rolled-back bulk write records nothing and the diffs of one
transaction, however many rows, go to the worker as one task.

Values only the database knows (``F()`` and other expressions) are read back for all rows with
one query per :func:`chunk_size` rows, never one per row.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from django.db import connections, models
from django.db.models import F

from ..conf import diffs_settings
from ..exceptions import NotRecordable
from ..registry import Registration
from ..wire import UNKNOWN
from . import buffer, context, handlers, tracking

logger = logging.getLogger("diffs")

#: The most primary keys one ``pk IN (...)`` query names where the database sets no limit.
MAX_CHUNK = 10_000

#: ``(instance, [(field, old, new), ...])``: what one bulk write changed of one row.
Change = tuple[models.Model, list[tuple[Any, Any, Any]]]


def recording_on() -> bool:
    """Return whether bulk writes are recorded now (the ``enabled`` setting, ``disabled()``)."""
    return context.recording_enabled()


def chunk_size(using: str) -> int:
    """Return how many pks one ``pk IN (...)`` query of database ``using`` may name."""
    limit = connections[using].features.max_query_params
    return MAX_CHUNK if not limit else max(1, min(MAX_CHUNK, limit - 1))


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    """Yield ``items`` in slices of ``size`` (:func:`chunk_size`: one query each)."""
    for start in range(0, len(items), size):
        yield items[start:start + size]


def record_written(
    registration: Registration,
    instances: Iterable[models.Model],
    using: str,
    names: Iterable[str] | None,
    *,
    created: bool = False,
    refresh: bool = False,
) -> int:
    """Buffer a diff for each instance whose recorded fields the write changed; return how many.

    ``names`` are the fields written (None: all of them, for a create). With ``refresh`` the
    values read back from the database replace the expressions on the instances too (they
    are the queryset's own, not the caller's).
    """
    fields = registration.fields
    chosen = None if names is None else list(names)
    changes: list[Change] = []
    for instance in instances:
        changed = tracking.dirty(instance, fields, chosen)
        if changed or created:
            changes.append((instance, changed))
    if not recording_on():
        for instance, changed in changes:
            tracking.remember(instance, {t.name: new for t, _, new in changed})
        return 0
    if any(new is UNKNOWN for _, changed in changes for _, _, new in changed):
        changes = _read_back(registration.model, using, changes, refresh)
    recorded = 0
    for instance, changed in changes:
        if (changed or created) and handlers.addressable(registration, instance):
            diff, previous = handlers.saved_diff(
                registration, instance, using, changed, created=created
            )
            buffer.enqueue(using, diff, instance, previous)
            recorded += 1
    return recorded


def _read_back(
    model: type[models.Model], using: str, changes: list[Change], refresh: bool
) -> list[Change]:
    """Return ``changes`` with the values of expressions read from the rows, one query a chunk."""
    unknown = {
        tracked.name: tracked.attname
        for _, changed in changes for tracked, _, new in changed if new is UNKNOWN
    }
    pks = [instance.pk for instance, changed in changes
           if any(new is UNKNOWN for _, _, new in changed)]
    stored: dict[Any, dict[str, Any]] = {}
    for chunk in chunks(pks, chunk_size(using)):
        rows = models.QuerySet(model, using=using).filter(pk__in=chunk)
        for pk, *values in rows.values_list("pk", *unknown.values()):
            stored[pk] = dict(zip(unknown, values, strict=True))
    resolved: list[Change] = []
    for instance, changed in changes:
        row = stored.get(instance.pk, {})
        if refresh:
            for tracked, _, new in changed:
                if new is UNKNOWN and tracked.name in row:
                    setattr(instance, tracked.attname, row[tracked.name])
        resolved.append((instance, handlers.with_stored_values(changed, row)))
    return resolved


def assign(
    model: type[models.Model], instances: Iterable[models.Model], values: Mapping[str, Any]
) -> None:
    """Give each instance the values an ``update(**values)`` wrote, as a save would have them.

    A model instance stands for its pk; an expression (``F()``, ``Case``, a subquery...) becomes
    ``F(field)``, which the tracking sees as a value only the database knows.
    """
    assigned: list[tuple[str, Any]] = []
    for name, value in values.items():
        attname = _concrete_field(model, name).attname
        if hasattr(value, "resolve_expression"):
            value = F(attname)
        elif isinstance(value, models.Model):
            value = value.pk
        assigned.append((attname, value))
    for instance in instances:
        for attname, value in assigned:
            setattr(instance, attname, value)


def _concrete_field(model: type[models.Model], name: str) -> models.Field[Any, Any]:
    field = model._meta.get_field(name)
    if not isinstance(field, models.Field) or not field.concrete:
        raise TypeError(f"{model.__name__}.{name} is not a concrete field")  # Django says so too
    return field


def written_field_names(model: type[models.Model], values: Iterable[str]) -> list[str]:
    """Return the field names of ``values``' keys (``author_id`` is ``author``)."""
    meta = model._meta
    return [meta.get_field(name).name for name in values]  # attnames are names too here


def refuse_or_warn(registration: Registration, operation: str, count: int, why: str) -> None:
    """Say that ``count`` rows of a bulk write cannot be recorded (raise with ``raise_errors``).

    Called before the write, so with ``raise_errors`` nothing is written.
    """
    handlers.errors["bulk"] += 1
    message = (
        f"diffs: {operation} of {count} {registration.label} object(s) is not recorded: {why}"
    )
    if diffs_settings.raise_errors:
        raise NotRecordable(message)
    logger.error("%s; the rows are written", message)


def report_unknown_pks(registration: Registration, count: int) -> None:
    """Log that the database returned no pk for ``count`` created objects (none is guessed)."""
    handlers.errors["bulk"] += 1
    logger.error(
        "diffs: bulk_create of %s: the database returned no primary key for %d object(s), so "
        "their creation is not recorded", registration.label, count,
    )
