"""What this process's publishing did since it started (or forked): ``diffs.stats()`` reads it.

Both publish modes count here, so the numbers mean the same whichever mode runs. Increments come
from the committing threads and the publisher thread at once, hence the lock (``+=`` on a
``Counter`` is a read and a write, and two threads can interleave between them).
"""

from __future__ import annotations

import os
import threading
from collections import Counter

#: The counters ``diffs.stats()`` reports, each 0 until something happens.
NAMES = (
    "diffs_published",  # diffs handed to the broker (or run by the eager write task)
    "messages_sent",  # task messages carrying them
    "backpressure_publishes",  # commits that found the queue full and published themselves
    "diffs_spooled",  # diffs that could not be sent and were kept in the database
)

_counts: Counter[str] = Counter()
_lock = threading.Lock()


def add(name: str, amount: int = 1) -> None:
    """Add ``amount`` to the counter ``name``."""
    with _lock:
        _counts[name] += amount


def snapshot() -> dict[str, int]:
    """Return every counter of :data:`NAMES`."""
    with _lock:
        return {name: _counts[name] for name in NAMES}


def reset() -> None:
    """Set every counter back to 0 (a forked child starts its own count)."""
    global _lock
    _lock = threading.Lock()  # the parent may have held it while forking
    _counts.clear()


os.register_at_fork(after_in_child=reset)
