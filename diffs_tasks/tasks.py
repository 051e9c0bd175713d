"""The Celery tasks: write diffs to Redis, prune old ones, send kept ones again.

``schedule`` has the beat entries; ``signals`` the worker's start-up check and its timer that
sends kept diffs again when no beat does.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from celery.exceptions import Reject, Retry
from redis.exceptions import RedisError

from diffs.conf import diffs_settings
from diffs.exceptions import ConfigurationError
from diffs.metrics import tally
from diffs.storage import writer
from diffs.storage.pruning import prune
from diffs.transport import pending, runtime
from diffs.transport.task_names import PRUNE_TASK, RESEND_TASK, WRITE_TASK
from diffs.wire import batch_pending

from . import signals  # noqa: F401  (connects the worker's start-up check and resend timer)

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
    """Store a batch of diffs; whatever the storage answers, no diff is dropped.

    Any storage error (unreachable, out of memory, read-only after a failover, loading, busy,
    scripting refused...) is retried with exponential back-off; after the last retry the diffs
    go to the database (``PendingDiff``) for ``diffs.resend``. Once stored, their pending rows
    (outbox, resent spool) are deleted. Diffs of models this worker does not know are kept for a
    worker that does. Only a diff invalid in itself is rejected (logged).
    """
    envelope = writer.load(batch)
    try:
        result = writer.write_batch(envelope)
    except Exception as exc:
        _retry_or_keep(self, envelope, exc)
        return {"written": 0, "added": 0, "rejected": 0, "unknown": 0}
    tally.worker.stored(result.changes)
    if result.rejected:
        tally.worker.rejected(result.reject_reason, result.rejected)
    pending.confirm_batch(envelope, result.stored_ids)
    if result.unknown and not batch_pending(envelope):  # rows of a pending batch just stay
        tally.worker.add("kept", pending.keep_unknown(list(result.unknown)))
    return result.as_dict()


def _retry_or_keep(task: Any, envelope: Any, exc: Exception) -> None:
    """Retry the write later; past the last retry (or in eager mode) keep its diffs instead.

    Raises ``Retry`` to retry. Settings that name no storage are kept at once: a worker's
    settings do not change while it runs, and the storage never falls back to another Redis.
    If nothing can keep the diffs either (the database is down too), the message is rejected
    back to the broker, which delivers it again: never acknowledged with its diffs neither
    stored nor kept.
    """
    if isinstance(exc, ConfigurationError):
        _keep(envelope, f"the storage settings are wrong, nothing is stored: {exc}")
        return
    kind = "storage Redis error" if isinstance(exc, RedisError) else "storage write failed"
    retries = task.request.retries
    if retries < diffs_settings.write_max_retries and not task.request.is_eager:
        delay = min(2**retries, diffs_settings.write_retry_backoff_max)
        logger.warning("diffs: %s (%s: %s); retry %d in %ss", kind, type(exc).__name__, exc,
                       retries + 1, delay)
        tally.worker.add("write_retries")
        try:
            raise task.retry(exc=exc, countdown=delay, max_retries=diffs_settings.write_max_retries)
        except Retry:
            raise
        except Exception as retry_error:  # the broker refused the retry message
            logger.error("diffs: could not schedule the retry (%s); keeping the diffs instead",
                         retry_error)
    _keep(envelope, f"{kind} after {retries} retries ({type(exc).__name__}: {exc})")


def _keep(envelope: Any, reason: str) -> None:
    """Keep the batch's diffs in the database for ``diffs.resend``; log ``reason`` once."""
    try:
        parsed = writer.check(envelope)
        pending.keep_unstored(envelope, parsed.good, reason)
        if not batch_pending(envelope):  # (a pending batch's rows stay as they are)
            kept = pending.keep_unknown(parsed.unknown)
            tally.worker.add("kept", len(parsed.good) + kept)
    except Exception as keep_error:
        logger.error("diffs: %s, and the database did not keep the diffs either (%s); the "
                     "message goes back to the broker", reason, keep_error)
        raise Reject(reason, requeue=True) from keep_error


@shared_task(name=RESEND_TASK, ignore_result=True)
def resend_pending(limit: int = 10_000) -> int:
    """Send again the diffs kept in the database (outages, outbox rows, unknown models)."""
    return runtime.current().sender.resend(limit)


@shared_task(name=PRUNE_TASK, ignore_result=True, serializer="json")
def prune_diffs() -> dict[str, Any] | None:
    """Remove the diffs older than their max age; takes no arguments, so trusts no payload.

    No retry while the storage fails: beat sends the next prune one interval later.
    """
    try:
        result = prune()
    except RedisError as exc:
        logger.warning("diffs: storage Redis error (%s: %s); prune skipped",
                       type(exc).__name__, exc)
        return None
    except ConfigurationError as exc:
        logger.error("diffs: prune skipped: %s", exc)
        return None
    tally.worker.pruned(result.members_removed, result.seconds)
    logger.info(
        "diffs: pruned %d members from %d keys (%d deleted) in %.2fs",
        result.members_removed, result.keys_scanned, result.keys_deleted, result.seconds,
    )
    return result.as_dict()
