"""Hand a batch of diffs to Celery as an ordinary JSON task message for ``diffs.write``.

The web process never imports the worker's code: it sends the task by name, through the
project's own Celery app (``celery.current_app``: its broker, queues and eager mode), as JSON
whatever the app's default serializer. A publish failure never reaches ``save()``: the batch
goes to the database (the ``spool`` durability mode; see :mod:`diffs.transport.pending`), one
error is logged per outage rather than per save, and the first successful publish after it
sends a slice of the spool again; the ``diffs.resend`` beat task sends the rest.

A project set up so that no diff can be sent (eager mode without the ``diffs_tasks`` app) is
not an outage: it is logged as the configuration error it is, and the batch is kept too.

:func:`publish` is what a commit calls. In ``background`` mode (the default) it hands the
diffs to :mod:`diffs.transport.background`, whose thread sends them through
:func:`publish_now` with those of other commits; in ``on_commit`` mode, in Celery's eager mode,
and when the queue is full or no thread can run, it calls :func:`publish_now` itself.
:func:`publish_now` is the synchronous path, for code that must have the diffs sent (or kept)
before it goes on.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from celery import current_app

from .. import wire
from ..conf import diffs_settings
from ..exceptions import ConfigurationError
from ..wire import BatchPayload, DiffPayload, PendingRef
from . import background, counters, pending, producer
from .task_names import WRITE_TASK

logger = logging.getLogger("diffs")


#: How many spooled diffs a web process sends again right after an outage ends; the
#: ``diffs.resend`` task sends the rest, so no request pays for a long spool.
RESEND_ON_RECOVERY = 500
#: Diffs per message when kept diffs are sent again.
RESEND_BATCH = 500

_outage: dict[str, Any] = {"since": None, "spooled": 0}


class EagerRunFailed(Exception):
    """The write task, run in this process by Celery's eager mode, raised."""


def publish(diffs: list[DiffPayload], outbox: PendingRef | None = None) -> None:
    """Publish the diffs of a committed transaction as the ``publish`` setting says.

    ``outbox`` (from :func:`diffs.wire.pending_rows`) names the ``PendingDiff`` rows that hold
    these diffs, so the worker deletes them once they are stored.
    """
    app = current_app._get_current_object()
    if (
        diffs_settings.publish == "background"
        and not producer.always_eager(app)
        and background.submit(diffs, outbox, app, diffs_settings.queue, _deliver, _keep)
    ):
        return
    publish_now(diffs, outbox, app=app)


def publish_now(
    diffs: list[DiffPayload], outbox: PendingRef | None = None, *, app: Any = None,
    queue: str | None = None, raise_errors: bool | None = None,
) -> None:
    """Send one write task carrying ``diffs`` now; never raises (unless ``raise_errors``).

    ``app`` and ``queue`` default to the current Celery app and the ``queue`` setting,
    ``raise_errors`` to its setting. A batch the broker refuses is kept (``durability``).
    """
    envelope = wire.batch(diffs, outbox)
    try:
        send(envelope, app=app, queue=queue)
    except Exception as exc:
        if diffs_settings.raise_errors if raise_errors is None else raise_errors:
            raise
        failed(envelope, exc)
        return
    counters.add("diffs_published", len(diffs))
    counters.add("messages_sent")
    if _outage["since"] is not None:
        _recovered()


def _deliver(app: Any, queue: str, diffs: list[DiffPayload], outbox: PendingRef | None) -> None:
    """The background publisher's send: :func:`publish_now`, with nobody to raise to."""
    publish_now(diffs, outbox, app=app, queue=queue, raise_errors=False)


def _keep(diffs: list[DiffPayload], outbox: PendingRef | None, reason: Exception) -> None:
    failed(wire.batch(diffs, outbox), reason)


def send(envelope: BatchPayload, *, app: Any = None, queue: str | None = None) -> None:
    """Publish ``envelope`` as a ``diffs.write`` task message (or run it, in eager mode).

    The task's one argument is the batch as JSON text, which a worker parses with ``json.loads``
    three times faster than kombu's decoder would build it (that one calls a Python hook for
    every object). The message goes through :mod:`diffs.transport.producer`'s long-lived
    producer. Raises ``producer.PublishFailed`` when the broker does not take it,
    ``ConfigurationError`` when no write task can run, ``EagerRunFailed`` when it ran and failed.
    """
    if app is None:
        app = current_app._get_current_object()
    text = wire.dumps(envelope)
    if producer.always_eager(app):
        _run_eagerly(app, text)
        return
    producer.send_task(
        app,
        WRITE_TASK,
        [text],
        diffs_settings.queue if queue is None else queue,
        diffs_settings.publish_timeout,
        argsrepr=f"('<{len(wire.batch_diffs(envelope))} diffs as JSON, {len(text)} characters>',)",
    )


def failed(envelope: BatchPayload, exc: Exception) -> None:
    """Keep a batch that could not be sent in the database, to be sent again later."""
    diffs = wire.batch_diffs(envelope)
    if diffs_settings.durability == "none":
        logger.error(
            "diffs: LOST %d diff(s): they could not be sent (%s) and durability is 'none': %s",
            len(diffs), exc, wire.batch_ids(envelope),
        )
        return
    if isinstance(exc, ConfigurationError):
        logger.error("diffs: %s; %d diff(s) kept in the database until it is fixed",
                     exc, len(diffs))
    elif isinstance(exc, background.NotSentInTime):
        logger.error("diffs: %s; %d diff(s) kept in the database", exc, len(diffs))
    elif _outage["since"] is None:
        _outage["since"] = time.monotonic()
        what = "the write task failed in eager mode" if isinstance(exc, EagerRunFailed) else (
            "the Celery broker refused a batch"
        )
        logger.error(
            "diffs: %s (%s: %s); diffs are kept in the database until it works again "
            "(logged once per outage)", what, type(exc.__cause__ or exc).__name__,
            exc.__cause__ or exc,
        )
    try:
        alias, rows = wire.parse_pending(envelope, known_alias=lambda alias: True)
        if rows:  # outbox rows: already in the database, due again at once
            pending.mark_sent(alias, (row_id for row_id, _ in rows), sent=False)
        in_rows = {diff_id for _, diff_id in rows}
        rowless = [diff for diff in diffs if wire.diff_id(diff) not in in_rows]
        if rowless:  # a batch may mix diffs with outbox rows and without (durability changed)
            pending.spool(rowless)
        _outage["spooled"] += len(diffs)
        counters.add("diffs_spooled", len(diffs))
    except Exception:
        logger.exception(
            "diffs: LOST %d diff(s): they could not be sent and the database did not take "
            "them either: %s", len(diffs), wire.batch_ids(envelope),
        )


def _recovered() -> None:
    logger.warning(
        "diffs: publishing works again after %.1fs; %d diff(s) were kept in the database "
        "and are being sent again", time.monotonic() - _outage["since"], _outage["spooled"],
    )
    _outage.update(since=None, spooled=0)
    try:
        resend(RESEND_ON_RECOVERY)
    except Exception:
        logger.exception("diffs: resending kept diffs failed; the diffs.resend task will retry")


def resend(limit: int) -> int:
    """Send up to ``limit`` due ``PendingDiff`` rows again, in order; return how many went."""
    alias, rows = pending.due(limit)
    sent = 0
    for start in range(0, len(rows), RESEND_BATCH):
        chunk = rows[start:start + RESEND_BATCH]
        ids = [row_id for row_id, _, _ in chunk]
        pending.mark_sent(alias, ids)
        envelope = wire.batch(
            [diff for _, _, diff in chunk],
            wire.pending_rows(alias, ((row_id, diff_id) for row_id, diff_id, _ in chunk)),
        )
        try:
            send(envelope)
        except Exception:
            pending.mark_sent(alias, ids, sent=False)
            raise
        sent += len(chunk)
    return sent


def _run_eagerly(app: Any, text: str) -> None:
    if WRITE_TASK not in app.tasks:
        app.loader.import_default_modules()  # what a worker does at start: autodiscovery
    task = app.tasks.get(WRITE_TASK)
    if task is None:
        raise ConfigurationError(
            f"Celery runs tasks eagerly, but the task {WRITE_TASK!r} is not registered "
            f"with the Celery app {app.main!r}: add 'diffs_tasks' to INSTALLED_APPS and call "
            "app.autodiscover_tasks()"
        )
    try:
        task.apply(args=(text,), throw=True)
    except Exception as exc:
        raise EagerRunFailed(f"the write task raised {type(exc).__name__}: {exc}") from exc
