"""The worker side of a write: check a task payload against the models, then store it.

What happens around a write (retries, confirming the ``PendingDiff`` rows of what was stored,
keeping what could not be) is the write task's job, in ``diffs_tasks``.
"""

from __future__ import annotations

import functools
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db.models import Field

from .. import wire
from ..conf import diffs_settings
from ..registry import keeps_model_feed, max_age_for, registration_for_label
from . import health, notify, replicas, store
from .connection import get_redis

logger = logging.getLogger("diffs")


@dataclass(frozen=True)
class WriteResult:
    """What one batch did: diffs written, members added, diffs rejected, ids stored, and the
    diffs (with the labels) of models this worker does not know, which it did not write."""

    written: int
    added: int
    rejected: int
    stored_ids: frozenset[str] = field(default=frozenset())
    unknown: tuple[tuple[wire.DiffPayload, tuple[str, ...]], ...] = ()
    #: ``(label, change time)`` of each stored diff, for the worker's metrics.
    changes: tuple[tuple[str, float], ...] = ()
    #: Why the rejected diffs were rejected: ``invalid``, or ``not_json`` (the whole batch).
    reject_reason: str = "invalid"

    def as_dict(self) -> dict[str, int]:
        """Return the counts, as the task returns them."""
        return {"written": self.written, "added": self.added, "rejected": self.rejected,
                "unknown": len(self.unknown)}


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
        return wire.encode_pk(pk_field.to_python(pk)) == pk
    except (ValidationError, TypeError, ValueError):
        return False


def load(batch: Any) -> Any:
    """Return the batch a task was given as JSON text, parsed (None, logged, if it is not)."""
    if not isinstance(batch, str):
        return batch
    try:
        return json.loads(batch)
    except ValueError as exc:
        logger.error("diffs: rejected a batch that is not JSON: %s", exc)
        return None


def check(envelope: Any) -> wire.ParsedBatch:
    """Return the diffs of ``envelope`` this worker may store, those of models it does not know
    (not installed, or the diff's own model not registered here: a web process deployed before
    the workers), and why it rejects the others."""
    parsed = wire.parse_batch(
        envelope, known_label=_installed, pk_ok=_pk_ok, max_bytes=diffs_settings.max_diff_bytes
    )
    good = []
    for diff in parsed.good:
        if registration_for_label(diff.label) is None:
            parsed.unknown.append((diff.raw, (diff.label,)))
        else:
            good.append(diff)
    return wire.ParsedBatch(good, parsed.unknown, parsed.errors)


def write_batch(envelope: Any) -> WriteResult:
    """Validate ``envelope`` and store its valid diffs in one round trip; log each rejection.

    ``envelope`` is the batch dict, or its JSON text: publishing sends the text, because kombu's
    JSON decoder calls a Python hook for every object it builds, three times slower than
    ``json.loads`` on a batch of diffs. Diffs of models this worker does not know are not
    written but returned, for the task to keep. Raises only what the Redis client raises, so
    the task can retry.
    """
    envelope = load(envelope)
    if envelope is None:
        return WriteResult(0, 0, 1, reject_reason="not_json")
    parsed = check(envelope)
    for error in parsed.errors:
        logger.error("diffs: rejected a diff: %s", error)
    good = parsed.good
    added = 0
    if good:
        client, prefix = get_redis(), diffs_settings.key_prefix
        written: list[str] = []
        added = store.write(client, prefix, good, max_age_for, written, keeps_model_feed)
        replicas.wait(client, written, diffs_settings.storage_replicas,
                      diffs_settings.storage_replicas_timeout)
        if added:
            notify.announce_keys(client, prefix, written)
        health.note_write(client, prefix)
    return WriteResult(len(good), added, len(parsed.errors),
                       frozenset(diff.id for diff in good), tuple(parsed.unknown),
                       tuple((diff.label, diff.timestamp) for diff in good))
