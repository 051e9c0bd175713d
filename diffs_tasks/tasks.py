"""The Celery tasks: write diffs to Redis, prune old ones, send kept ones again.

``schedule`` has the beat entries."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from diffs.conf import settings
from diffs.storage import writer
from diffs.storage.pruning import prune
from diffs.transport import pending
from diffs.transport.publish import resend
from diffs.wire import PRUNE_TASK, RESEND_TASK, WRITE_TASK

from . import signals  # noqa: F401  (connects the worker start-up check)

logger = logging.getLogger("diffs")


@shared_task(
    name=WRITE_TASK,
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    serializer="json",
)
def write_diffs(self: Any, batch: Any) -> dict[str, int]:
    """Store a batch of diffs; retry with exponential back-off while Redis is unreachable.

    Once stored, the ``PendingDiff`` rows holding the diffs (if any) are deleted. When the
    retries run out, the diffs go to the database and the ``diffs.resend`` task sends them
    again later: nothing is dropped.
    """
    envelope = writer.load(batch)
    try:
        result = writer.write_batch(envelope)
    except (RedisConnectionError, RedisTimeoutError) as exc:
        retries = self.request.retries
        if retries >= settings.write_max_retries:
            valid, _ = writer.check(envelope)
            pending.keep_unstored(
                envelope, valid,
                f"storage Redis still down after {settings.write_max_retries} retries ({exc})",
            )
            return {"written": 0, "added": 0, "rejected": 0}
        delay = min(2**retries, settings.write_retry_backoff_max)
        logger.warning(
            "diffs: storage Redis unreachable (%s); retry %d in %ss", exc, retries + 1, delay
        )
        limit = settings.write_max_retries
        raise self.retry(exc=exc, countdown=delay, max_retries=limit) from exc
    pending.confirm_batch(envelope, result.stored_ids)
    return result.as_dict()


@shared_task(name=RESEND_TASK, ignore_result=True)
def resend_pending(limit: int = 10_000) -> int:
    """Send again the diffs kept in the database (broker outages, outbox rows nobody confirmed)."""
    return resend(limit)


@shared_task(name=PRUNE_TASK, ignore_result=True, serializer="json")
def prune_diffs() -> dict[str, Any] | None:
    """Remove the diffs older than their max age; takes no arguments, so trusts no payload.

    No retry while Redis is unreachable: beat sends the next prune one interval later.
    """
    try:
        result = prune()
    except (RedisConnectionError, RedisTimeoutError) as exc:
        logger.warning("diffs: storage Redis unreachable (%s); prune skipped", exc)
        return None
    logger.info(
        "diffs: pruned %d members from %d keys (%d deleted) in %.2fs",
        result.members_removed, result.keys_scanned, result.keys_deleted, result.seconds,
    )
    return result.as_dict()
