"""Hand a batch of diffs to Celery as an ordinary JSON task message for ``diffs.write``.

The web process never imports the worker's code: it sends the task by name to the project's
own Celery app (``celery.current_app``), with the JSON serializer whatever the app's default.
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
    """Publish ``batch`` as a ``diffs.write`` task message (or run it, in eager mode)."""
    app = current_app
    if app.conf.task_always_eager:
        _run_eagerly(app, batch)
        return
    producer.send_task(
        app,
        WRITE_TASK,
        [dumps(batch)],  # a JSON string: workers decode it without kombu's per-object hook
        settings.queue,
        settings.publish_timeout,
        argsrepr=f"({{'v': {batch['v']}, 'diffs': <{len(batch['diffs'])} diffs>}},)",
    )


def failed(batch: dict[str, Any], exc: Exception) -> None:
    """Deal with a batch the broker did not take."""
    logger.error("diffs: could not publish %d diff(s): %s", len(batch["diffs"]), exc)


def _run_eagerly(app: Any, batch: dict[str, Any]) -> None:
    if WRITE_TASK not in app.tasks:
        app.loader.import_default_modules()  # what a worker does at start: autodiscovery
    task = app.tasks.get(WRITE_TASK)
    if task is None:
        raise LookupError(
            f"task {WRITE_TASK!r} is not registered with the Celery app {app.main!r}: add "
            "'diffs_tasks' to INSTALLED_APPS and call app.autodiscover_tasks()"
        )
    task.apply(args=(batch,), throw=True)
