"""The worker's own jobs: start-up checks (the storage answers, the diffs queue is consumed),
a timer that drains kept diffs, and its metrics server.

Metrics (``metrics_port``) are served by the process that runs the tasks, from its own
counters: with the prefork pool each pool process serves on ``metrics_port`` plus its index
(0 to concurrency - 1; a replaced child takes the index, and the port, of the one it replaces),
with the solo and thread pools the worker process serves on ``metrics_port``. Not
``prometheus_client``'s multiprocess mode: it cannot aggregate a custom collector, which reads
the counters the pipeline keeps anyway at scrape time (no second bookkeeping per diff).

Diffs kept in the database (a broker outage, a storage refusing writes, models a worker did not
know yet) are sent again by the ``diffs.resend`` task. Beat schedules it when the project adds
``beat_schedule()``; without beat, every worker's timer offers to send it every
``resend_interval`` seconds, and one worker of all (the one that takes a short lock in the
storage Redis) does. So kept diffs drain whether or not beat runs.
"""

from __future__ import annotations

import logging
from typing import Any

from celery.signals import worker_init, worker_process_init, worker_ready

from diffs import metrics
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
def check_queue(sender: Any = None, **kwargs: Any) -> None:
    """Warn when this worker does not consume the queue diffs are sent to (no ``-Q diffs``):
    unless another worker does, they pile up in the broker and nothing is stored."""
    consumed = consumed_queues(sender)
    queue = diffs_settings.queue
    if consumed is None or queue in consumed:
        return
    logger.warning(
        "diffs: this worker consumes %s, not %r, the queue diffs are sent to "
        "(DIFFS_SETTINGS['queue']): unless another worker consumes it, diffs wait in the broker "
        "and none is stored. Start a worker with -Q %s (for example "
        "`celery -A proj worker -Q %s,celery`).",
        ", ".join(sorted(consumed)) or "no queue", queue, queue, queue,
    )


def consumed_queues(consumer: Any) -> set[str] | None:
    """Return the names of the queues a worker's consumer reads, or None if it cannot tell."""
    task_consumer = getattr(consumer, "task_consumer", None)
    queues = getattr(task_consumer, "queues", None)
    if queues is None:
        return None
    return {queue.name for queue in queues}


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


@worker_init.connect
def serve_worker_metrics(sender: Any = None, **kwargs: Any) -> None:
    """Serve this worker's metrics on ``metrics_port`` unless its pool processes serve them."""
    port = diffs_settings.metrics_port
    if port is not None and not is_prefork(sender):
        metrics.serve(port)


@worker_process_init.connect
def serve_pool_process_metrics(**kwargs: Any) -> None:
    """Serve a prefork pool process's metrics on ``metrics_port`` plus its index."""
    port = diffs_settings.metrics_port
    if port is not None:
        from billiard.process import current_process

        metrics.serve(port + int(getattr(current_process(), "index", 0)))


def is_prefork(worker: Any) -> bool:
    """Return whether a worker (``WorkController``) runs its tasks in prefork pool processes."""
    pool = getattr(worker, "pool_cls", None)
    module = pool if isinstance(pool, str) else getattr(pool, "__module__", "")
    return any(name in str(module) for name in ("prefork", "processes"))
