"""Hand a batch of diffs to Celery as an ordinary JSON task message for ``diffs.write``.

The web process never imports the worker's code: it sends the task by name, through the
project's own Celery app (``celery.current_app``: its broker, queues and eager mode), as JSON
whatever the app's default serializer.
A publish failure never reaches ``save()``: :func:`publish` hands the batch to
:func:`failed` instead.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import current_app

from . import producer
from .conf import settings
from .payload import VERSION, WRITE_TASK, dumps

logger = logging.getLogger("diffs")


def publish(diffs: list[dict[str, Any]]) -> None:
    """Send one write task carrying ``diffs``; never raises (unless ``raise_errors``)."""
    batch = {"v": VERSION, "diffs": diffs}
    try:
        send(batch)
    except Exception as exc:
        if settings.raise_errors:
            raise
        failed(batch, exc)


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
    """Deal with a batch the broker did not take."""
    logger.error("diffs: could not publish %d diff(s): %s", len(batch["diffs"]), exc)


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
