"""This process's publishing machinery as one object, made on first use: :class:`Runtime`.

A runtime holds the counters ``diffs.stats()`` reports, the pool of long-lived broker producers,
the synchronous sender (and the outage it may be in) and the background publisher (its queue,
and its thread once something was queued). Importing the package makes none of it and registers
nothing: the first publish of a process makes its runtime and, once per process, the hooks that
process life needs:

* before a fork, the parent flushes its queue within ``publish_timeout``; the child starts with
  no runtime (threads do not survive a fork, and the parent's broker connections are not the
  child's to use or close), and its first publish makes its own;
* at exit (``atexit``, and a ``multiprocessing`` child's finalizers, which run instead of
  ``atexit`` before its ``os._exit``) the queue is flushed within ``publish_timeout`` and what
  still waits is kept in the database;
* a change of any Django setting (``setting_changed``) closes the idle producers, so the next
  publish reads Celery's broker settings again.

Tests (and benchmarks) give a block a runtime of its own with :func:`replaced`: its own counters,
outage, queue and connections, closed when the block ends.
"""

from __future__ import annotations

import atexit
import multiprocessing.util
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from celery import current_app
from django.core.signals import setting_changed

from ..conf import diffs_settings
from ..wire import DiffPayload, PendingRef
from .background import Publisher
from .counters import NAMES, Counters
from .producer import ProducerPool
from .publish import Sender


class Runtime:
    """The counters, producers, sender and background publisher of one process (or block)."""

    def __init__(self) -> None:
        self.counters = Counters()
        self.producers = ProducerPool()
        self.sender = Sender(self.producers, self.counters)
        self.publisher = Publisher(self.sender.deliver, self.sender.keep, self.counters)

    def publish(self, diffs: list[DiffPayload], outbox: PendingRef | None = None) -> None:
        """Publish the diffs of a committed transaction as the ``publish`` setting says.

        ``background``: queued for the publisher thread, unless Celery runs tasks eagerly, the
        queue is full or no thread can run here; then (and in ``on_commit`` mode) sent now.
        """
        self.counters.add("diffs_recorded", len(diffs))
        app = current_app._get_current_object()
        if (
            diffs_settings.publish == "background"
            and not self.producers.always_eager(app)
            and self.publisher.submit(diffs, outbox, app, diffs_settings.queue)
        ):
            return
        self.sender.publish_now(diffs, outbox, app=app)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every diff queued so far was sent (or kept); False if ``timeout`` ran out."""
        return self.publisher.flush(timeout)

    def stats(self) -> dict[str, int]:
        """Return the counters, the queue's high-water mark and its length."""
        return {
            **self.counters.snapshot(),
            "queue_high_water": self.publisher.high_water,
            "queue_length": self.publisher.queue_length(),
        }

    def close(self, timeout: float) -> None:
        """Flush within ``timeout``, keep what still waits, close the idle producers."""
        self.publisher.close(timeout)
        self.producers.close_idle()


_current: Runtime | None = None
_replacements: list[Runtime] = []
_lock = threading.Lock()
#: The hooks below were registered in this process, or in the parent it was forked from (a
#: forked child inherits them with the rest of the interpreter's state).
_hooked = False
#: The process whose ``multiprocessing`` finalizer is registered: a multiprocessing child
#: clears the finalizers it inherits, and an inherited one never runs in another process.
_finalizer_pid = 0
#: Runtimes of the parent a forked child inherited: kept, never used, closed or collected.
_inherited: list[Runtime] = []


def current() -> Runtime:
    """Return the runtime publishing now: a block's (:func:`replaced`), else the process's,
    made on first use."""
    if _replacements:
        return _replacements[-1]
    return _current or _make()


def _make() -> Runtime:
    global _current
    with _lock:
        if _current is None:
            _register_hooks()
            _current = Runtime()
        return _current


def flush(timeout: float | None = None) -> bool:
    """Wait until every diff committed so far in this process was handed to the broker (or
    kept in the database); return False if ``timeout`` seconds passed first."""
    return all(runtime.flush(timeout) for runtime in _live())


def stats() -> dict[str, int]:
    """Return this process's publishing counters, queue high-water mark and queue length."""
    if _replacements or _current is not None:
        return current().stats()
    return dict.fromkeys((*NAMES, "queue_high_water", "queue_length"), 0)


@contextmanager
def replaced(runtime: Runtime | None = None) -> Iterator[Runtime]:
    """Publish through ``runtime`` (a new one by default) inside the block; close it at the end.

    Blocks nest. The runtime is closed as an exit would close it: flushed within
    ``publish_timeout``, what still waits kept in the database.
    """
    made = Runtime() if runtime is None else runtime
    with _lock:
        _register_hooks()
    _replacements.append(made)
    try:
        yield made
    finally:
        if made in _replacements:  # (a forked child let go of its parent's)
            _replacements.remove(made)
        made.close(diffs_settings.publish_timeout)


def _live() -> list[Runtime]:
    return [*([_current] if _current is not None else []), *_replacements]


def _register_hooks() -> None:
    """Register the process hooks once (the caller holds the lock)."""
    global _hooked, _finalizer_pid
    if not _hooked:
        _hooked = True
        os.register_at_fork(before=_flush_before_fork, after_in_child=_forget_in_child)
        atexit.register(_close_at_exit)
        setting_changed.connect(_settings_changed, dispatch_uid="diffs.runtime.settings_changed")
    if _finalizer_pid != os.getpid():
        _finalizer_pid = os.getpid()
        multiprocessing.util.Finalize(None, _close_at_exit, exitpriority=10)


def _flush_before_fork() -> None:
    for runtime in _live():
        runtime.flush(diffs_settings.publish_timeout)


def _forget_in_child() -> None:
    global _current, _lock
    # The parent's threads are not in the child, its sockets are the parent's, and the lock
    # may have been held at the fork; the parent sends what its queue held.
    _inherited.extend(_live())
    _current = None
    _replacements.clear()
    _lock = threading.Lock()


def _close_at_exit() -> None:
    for runtime in _live():
        runtime.close(diffs_settings.publish_timeout)


def _settings_changed(**kwargs: Any) -> None:
    for runtime in _live():
        runtime.producers.close_idle()
