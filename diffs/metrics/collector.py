"""The Prometheus collector of django-diffs: every count read at scrape time, none kept twice.

Imports ``prometheus_client``: :func:`diffs.metrics.install` imports this module only when it
is installed (the ``prometheus`` extra). The collector reads the publishing counters of the
process's runtime (``diffs.stats()``), the worker-side tally (:mod:`diffs.metrics.tally`) and,
for the kept-rows gauge, one ``COUNT`` of the ``PendingDiff`` table; so a save pays nothing
for metrics beyond the counters it already kept.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator

from django.db import connections
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from ..transport import pending, runtime
from .tally import LATENCY_BUCKETS, worker

logger = logging.getLogger("diffs")

#: The publishing counters of ``diffs.stats()``: metric name (before ``_total``), its help.
PUBLISHING = {
    "diffs_recorded": "Diffs of committed transactions handed to publishing.",
    "diffs_published": "Diffs handed to the broker (or run by the eager write task).",
    "messages_sent": "Write task messages sent.",
    "backpressure_publishes": "Commits that found the publisher queue full and published "
                              "themselves.",
    "diffs_spooled": "Diffs the broker refused, kept in the database.",
    "diffs_resent": "Kept diffs sent again.",
}


class DiffsCollector(Collector):
    """Yields the metrics of django-diffs (``diffs_*``) from the counters kept anyway."""

    def describe(self) -> Iterator[Metric]:
        """Return every metric without reading anything (the registry asks at registration,
        which happens while Django starts: no database query there)."""
        return self.collect(read=False)

    def collect(self, read: bool = True) -> Iterator[Metric]:
        """Return every metric, read now."""
        stats = runtime.stats()
        for name, text in PUBLISHING.items():
            metric = name if name.startswith("diffs_") else f"diffs_{name}"
            yield CounterMetricFamily(metric, text, value=stats[name])
        yield GaugeMetricFamily("diffs_publisher_queue_length",
                                "Diffs waiting for the background publisher.",
                                value=stats["queue_length"])
        yield GaugeMetricFamily("diffs_publisher_queue_high_water",
                                "The most diffs that waited for the background publisher.",
                                value=stats["queue_high_water"])
        yield from self._worker()
        rows = _kept_rows() if read else 0
        if rows is not None:
            yield GaugeMetricFamily("diffs_kept_rows",
                                    "Diffs waiting in the database (PendingDiff rows).",
                                    value=rows)

    @staticmethod
    def _worker() -> Iterator[Metric]:
        counts = worker.snapshot()
        stored = CounterMetricFamily("diffs_stored", "Diffs stored by this worker.",
                                     labels=["model"])
        for label, amount in sorted(counts.stored.items()):
            stored.add_metric([label], amount)
        yield stored
        rejected = CounterMetricFamily("diffs_rejected", "Diffs a worker rejected as invalid.",
                                       labels=["reason"])
        for reason, amount in counts.rejected.items():
            rejected.add_metric([reason], amount)
        yield rejected
        yield CounterMetricFamily(
            "diffs_kept", "Diffs a worker kept in the database (storage refused them after its "
            "retries, or their model is unknown to it).", value=counts.kept)
        yield CounterMetricFamily("diffs_write_retries", "Write tasks retried.",
                                  value=counts.write_retries)
        cumulative, buckets = 0, []
        for bound, amount in zip((*map(str, LATENCY_BUCKETS), "+Inf"), counts.latency_buckets,
                                 strict=True):
            cumulative += amount
            buckets.append((bound, cumulative))
        yield HistogramMetricFamily(
            "diffs_commit_to_stored_seconds",
            "Seconds from a change to its diff being stored, measured by the worker.",
            buckets=buckets, sum_value=counts.latency_sum)
        yield CounterMetricFamily("diffs_prune_runs", "Prune runs.", value=counts.prune_runs)
        yield CounterMetricFamily("diffs_prune_members_removed", "Diffs removed by pruning.",
                                  value=counts.prune_members_removed)
        yield CounterMetricFamily("diffs_prune_seconds", "Seconds spent pruning.",
                                  value=counts.prune_seconds)


def _kept_rows() -> int | None:
    """Return the PendingDiff rows, or None when the database does not answer (logged)."""
    try:
        rows, _ = pending.kept()
    except Exception as exc:
        logger.warning("diffs: metrics could not count the kept diffs (%s: %s)",
                       type(exc).__name__, exc)
        return None
    finally:
        # A scrape thread of a worker's metrics server lives for one request and nobody closes
        # its connections: close it here (a request thread's is reopened if it needs one).
        if threading.current_thread() is not threading.main_thread() and not any(
            connection.in_atomic_block for connection in connections.all(initialized_only=True)
        ):
            connections.close_all()  # this thread's only
    return rows
