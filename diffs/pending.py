"""Diffs waiting in the database (the ``PendingDiff`` table): spool, outbox, confirmation."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.db import router
from django.db.models import Q
from django.utils import timezone

from .conf import settings
from .models import PendingDiff
from .payload import dumps

logger = logging.getLogger("diffs")


def spool(diffs: list[dict[str, Any]]) -> None:
    """Keep diffs the broker refused, to be sent again by ``resend``; one INSERT."""
    PendingDiff.objects.bulk_create(
        [PendingDiff(diff_id=diff["i"], payload=dumps(diff)) for diff in diffs]
    )


def add_to_outbox(diff: dict[str, Any], using: str) -> int:
    """Write ``diff`` in the current transaction of ``using``; return the row id."""
    row = PendingDiff.objects.using(using).create(
        diff_id=diff["i"], payload=dumps(diff), sent_at=timezone.now()
    )
    return row.pk


def due(limit: int) -> tuple[str, list[tuple[int, str, dict[str, Any]]]]:
    """Return the database alias and up to ``limit`` rows to send again, oldest first.

    Due are rows never sent (spooled during a broker outage) and rows sent longer than
    ``outbox_resend_after`` ago whose diff no worker has confirmed yet.
    """
    alias = router.db_for_write(PendingDiff)
    cutoff = timezone.now() - timedelta(seconds=settings.outbox_resend_after)
    rows = (
        PendingDiff.objects.using(alias)
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
    PendingDiff.objects.using(alias).filter(pk__in=list(row_ids)).update(
        sent_at=timezone.now() if sent else None
    )


def confirm(alias: str, rows: Iterable[tuple[int, str]], stored_ids: set[str]) -> int:
    """Delete the rows whose diffs are now stored in Redis; return how many went."""
    ids = [row_id for row_id, diff_id in rows if diff_id in stored_ids]
    if not ids:
        return 0
    deleted, _ = (
        PendingDiff.objects.using(alias).filter(pk__in=ids, diff_id__in=stored_ids).delete()
    )
    return deleted
