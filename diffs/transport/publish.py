"""The synchronous path: one ``diffs.write`` task message now, or the batch kept in the database.

The web process never imports the worker's code: it sends the task by name, through the
project's own Celery app (``celery.current_app``: its broker, queues and eager mode), as JSON
whatever the app's default serializer. A publish failure never reaches ``save()``: the batch
goes to the database (the ``spool`` durability mode; see :mod:`diffs.transport.pending`), one
error is logged per outage rather than per save, and the first successful publish after it
sends a slice of the spool again; the ``diffs.resend`` beat task sends the rest.

A project set up so that no diff can be sent (eager mode without the ``diffs_tasks`` app) is
not an outage: it is logged as the configuration error it is, and the batch is kept too.

A :class:`Sender` belongs to a runtime (:mod:`diffs.transport.runtime`), whose ``publish``
chooses between it and the background publisher; the background publisher's thread sends
through :meth:`Sender.deliver`. :meth:`Sender.publish_now` is for code that must have the
diffs sent (or kept) before it goes on.
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
from . import pending
from .background import NotSentInTime
from .counters import Counters
from .producer import ProducerPool
from .task_names import WRITE_TASK

logger = logging.getLogger("diffs")


#: How many spooled diffs a web process sends again right after an outage ends; the
#: ``diffs.resend`` task sends the rest, so no request pays for a long spool.
RESEND_ON_RECOVERY = 500
#: Diffs per message when kept diffs are sent again.
RESEND_BATCH = 500


class EagerRunFailed(Exception):
    """The write task, run in this process by Celery's eager mode, raised."""


class Sender:
    """Sends batches through a runtime's producers, keeps what the broker refuses, counts both.

    It remembers the outage it is in (since when, how much was kept), so an outage is logged
    once, and its end sends kept diffs again.
    """

    def __init__(self, producers: ProducerPool, counters: Counters) -> None:
        self.producers = producers
        self.counters = counters
        self.outage_since: float | None = None
        self.outage_spooled = 0

    def publish_now(
        self, diffs: list[DiffPayload], outbox: PendingRef | None = None, *, app: Any = None,
        queue: str | None = None, raise_errors: bool | None = None,
    ) -> None:
        """Send one write task carrying ``diffs`` now; never raises (unless ``raise_errors``).

        ``app`` and ``queue`` default to the current Celery app and the ``queue`` setting,
        ``raise_errors`` to its setting. A batch the broker refuses is kept (``durability``).
        ``outbox`` (from :func:`diffs.wire.pending_rows`) names the ``PendingDiff`` rows that
        hold these diffs, so the worker deletes them once they are stored.
        """
        envelope = wire.batch(diffs, outbox)
        try:
            self.send(envelope, app=app, queue=queue)
        except Exception as exc:
            if diffs_settings.raise_errors if raise_errors is None else raise_errors:
                raise
            self.failed(envelope, exc)
            return
        self.counters.add("diffs_published", len(diffs))
        self.counters.add("messages_sent")
        if self.outage_since is not None:
            self._recovered()

    def deliver(self, app: Any, queue: str, diffs: list[DiffPayload],
                outbox: PendingRef | None) -> None:
        """The background publisher's send: :meth:`publish_now`, with nobody to raise to."""
        self.publish_now(diffs, outbox, app=app, queue=queue, raise_errors=False)

    def keep(self, diffs: list[DiffPayload], outbox: PendingRef | None,
             reason: Exception) -> None:
        """Keep diffs the background publisher could not send (see :meth:`failed`)."""
        self.failed(wire.batch(diffs, outbox), reason)

    def send(self, envelope: BatchPayload, *, app: Any = None, queue: str | None = None) -> None:
        """Publish ``envelope`` as a ``diffs.write`` task message (or run it, in eager mode).

        The task's one argument is the batch as JSON text, which a worker parses with
        ``json.loads`` three times faster than kombu's decoder would build it (that one calls a
        Python hook for every object). The message goes through a long-lived producer of
        :mod:`diffs.transport.producer`. Raises ``producer.PublishFailed`` when the broker does
        not take it, ``ConfigurationError`` when no write task can run, ``EagerRunFailed`` when
        it ran and failed.
        """
        if app is None:
            app = current_app._get_current_object()
        text = wire.dumps(envelope)
        if self.producers.always_eager(app):
            _run_eagerly(app, text)
            return
        self.producers.send_task(
            app,
            WRITE_TASK,
            [text],
            diffs_settings.queue if queue is None else queue,
            diffs_settings.publish_timeout,
            argsrepr=(f"('<{len(wire.batch_diffs(envelope))} diffs as JSON, "
                      f"{len(text)} characters>',)"),
        )

    def failed(self, envelope: BatchPayload, exc: Exception) -> None:
        """Keep a batch that could not be sent in the database, to be sent again later."""
        diffs = wire.batch_diffs(envelope)
        if diffs_settings.durability == "none":
            logger.error(
                "diffs: LOST %d diff(s): they could not be sent (%s) and durability is 'none': "
                "%s", len(diffs), exc, wire.batch_ids(envelope),
            )
            return
        if isinstance(exc, ConfigurationError):
            logger.error("diffs: %s; %d diff(s) kept in the database until it is fixed",
                         exc, len(diffs))
        elif isinstance(exc, NotSentInTime):
            logger.error("diffs: %s; %d diff(s) kept in the database", exc, len(diffs))
        elif self.outage_since is None:
            self.outage_since = time.monotonic()
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
            self.outage_spooled += len(diffs)
            self.counters.add("diffs_spooled", len(diffs))
        except Exception:
            logger.exception(
                "diffs: LOST %d diff(s): they could not be sent and the database did not take "
                "them either: %s", len(diffs), wire.batch_ids(envelope),
            )

    def _recovered(self) -> None:
        logger.warning(
            "diffs: publishing works again after %.1fs; %d diff(s) were kept in the database "
            "and are being sent again", time.monotonic() - (self.outage_since or 0.0),
            self.outage_spooled,
        )
        self.outage_since, self.outage_spooled = None, 0
        try:
            self.resend(RESEND_ON_RECOVERY)
        except Exception:
            logger.exception("diffs: resending kept diffs failed; the diffs.resend task will "
                             "retry")

    def resend(self, limit: int) -> int:
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
                self.send(envelope)
            except Exception:
                pending.mark_sent(alias, ids, sent=False)
                raise
            sent += len(chunk)
            self.counters.add("diffs_resent", len(chunk))
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
