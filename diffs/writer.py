"""The worker side of a write: check a task payload against the models, then store it."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import connections

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


def _installed(label: str) -> bool:
    app_label, _, model_name = label.partition(".")
    return model_name in apps.all_models.get(app_label, {})


def _pk_ok(label: str, pk: Any) -> bool:
    app_label, _, model_name = label.partition(".")
    pk_field = apps.get_model(app_label, model_name)._meta.pk
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

    Raises only what the Redis client raises (connection errors), so the task can retry.
    """
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


def keep_for_later(batch: Any, exc: Exception) -> None:
    """Keep a batch the storage Redis would not take, in the database, for ``diffs.resend``."""
    from . import pending

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
