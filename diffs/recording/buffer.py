"""The per-transaction buffer: diffs wait here until their transaction commits.

Each recorded save registers one ``transaction.on_commit`` callback, a :class:`Pending`. That
lets Django itself decide what survives: when a savepoint or the transaction rolls back,
Django drops exactly the callbacks registered inside it. The buffer only keeps weak references
to its callbacks, so a dropped one is gone at once (CPython frees it when Django rebuilds its
list) and, as it goes, restores the dirty-field state its save had moved forward. The first
surviving callback to run after the commit hands the diffs of every callback still alive, in
the order they were made, to the sink (:mod:`diffs.transport.sink`) as one batch, the
repeated saves of an object of a squashed model made one diff (:func:`diffs.wire.squash`;
not in ``outbox`` durability, where each save's diff already has its row); the others find
nothing left to do.

In autocommit mode a save is its own transaction, and its diff goes to the sink at once.

The testing kit needs diffs sooner: inside :func:`diverted`, each diff goes to a
:class:`Recipient` the moment it is recorded, never to the sink, and the recipient hears of it
again only if its transaction or savepoint rolls back (the same dropped callback).
"""

from __future__ import annotations

import logging
import platform
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model

from .. import registry, wire
from ..conf import diffs_settings
from ..transport import pending, sink
from ..wire import DiffPayload, PendingRef
from . import tracking

logger = logging.getLogger("diffs")

#: Without reference counting a dropped callback lingers until a garbage collection, so it
#: cannot tell the buffer it was rolled back in time: there, each diff is sent on its own.
BATCHES_PER_TRANSACTION = platform.python_implementation() == "CPython"


class Recipient(Protocol):
    """Takes each diff the moment it is recorded, instead of the sink at its commit."""

    def recorded(self, diffs: list[DiffPayload], outbox: PendingRef | None) -> None:
        """Take a diff just recorded (its transaction may still roll back)."""

    def rolled_back(self, diff: DiffPayload) -> None:
        """Forget a diff taken earlier: its transaction or savepoint rolled back."""


_recipients: list[Recipient] = []


@contextmanager
def diverted(recipient: Recipient) -> Iterator[Recipient]:
    """Hand each diff recorded inside the block to ``recipient`` at once (blocks nest).

    A diff recorded in the block never reaches the sink, even if its transaction commits after
    the block; if that transaction rolls back, ``recipient.rolled_back`` is called, whenever
    that happens.
    """
    _recipients.append(recipient)
    try:
        yield recipient
    finally:
        _recipients.remove(recipient)


class Pending:
    """One recorded save waiting for its transaction: the ``on_commit`` callback."""

    __slots__ = ("__weakref__", "buffer", "diff", "done", "instance", "previous", "recipient",
                 "row")

    def __init__(
        self,
        buffer: TransactionBuffer,
        diff: DiffPayload,
        instance: Model,
        previous: dict[str, Any],
        row: int | None,
        recipient: Recipient | None,
    ) -> None:
        self.buffer = buffer
        self.diff = diff
        self.instance = weakref.ref(instance)
        self.previous = previous
        self.row = row
        self.recipient = recipient
        self.done = False

    def __call__(self) -> None:
        if not self.done:
            self.buffer.flush(self)

    def __del__(self) -> None:
        if not self.done:  # dropped by a rollback: the database never got this save
            self.buffer.live -= 1
            instance = self.instance()
            if instance is not None:
                tracking.remember(instance, self.previous)
            if self.recipient is not None:
                self.recipient.rolled_back(self.diff)


class TransactionBuffer:
    """The diffs of one database transaction on one connection."""

    def __init__(self, using: str) -> None:
        self.using = using
        self.entries: list[weakref.ref[Pending]] = []
        self.live = 0
        self.flushed = False

    def add(
        self, diff: DiffPayload, instance: Model, previous: dict[str, Any], row: int | None,
        recipient: Recipient | None,
    ) -> Pending:
        """Return a new callback for ``diff``, counted as alive until it runs or is dropped."""
        entry = Pending(self, diff, instance, previous, row, recipient)
        self.entries.append(weakref.ref(entry))
        self.live += 1
        return entry

    def flush(self, caller: Pending) -> None:
        """Send every surviving diff as one batch (or only the caller's without refcounting);
        a recipient took its diffs already."""
        if not BATCHES_PER_TRANSACTION:
            caller.done = True
            if caller.recipient is None:
                sink.deliver([caller.diff], _outbox(self.using, [(caller.row, caller.diff)]))
            return
        self.flushed = True
        batch = []
        for ref in self.entries:
            entry = ref()
            if entry is not None and not entry.done:
                entry.done = True
                if entry.recipient is None:
                    batch.append(entry)
        self.entries = []
        if len(batch) > 1 and registry.squashing() and all(e.row is None for e in batch):
            # Squashed only without outbox rows: each of those holds its own save's diff.
            squashed = wire.squash([entry.diff for entry in batch], registry.squashes)
            if squashed:
                sink.deliver(squashed, None)
        elif batch:
            diffs = [(entry.row, entry.diff) for entry in batch]
            sink.deliver([diff for _, diff in diffs], _outbox(self.using, diffs))


def _outbox(using: str, diffs: list[tuple[int | None, DiffPayload]]) -> PendingRef | None:
    """Return the reference to the outbox rows of ``(row, diff)`` pairs (None: no rows)."""
    return wire.pending_rows(
        using, ((row, wire.diff_id(diff)) for row, diff in diffs if row is not None)
    )


_buffers: weakref.WeakKeyDictionary[BaseDatabaseWrapper, TransactionBuffer] = (
    weakref.WeakKeyDictionary()
)
_warned_manual = False


def enqueue(
    using: str, diff: DiffPayload, instance: Model, previous: dict[str, Any]
) -> None:
    """Send ``diff`` once the transaction of connection ``using`` commits (now in autocommit).

    In ``outbox`` durability the diff is first written to the ``PendingDiff`` table in the
    same transaction as the change, so a crash after the commit cannot lose it.
    """
    row = pending.add_to_outbox(diff, using) if diffs_settings.durability == "outbox" else None
    outbox = None if row is None else _outbox(using, [(row, diff)])
    recipient = _recipients[-1] if _recipients else None
    connection = connections[using]
    if not connection.in_atomic_block:
        if not connection.get_autocommit():
            _warn_manual_transactions(using)
        if recipient is None:
            sink.deliver([diff], outbox)
        else:
            recipient.recorded([diff], outbox)
        return
    buffer = _buffers.get(connection)
    if buffer is None or buffer.flushed or buffer.live <= 0:
        buffer = _buffers[connection] = TransactionBuffer(using)
    connection.on_commit(buffer.add(diff, instance, previous, row, recipient), robust=True)
    if recipient is not None:
        recipient.recorded([diff], outbox)


def _warn_manual_transactions(using: str) -> None:
    global _warned_manual
    if not _warned_manual:
        _warned_manual = True
        logger.warning(
            "diffs: connection %r is in manual transaction mode (autocommit off, no atomic "
            "block); Django cannot tell when it commits, so diffs are sent at once.",
            using,
        )
