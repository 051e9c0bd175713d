"""The beat schedule entry of the prune task, for plain ``celery beat`` or django-celery-beat.

In the project's Celery module, after ``app.config_from_object(...)``::

    app.conf.beat_schedule = {**app.conf.beat_schedule, **diffs_tasks.schedule.beat_schedule()}

django-celery-beat's ``DatabaseScheduler`` copies ``beat_schedule`` entries into its
``PeriodicTask`` table when beat starts, so the same line serves both schedulers.
"""

from __future__ import annotations

import datetime
from typing import Any

from diffs.conf import settings
from diffs.payload import PRUNE_TASK

#: The entry's name (the ``PeriodicTask.name`` under django-celery-beat).
ENTRY_NAME = "diffs.prune"


def beat_schedule() -> dict[str, dict[str, Any]]:
    """Return ``{name: entry}`` running the prune task every ``prune_interval`` seconds.

    The task goes to the diffs ``queue``, and a prune left queued for longer than one interval
    (workers down) expires instead of piling up behind the next one.
    """
    interval = settings.prune_interval
    return {
        ENTRY_NAME: {
            "task": PRUNE_TASK,
            "schedule": datetime.timedelta(seconds=interval),
            "options": {"queue": settings.queue, "expires": interval},
        }
    }
