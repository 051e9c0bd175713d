"""Hand a batch of diffs to Celery as an ordinary JSON task message for ``diffs.write``.

The web process never imports the worker's code: it sends the task by name to the project's
own Celery app (``celery.current_app``), with the JSON serializer whatever the app's default.
A publish failure never reaches ``save()``.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import current_app

from .conf import settings
from .payload import VERSION, WRITE_TASK

logger = logging.getLogger("diffs")


def publish(diffs: list[dict[str, Any]]) -> None:
    """Send one write task carrying ``diffs``; log (never raise) when the broker fails."""
    batch = {"v": VERSION, "diffs": diffs}
    app = current_app
    try:
        if app.conf.task_always_eager:
            _run_eagerly(app, batch)
            return
        app.send_task(
            WRITE_TASK,
            args=(batch,),
            queue=settings.queue,
            serializer="json",
            retry=False,
            ignore_result=True,
        )
    except Exception:
        if settings.raise_errors:
            raise
        logger.exception("diffs: could not publish %d diff(s)", len(diffs))


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
