"""What this process's worker side did: diffs stored, rejected, kept, retried; prunes; latency.

The publishing side counts in :mod:`diffs.transport.counters` (``diffs.stats()``); this is the
worker side's twin, filled by the tasks of ``diffs_tasks`` and read by the Prometheus collector
(:mod:`diffs.metrics.collector`) at scrape time. Plain counters under a lock: no
``prometheus_client`` on the write path, and nothing changes when it is not installed.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

#: Upper bounds (seconds) of the commit-to-stored latency histogram: from a worker keeping up
#: (milliseconds) to one catching up after an outage (minutes).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
                   300.0, 1800.0)

#: The reasons a worker rejects a diff (the ``reason`` label): a bounded set.
REJECT_REASONS = ("not_json", "invalid")


@dataclass
class Snapshot:
    """The worker-side counts at one moment (cumulative since the process started)."""

    stored: dict[str, int] = field(default_factory=dict)  # per model label
    rejected: dict[str, int] = field(default_factory=dict)  # per reason
    kept: int = 0
    write_retries: int = 0
    prune_runs: int = 0
    prune_members_removed: int = 0
    prune_seconds: float = 0.0
    latency_buckets: list[int] = field(default_factory=list)  # one per bound, then +Inf
    latency_count: int = 0
    latency_sum: float = 0.0


class Tally:
    """The worker-side counters of one process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stored: Counter[str] = Counter()
        self._rejected: Counter[str] = Counter()
        self._counts: Counter[str] = Counter()
        self._prune_seconds = 0.0
        self._buckets = [0] * (len(LATENCY_BUCKETS) + 1)
        self._latency_sum = 0.0

    def stored(self, diffs: Iterable[tuple[str, float]], now: float | None = None) -> None:
        """Count stored diffs, given as ``(label, change time)``: per model, and the time from
        each change to now in the latency histogram."""
        now = time.time() if now is None else now
        labels: Counter[str] = Counter()
        latencies = []
        for label, changed in diffs:
            labels[label] += 1
            latencies.append(max(now - changed, 0.0))
        with self._lock:
            self._stored.update(labels)
            for latency in latencies:
                self._buckets[bisect.bisect_left(LATENCY_BUCKETS, latency)] += 1
            self._latency_sum += sum(latencies)

    def rejected(self, reason: str, amount: int = 1) -> None:
        """Count rejected diffs (``reason``: one of :data:`REJECT_REASONS`)."""
        with self._lock:
            self._rejected[reason] += amount

    def add(self, name: str, amount: int = 1) -> None:
        """Add to ``kept`` (diffs a worker kept in the database) or ``write_retries``."""
        with self._lock:
            self._counts[name] += amount

    def pruned(self, members: int, seconds: float) -> None:
        """Count one prune run that removed ``members`` in ``seconds``."""
        with self._lock:
            self._counts["prune_runs"] += 1
            self._counts["prune_members_removed"] += members
            self._prune_seconds += seconds

    def snapshot(self) -> Snapshot:
        """Return the counts now."""
        with self._lock:
            return Snapshot(
                stored=dict(self._stored),
                rejected={reason: self._rejected[reason] for reason in REJECT_REASONS},
                kept=self._counts["kept"],
                write_retries=self._counts["write_retries"],
                prune_runs=self._counts["prune_runs"],
                prune_members_removed=self._counts["prune_members_removed"],
                prune_seconds=self._prune_seconds,
                latency_buckets=list(self._buckets),
                latency_count=sum(self._buckets),
                latency_sum=self._latency_sum,
            )


#: The worker-side counts of this process.
worker = Tally()
