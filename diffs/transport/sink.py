"""The sink: what the recording side hands the diffs of each committed transaction to.

By default that is this process's runtime (:meth:`diffs.transport.runtime.Runtime.publish`: a
Celery task message, now or from the background publisher). The testing kit and the benchmarks
swap it for a block with :func:`replaced`, a public context manager: nothing reassigns a
module's attributes. The sink is the process's, like a Django setting: one thread replaces it
at a time (tests, benchmarks).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from ..wire import DiffPayload, PendingRef
from . import runtime

#: ``sink(diffs, outbox)``: takes the diffs of one committed transaction, in the order they
#: were made, and the reference to their outbox rows (None: no rows); never raises on an
#: outage (it keeps what it cannot send).
Sink = Callable[[list[DiffPayload], "PendingRef | None"], None]

_replacements: list[Sink] = []


def deliver(diffs: list[DiffPayload], outbox: PendingRef | None = None) -> None:
    """Hand the diffs of a committed transaction to the current sink."""
    if _replacements:
        _replacements[-1](diffs, outbox)
    else:
        runtime.current().publish(diffs, outbox)


@contextmanager
def replaced(sink: Sink) -> Iterator[Sink]:
    """Make ``sink`` take every committed transaction's diffs inside the block (blocks nest)."""
    _replacements.append(sink)
    try:
        yield sink
    finally:
        _replacements.remove(sink)
