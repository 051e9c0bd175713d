"""The worker's own jobs: a start-up check of the storage, and a timer that drains kept diffs.

Diffs kept in the database (a broker outage, a storage refusing writes, models a worker did not
know yet) are sent again by the ``diffs.resend`` task. Beat schedules it when the project adds
``beat_schedule()``; without beat, every worker's timer offers to send it every
``resend_interval`` seconds, and one worker of all (the one that takes a short lock in the
storage Redis) does. So kept diffs drain whether or not beat runs.
"""

from __future__ import annotations

import logging
from typing import Any

from celery.signals import worker_ready

from diffs.checks import check_redis_reachable
from diffs.conf import diffs_settings
from diffs.storage import store
from diffs.storage.connection import get_redis
from diffs.storage.keys import resend_lock_key
from diffs.transport.task_names import RESEND_TASK

logger = logging.getLogger("diffs")


@worker_ready.connect
def check_storage(**kwargs: Any) -> None:
    """Ping the storage Redis when a worker starts; log an error naming the URL if it fails."""
    for error in check_redis_reachable():
        logger.error("diffs: %s %s", error.msg, error.hint)


@worker_ready.connect
def start_resend_timer(sender: Any = None, **kwargs: Any) -> None:
    """Offer to send kept diffs again every ``resend_interval`` seconds, from this worker."""
    timer = getattr(sender, "timer", None)
    app = getattr(sender, "app", None)
    if timer is None or app is None:
        return
    timer.call_repeatedly(diffs_settings.resend_interval, offer_resend, (app,))


def offer_resend(app: Any) -> bool:
    """Queue one ``diffs.resend`` task unless another worker did this interval; return whether."""
    try:
        if not store.claim(get_redis(), resend_lock_key(diffs_settings.key_prefix),
                           diffs_settings.resend_interval):
            return False
        app.send_task(RESEND_TASK, queue=diffs_settings.queue,
                      expires=diffs_settings.resend_interval)
    except Exception as exc:  # the storage or the broker is down: the next interval tries again
        logger.warning("diffs: could not offer to resend kept diffs (%s: %s)",
                       type(exc).__name__, exc)
        return False
    return True
