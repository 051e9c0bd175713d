"""The worker side of a write: check a task payload against the models, then store it."""

from __future__ import annotations

import functools
import json
import logging
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import connections
from django.db.models import Field

from . import store
from .conf import settings
from .connection import get_redis
from .exceptions import InvalidPayload
from .payload import CheckedDiff, parse_batch, parse_pending
from .registry import registration_for_label
from .serialization import encode_pk

logger = logging.getLogger("diffs")


@dataclass(frozen=True)
class WriteResult:
    """What one batch did: diffs written, members added, diffs rejected."""

    written: int
    added: int
    rejected: int


def max_age(label: str) -> int:
    """Return the max element age of a model label (its registration's, else the setting)."""
    registration = registration_for_label(label)
    if registration is not None and registration.max_element_age is not None:
        return registration.max_element_age
    return settings.max_element_age


@functools.lru_cache(maxsize=1024)
def _pk_field(label: str) -> Field | None:
    """Return the pk field of an installed model's label, or None (models never change)."""
    app_label, _, model_name = label.partition(".")
    model = apps.all_models.get(app_label, {}).get(model_name)
    return None if model is None else model._meta.pk


def _installed(label: str) -> bool:
    return _pk_field(label) is not None


@functools.lru_cache(maxsize=65536)
def _pk_ok(label: str, pk: Any) -> bool:
    # Cached: a batch names the same objects and parents again and again.
    pk_field = _pk_field(label)
    if pk_field is None:
        return False
    try:
        return encode_pk(pk_field.to_python(pk)) == pk
    except (ValidationError, TypeError, ValueError):
        return False


def _parse(batch: Any) -> tuple[list[CheckedDiff], list[str]]:
    return parse_batch(
        batch, known_label=_installed, pk_ok=_pk_ok, max_bytes=settings.max_diff_bytes
    )


def write_batch(batch: Any) -> WriteResult:
    """Validate ``batch`` and store its valid diffs in one round trip; log each rejection.

    ``batch`` is the batch dict, or its JSON text: publishing sends the text, because kombu's
    JSON decoder calls a Python hook for every object it builds, three times slower than
    ``json.loads`` on a batch of diffs. Raises only what the Redis client raises (connection
    errors), so the task can retry.
    """
    batch = _loaded(batch)
    if batch is None:
        return WriteResult(0, 0, 1)
    diffs, errors = _parse(batch)
    good = []
    for diff in diffs:
        if registration_for_label(diff.label) is None:
            errors.append(f"diff {diff.id}: model {diff.label} is not registered with diffs")
        else:
            good.append(diff)
    for error in errors:
        logger.error("diffs: rejected a diff: %s", error)
    added = store.write(get_redis(), settings.key_prefix, good, max_age) if good else 0
    _confirm(batch, {diff.id for diff in good})
    return WriteResult(len(good), added, len(errors))


def _loaded(batch: Any) -> Any:
    """Return the batch a task was given as JSON text, parsed (None, logged, if it is not)."""
    if not isinstance(batch, str):
        return batch
    try:
        return json.loads(batch)
    except ValueError as exc:
        logger.error("diffs: rejected a batch that is not JSON: %s", exc)
        return None


def keep_for_later(batch: Any, exc: Exception) -> None:
    """Keep a batch the storage Redis would not take, in the database, for ``diffs.resend``."""
    from . import pending

    batch = _loaded(batch)
    if not isinstance(batch, dict):
        return
    if isinstance(batch, dict) and batch.get("pending"):
        logger.error("diffs: storage Redis still down (%s); the pending rows stay for resend", exc)
        return
    valid = {diff.id for diff in _parse(batch)[0]}
    pending.spool([item for item in batch["diffs"] if item.get("i") in valid])
    logger.error(
        "diffs: storage Redis still down after %d retries (%s); %d diff(s) kept in the "
        "database for the diffs.resend task", settings.write_max_retries, exc, len(valid),
    )


def _confirm(batch: Any, stored: set[str]) -> None:
    """Delete the ``PendingDiff`` rows of the diffs just stored (spooled or outbox ones)."""
    try:
        alias, rows = parse_pending(batch, known_alias=lambda alias: alias in connections)
    except InvalidPayload as exc:
        logger.error("diffs: ignored the pending rows of a batch: %s", exc)
        return
    if rows:
        from . import pending  # the model module: the worker has loaded the apps by now

        try:
            pending.confirm(alias, rows, stored)
        except Exception:
            # The diffs are stored; the rows will be sent again and stored again (a no-op).
            logger.exception("diffs: could not delete %d confirmed pending row(s)", len(rows))
