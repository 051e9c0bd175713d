"""Diffs waiting in the database (the ``PendingDiff`` table): spool, outbox, confirmation.

The model is looked up through the app registry when a function runs rather than imported:
this module is imported with ``diffs`` itself, while Django is still loading apps, before
``diffs.models`` may be imported.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.db import connections, router
from django.db.models import Q
from django.utils import timezone

from .. import wire
from ..conf import diffs_settings
from ..wire import DiffPayload

if TYPE_CHECKING:
    from ..models import PendingDiff

logger = logging.getLogger("diffs")


def _model() -> type[PendingDiff]:
    return apps.get_model("diffs", "PendingDiff")


def spool(diffs: list[DiffPayload]) -> None:
    """Keep diffs the broker refused, to be sent again by ``resend``; one INSERT."""
    model = _model()
    model.objects.bulk_create(
        [model(diff_id=wire.diff_id(diff), payload=wire.dumps(diff)) for diff in diffs]
    )


def add_to_outbox(diff: DiffPayload, using: str) -> int:
    """Write ``diff`` in the current transaction of ``using``; return the row id."""
    row = _model().objects.using(using).create(
        diff_id=wire.diff_id(diff), payload=wire.dumps(diff), sent_at=timezone.now()
    )
    return row.pk


def due(limit: int) -> tuple[str, list[tuple[int, str, DiffPayload]]]:
    """Return the database alias and up to ``limit`` rows to send again, oldest first.

    Due are rows never sent (spooled during a broker outage) and rows sent longer than
    ``outbox_resend_after`` ago whose diff no worker has confirmed yet.
    """
    model = _model()
    alias = router.db_for_write(model)
    cutoff = timezone.now() - timedelta(seconds=diffs_settings.outbox_resend_after)
    rows = (
        model.objects.using(alias)
        .filter(Q(sent_at__isnull=True) | Q(sent_at__lt=cutoff))
        .order_by("id")
        .values_list("id", "diff_id", "payload")[:limit]
    )
    found = []
    for row_id, diff_id, payload in rows:
        try:
            found.append((row_id, diff_id, json.loads(payload)))
        except ValueError:
            logger.error("diffs: pending diff %s is not JSON; left in place", diff_id)
    return alias, found


def mark_sent(alias: str, row_ids: Iterable[int], sent: bool = True) -> None:
    """Record that rows were handed to the broker now (or, ``sent=False``, that they were not)."""
    _model().objects.using(alias).filter(pk__in=list(row_ids)).update(
        sent_at=timezone.now() if sent else None
    )


def confirm(alias: str, rows: Iterable[tuple[int, str]], stored_ids: set[str]) -> int:
    """Delete the rows whose diffs are now stored in Redis; return how many went."""
    ids = [row_id for row_id, diff_id in rows if diff_id in stored_ids]
    if not ids:
        return 0
    deleted, _ = (
        _model().objects.using(alias).filter(pk__in=ids, diff_id__in=stored_ids).delete()
    )
    return deleted


def confirm_batch(envelope: Any, stored_ids: frozenset[str]) -> None:
    """Delete the rows a batch names whose diffs are now stored (spooled or outbox ones)."""
    try:
        alias, rows = wire.parse_pending(envelope, known_alias=lambda alias: alias in connections)
    except wire.InvalidPayload as exc:
        logger.error("diffs: ignored the pending rows of a batch: %s", exc)
        return
    if not rows:
        return
    try:
        confirm(alias, rows, set(stored_ids))
    except Exception:
        # The diffs are stored; the rows will be sent again and stored again (a no-op).
        logger.exception("diffs: could not delete %d confirmed pending row(s)", len(rows))


def keep_unstored(envelope: Any, diffs: list[wire.CheckedDiff], reason: str) -> None:
    """Keep checked diffs the storage would not take, for ``diffs.resend``; log what happened.

    A batch whose diffs already have rows (outbox, resent spool) keeps them as they are.
    """
    if isinstance(envelope, dict) and wire.batch_pending(envelope):
        logger.error("diffs: %s; the pending rows stay for resend", reason)
        return
    spool([diff.raw for diff in diffs])
    logger.error("diffs: %s; %d diff(s) kept in the database for the diffs.resend task",
                 reason, len(diffs))


_warned_labels: set[str] = set()


def keep_unknown(diffs: list[tuple[DiffPayload, tuple[str, ...]]]) -> int:
    """Keep diffs of models this worker does not know, for a worker that does; return how many.

    At most ``max_unknown_label_diffs`` such rows exist at once: a payload naming made-up models
    cannot fill the table. What is over the limit is logged with its ids and dropped. Kept rows
    are due again after ``outbox_resend_after`` seconds, like unconfirmed outbox rows.
    """
    if not diffs:
        return 0
    model = _model()
    kept_already = model.objects.exclude(waiting_for="").count()
    room = max(diffs_settings.max_unknown_label_diffs - kept_already, 0)
    kept, over = diffs[:room], diffs[room:]
    now = timezone.now()
    model.objects.bulk_create([
        model(diff_id=wire.diff_id(raw), payload=wire.dumps(raw), sent_at=now,
              waiting_for=",".join(labels)[:200])
        for raw, labels in kept
    ])
    for label in sorted({label for _, labels in kept for label in labels} - _warned_labels):
        _warned_labels.add(label)
        logger.warning(
            "diffs: this worker does not know the model %s (not installed, or not registered "
            "with diffs): its diffs are kept in the database and sent again until a worker "
            "that knows it stores them. Deploy the workers with the web processes' code.", label,
        )
    if over:
        logger.error(
            "diffs: LOST %d diff(s) of models this worker does not know: %d are kept already "
            "(max_unknown_label_diffs): %s", len(over), diffs_settings.max_unknown_label_diffs,
            ",".join(str(wire.diff_id(raw)) for raw, _ in over),
        )
    return len(kept)


def kept() -> tuple[int, datetime | None]:
    """Return how many rows wait in the database, and when the oldest was made (None: none)."""
    model = _model()
    rows = model.objects.using(router.db_for_read(model))
    oldest = rows.order_by("id").values_list("created", flat=True).first()
    return rows.count(), oldest
