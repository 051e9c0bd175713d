"""Worker start-up check: say clearly, once, when the storage Redis does not answer."""

from __future__ import annotations

import logging
from typing import Any

from celery.signals import worker_ready

from diffs.checks import check_redis_reachable

logger = logging.getLogger("diffs")


@worker_ready.connect
def check_storage(**kwargs: Any) -> None:
    """Ping the storage Redis when a worker starts; log an error naming the URL if it fails."""
    for error in check_redis_reachable():
        logger.error("diffs: %s %s", error.msg, error.hint)
