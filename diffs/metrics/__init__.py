"""Prometheus metrics of django-diffs, with the optional ``prometheus`` extra.

:func:`install` (``DiffsConfig.ready()``) registers one collector in ``prometheus_client``'s
default registry, so whatever exposes that registry in a web process (django-prometheus, a
project's own ``/metrics`` view) shows the ``diffs_*`` metrics too. Without
``prometheus_client`` installed it does nothing and imports nothing. Workers expose theirs on
``DIFFS_SETTINGS["metrics_port"]`` (:func:`serve`, started by ``diffs_tasks``).
"""

from __future__ import annotations

import importlib.util
import logging
import threading

logger = logging.getLogger("diffs")

_installed = False
_lock = threading.Lock()


def available() -> bool:
    """Return whether ``prometheus_client`` is installed (without importing it)."""
    try:
        return importlib.util.find_spec("prometheus_client") is not None
    except (ImportError, ValueError):  # an import hook refuses it, or sys.modules holds None
        return False


def install() -> bool:
    """Register the diffs collector in the default registry once; return whether it is there."""
    global _installed
    with _lock:
        if not _installed and available():
            from prometheus_client import REGISTRY

            from .collector import DiffsCollector

            REGISTRY.register(DiffsCollector())
            _installed = True
        return _installed


def serve(port: int) -> bool:
    """Serve the default registry on ``port`` (all interfaces) from a thread; return whether
    it started (the port taken or the extra missing is logged, never raised: a worker without
    its metrics still stores diffs)."""
    if not install():
        logger.error("diffs: DIFFS_SETTINGS['metrics_port'] is set, but prometheus-client is "
                     "not installed: pip install 'django-diffs[prometheus]'")
        return False
    from prometheus_client import start_http_server

    try:
        start_http_server(port)
    except OSError as exc:
        logger.error("diffs: could not serve metrics on port %d (%s)", port, exc)
        return False
    logger.info("diffs: metrics served on port %d", port)
    return True
