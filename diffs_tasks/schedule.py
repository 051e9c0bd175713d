"""The beat schedule entries (prune, resend), for plain ``celery beat`` or django-celery-beat.

In the project's Celery module, after ``app.config_from_object(...)``::

    app.conf.beat_schedule = {**app.conf.beat_schedule, **diffs_tasks.schedule.beat_schedule()}

django-celery-beat's ``DatabaseScheduler`` copies ``beat_schedule`` entries into its
``PeriodicTask`` table when beat starts, so the same line serves both schedulers.
"""

from __future__ import annotations

import datetime
from typing import Any

from diffs.conf import diffs_settings
from diffs.transport.task_names import PRUNE_TASK, RESEND_TASK

#: The entries' names (``PeriodicTask.name`` under django-celery-beat).
ENTRY_NAME = "diffs.prune"
RESEND_ENTRY_NAME = "diffs.resend"


def beat_schedule() -> dict[str, dict[str, Any]]:
    """Return the entries: prune every ``prune_interval`` s, resend every ``resend_interval`` s.

    The tasks go to the diffs ``queue``, and one left queued for longer than its interval
    (workers down) expires instead of piling up behind the next one. The resend task sends
    again the diffs kept in the database during a broker outage (and outbox rows).
    """
    return {
        ENTRY_NAME: _entry(PRUNE_TASK, diffs_settings.prune_interval),
        RESEND_ENTRY_NAME: _entry(RESEND_TASK, diffs_settings.resend_interval),
    }


def _entry(task: str, interval: float) -> dict[str, Any]:
    return {
        "task": task,
        "schedule": datetime.timedelta(seconds=interval),
        "options": {"queue": diffs_settings.queue, "expires": interval},
    }
