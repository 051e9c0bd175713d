"""What one runtime's publishing did since it was made: ``diffs.stats()`` reads it.

Both publish modes count here, so the numbers mean the same whichever mode runs. Increments come
from the committing threads and the publisher thread at once, hence the lock (``+=`` on a
``Counter`` is a read and a write, and two threads can interleave between them).
"""

from __future__ import annotations

import threading
from collections import Counter

#: The counters ``diffs.stats()`` reports, each 0 until something happens.
NAMES = (
    "diffs_recorded",  # diffs of committed transactions handed to publishing
    "diffs_published",  # diffs handed to the broker (or run by the eager write task)
    "messages_sent",  # task messages carrying them
    "backpressure_publishes",  # commits that found the queue full and published themselves
    "diffs_spooled",  # diffs that could not be sent and were kept in the database
    "diffs_resent",  # kept diffs sent again (by a web process after an outage, or diffs.resend)
)


class Counters:
    """The publishing counters of one runtime (a forked child makes its own runtime)."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def add(self, name: str, amount: int = 1) -> None:
        """Add ``amount`` to the counter ``name``."""
        with self._lock:
            self._counts[name] += amount

    def snapshot(self) -> dict[str, int]:
        """Return every counter of :data:`NAMES`."""
        with self._lock:
            return {name: self._counts[name] for name in NAMES}
