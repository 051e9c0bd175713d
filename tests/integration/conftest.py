"""The integration tier: Django, both databases and the session's real Redis; no worker, no broker.

A test that records asks for :func:`delivery`: each committed transaction's diffs are then
delivered in this process, at the commit, through the worker's own code. The batch is encoded
to the JSON text a task message carries, validated and stored by
:func:`diffs.storage.writer.write_batch`, and its pending rows confirmed by
:func:`diffs.transport.pending.confirm_batch`, as the write task does. Nothing waits or polls:
once a transaction has committed, its diffs are readable, so :func:`stored` reads them at once.
The way there through a broker and a real worker is the e2e tier's.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import pytest

from diffs import wire
from diffs.storage import writer
from diffs.transport import pending, sink
from diffs.wire import DiffPayload, PendingRef


class InProcessWorker:
    """A sink that stores each committed transaction's diffs now, as a worker would."""

    def __init__(self) -> None:
        #: The diffs of each delivered transaction, in commit order.
        self.batches: list[list[DiffPayload]] = []
        #: How many diffs each delivered transaction had (the same list, kept in step).
        self.sizes: list[int] = []

    def __call__(self, diffs: list[DiffPayload], outbox: PendingRef | None = None) -> None:
        self.batches.append(diffs)
        self.sizes.append(len(diffs))
        envelope = wire.batch(diffs, outbox)
        result = writer.write_batch(wire.dumps(envelope))
        pending.confirm_batch(envelope, result.stored_ids)


@pytest.fixture
def delivery(storage: Any) -> Iterator[InProcessWorker]:
    """Deliver every committed transaction's diffs in this process into an emptied storage."""
    worker = InProcessWorker()
    with sink.replaced(worker):
        yield worker


def stored(diff_set: Iterable[Any], count: int) -> list[Any]:
    """Return the diffs of ``diff_set``, oldest first, failing unless there are ``count``."""
    found = list(diff_set)
    assert len(found) == count, found
    return found
