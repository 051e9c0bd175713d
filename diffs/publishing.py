"""Hand a batch of diffs to Celery as an ordinary JSON task message for ``diffs.write``.

The web process never imports the worker's code: it sends the task by name, through the
project's own Celery app (``celery.current_app``: its broker, queues and eager mode), as JSON
whatever the app's default serializer. A publish failure never reaches ``save()``: the batch
goes to the database (the ``spool`` durability mode; see :mod:`diffs.pending`), one error is
logged per outage rather than per save, and the first successful publish after it sends a
slice of the spool again; the ``diffs.resend`` beat task sends the rest.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from celery import current_app

from . import producer
from .conf import settings
from .payload import VERSION, WRITE_TASK, dumps

logger = logging.getLogger("diffs")


#: How many spooled diffs a web process sends again right after an outage ends; the
#: ``diffs.resend`` task sends the rest, so no request pays for a long spool.
RESEND_ON_RECOVERY = 500

_outage: dict[str, Any] = {"since": None, "spooled": 0}


def publish(diffs: list[dict[str, Any]], outbox: dict[str, Any] | None = None) -> None:
    """Send one write task carrying ``diffs``; never raises (unless ``raise_errors``).

    ``outbox`` (``{"db": alias, "rows": [[row id, diff id], ...]}``) names the
    ``PendingDiff`` rows that hold these diffs, so the worker deletes them once they are stored.
    """
    batch: dict[str, Any] = {"v": VERSION, "diffs": diffs}
    if outbox:
        batch["pending"] = outbox
    try:
        send(batch)
    except Exception as exc:
        if settings.raise_errors:
            raise
        failed(batch, exc)
        return
    if _outage["since"] is not None:
        _recovered()


def send(batch: dict[str, Any]) -> None:
    """Publish ``batch`` as a ``diffs.write`` task message (or run it, in eager mode).

    The task's one argument is the batch as JSON text, which a worker parses with ``json.loads``
    three times faster than kombu's decoder would build it (that one calls a Python hook for
    every object). The message goes through :mod:`diffs.producer`'s long-lived producer.
    """
    app = current_app._get_current_object()
    text = dumps(batch)
    if producer.always_eager(app):
        _run_eagerly(app, text)
        return
    producer.send_task(
        app,
        WRITE_TASK,
        [text],
        settings.queue,
        settings.publish_timeout,
        argsrepr=f"('<{len(batch['diffs'])} diffs as JSON, {len(text)} characters>',)",
    )


def failed(batch: dict[str, Any], exc: Exception) -> None:
    """Keep a batch the broker did not take in the database, to be sent again later."""
    from . import pending  # the model module: imported late, never while models load

    if settings.durability == "none":
        logger.error(
            "diffs: LOST %d diff(s): the broker refused them (%s) and durability is 'none': %s",
            len(batch["diffs"]), exc, pending_ids(batch),
        )
        return
    if _outage["since"] is None:
        _outage["since"] = time.monotonic()
        logger.error(
            "diffs: the Celery broker refused a batch (%s: %s); diffs are kept in the "
            "database until it is back (logged once per outage)", type(exc).__name__, exc,
        )
    try:
        if "pending" in batch:  # outbox rows: already in the database, due again at once
            pending.mark_sent(batch["pending"]["db"], (r[0] for r in batch["pending"]["rows"]),
                              sent=False)
        else:
            pending.spool(batch["diffs"])
        _outage["spooled"] += len(batch["diffs"])
    except Exception:
        logger.exception(
            "diffs: LOST %d diff(s): the broker refused them and the database did not take "
            "them either: %s", len(batch["diffs"]), pending_ids(batch),
        )


def _recovered() -> None:
    logger.warning(
        "diffs: the Celery broker is back after %.1fs; %d diff(s) were kept in the database "
        "and are being sent again", time.monotonic() - _outage["since"], _outage["spooled"],
    )
    _outage.update(since=None, spooled=0)
    try:
        resend(RESEND_ON_RECOVERY)
    except Exception:
        logger.exception("diffs: resending kept diffs failed; the diffs.resend task will retry")


def resend(limit: int) -> int:
    """Send up to ``limit`` due ``PendingDiff`` rows again, in order; return how many went."""
    from . import pending

    alias, rows = pending.due(limit)
    sent = 0
    for start in range(0, len(rows), RESEND_BATCH):
        chunk = rows[start:start + RESEND_BATCH]
        ids = [row_id for row_id, _, _ in chunk]
        pending.mark_sent(alias, ids)
        batch = {
            "v": VERSION,
            "diffs": [diff for _, _, diff in chunk],
            "pending": {"db": alias, "rows": [[row_id, diff_id] for row_id, diff_id, _ in chunk]},
        }
        try:
            send(batch)
        except Exception:
            pending.mark_sent(alias, ids, sent=False)
            raise
        sent += len(chunk)
    return sent


RESEND_BATCH = 500


def pending_ids(batch: dict[str, Any]) -> str:
    """Return the ids of a batch's diffs, for a log line that lets someone recover them."""
    return ",".join(str(diff.get("i")) for diff in batch.get("diffs", []))


def _run_eagerly(app: Any, text: str) -> None:
    if WRITE_TASK not in app.tasks:
        app.loader.import_default_modules()  # what a worker does at start: autodiscovery
    task = app.tasks.get(WRITE_TASK)
    if task is None:
        raise LookupError(
            f"task {WRITE_TASK!r} is not registered with the Celery app {app.main!r}: add "
            "'diffs_tasks' to INSTALLED_APPS and call app.autodiscover_tasks()"
        )
    task.apply(args=(text,), throw=True)
