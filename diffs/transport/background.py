"""The background publisher: a commit hands its diffs to a thread of this process and returns.

In ``on_commit`` mode every commit waits for one broker round trip and becomes one task
message, so a worker stores the diffs of one save per task. Here the first publish of a
runtime (:mod:`diffs.transport.runtime`, one per process) starts one daemon thread, fed through
a bounded queue (``publish_queue_size`` diffs). The thread sends one task message per flush,
carrying the diffs of many transactions in the order they committed: when
``publish_batch_size`` diffs wait, when ``publish_interval`` seconds passed since the oldest
arrived, or when someone calls ``diffs.flush()``.

Nothing is dropped:

* A commit that finds the queue full publishes its own diffs synchronously (backpressure,
  counted), as does a commit in a process where no thread can run (uWSGI without
  ``--enable-threads``: logged once, and system check ``diffs.W004``).
* The thread delivers through the synchronous path (:class:`diffs.transport.publish.Sender`),
  given as ``deliver``: a message the broker refuses is spooled, or leaves its outbox rows for
  resend, exactly as a commit would have. A batch names rows of one database only, so outbox
  rows of several databases go in messages of their own. The database connections the thread
  opens (spooling does) are closed after each message.

Process life (the runtime's hooks call :meth:`Publisher.flush` and :meth:`Publisher.close`):
before a fork the parent flushes, within ``publish_timeout``; the child starts with no runtime,
and its first publish makes a new queue, thread and producer (threads do not survive a fork;
gunicorn ``--preload``, Celery prefork and multiprocessing fork). At exit (``atexit``; a
SIGTERM that the server turns into ``sys.exit``, as gunicorn's sync workers do) the queue is
flushed within ``publish_timeout``; what still waits then is handed to ``keep``: spooled, or
its outbox rows made due at once. A SIGKILL loses what the queue held in ``spool`` mode; in
``outbox`` mode the rows are in the database already.
"""

from __future__ import annotations

import importlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, NamedTuple

from django.db import connections

from .. import wire
from ..conf import diffs_settings
from ..wire import DiffPayload, PendingRef
from .counters import Counters

logger = logging.getLogger("diffs")

#: ``deliver(app, queue, diffs, outbox)``: send one message, or keep the diffs; never raises.
Deliver = Callable[[Any, str, list[DiffPayload], "PendingRef | None"], None]
#: ``keep(diffs, outbox, reason)``: keep diffs that were not sent, in the database.
Keep = Callable[[list[DiffPayload], "PendingRef | None", Exception], None]


class NotSentInTime(Exception):
    """The process exited before the background publisher could send these diffs."""


class Item(NamedTuple):
    """The diffs of one committed transaction, waiting in the queue."""

    seq: int
    diffs: list[DiffPayload]
    outbox: PendingRef | None
    app: Any
    queue: str
    at: float


class Publisher:
    """The queue and the thread of one runtime; the thread starts at the first submit."""

    def __init__(self, deliver: Deliver, keep: Keep, counters: Counters) -> None:
        self._deliver = deliver
        self._keep = keep
        self._counters = counters
        self._cond = threading.Condition(threading.Lock())
        self._items: deque[Item] = deque()
        self._waiting = 0  # diffs in the queue
        self._submitted = 0  # seq of the last item queued
        self._done = 0  # every item up to this seq was delivered (or kept)
        self._flush_upto = 0  # items up to this seq go now, whatever the interval says
        self._closed = False
        self._thread: threading.Thread | None = None
        self.high_water = 0

    def submit(self, diffs: list[DiffPayload], outbox: PendingRef | None, app: Any,
               queue: str) -> bool:
        """Queue the diffs of a commit; return False when the caller must publish them."""
        size, batch_size = diffs_settings.publish_queue_size, diffs_settings.publish_batch_size
        with self._cond:
            if self._closed:
                return False
            if self._waiting + len(diffs) > size:
                self._counters.add("backpressure_publishes")
                return False
            if self._thread is None and not self._start():
                return False
            self._submitted += 1
            self._items.append(Item(self._submitted, diffs, outbox, app, queue, time.monotonic()))
            self._waiting += len(diffs)
            self.high_water = max(self.high_water, self._waiting)
            if len(self._items) == 1 or self._waiting >= batch_size:
                self._cond.notify()  # the thread sleeps until an item comes, or the batch is full
        return True

    def queue_length(self) -> int:
        """Return how many diffs wait in the queue."""
        return self._waiting

    def flush(self, timeout: float | None) -> bool:
        """Wait until everything queued so far was delivered; False if ``timeout`` ran out."""
        if threading.current_thread() is self._thread:
            return False  # the thread cannot wait for itself
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            target = self._submitted
            self._flush_upto = max(self._flush_upto, target)
            self._cond.notify_all()
            while self._done < target:
                if self._thread is None or not self._thread.is_alive():
                    return False
                left = 0.1 if deadline is None else min(deadline - time.monotonic(), 0.1)
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def close(self, timeout: float) -> None:
        """Flush within ``timeout``, then keep what is still waiting; take no more diffs."""
        self.flush(timeout)
        with self._cond:
            self._closed = True
            left = list(self._items)
            self._items.clear()
            self._waiting = 0
            self._cond.notify_all()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            # A message on its way is sent, or kept by deliver, before the rest is kept: the
            # database gets them in commit order, and not from two connections at once.
            thread.join(timeout)
        for item in left:
            self._keep(item.diffs, item.outbox, NotSentInTime(
                f"the process exited before its diffs were sent (publish_timeout {timeout}s)"
            ))

    def _start(self) -> bool:
        blocked = thread_blocker()
        if blocked is None:
            thread = threading.Thread(target=self._run, name="diffs-publisher", daemon=True)
            try:
                thread.start()
            except RuntimeError as exc:  # at interpreter shutdown, or out of threads
                blocked = f"a thread cannot start here ({exc})"
            else:
                self._thread = thread
                return True
        self._closed = True
        logger.warning("diffs: %s; diffs are published synchronously at each commit "
                       "(publish 'on_commit') in this process (logged once)", blocked)
        return False

    def _run(self) -> None:
        while True:
            taken = self._next()
            if taken is None:
                return
            try:
                self._send(taken)
            except Exception:  # deliver keeps what it cannot send; this is a bug's last net
                logger.exception("diffs: the background publisher failed on %d diff(s): %s",
                                 sum(len(item.diffs) for item in taken),
                                 ",".join(str(wire.diff_id(d)) for i in taken for d in i.diffs))
            finally:
                with self._cond:
                    self._done = taken[-1].seq
                    self._cond.notify_all()
                connections.close_all()  # this thread's own: spooling may have opened one

    def _next(self) -> list[Item] | None:
        """Wait until a message is due; return its items (None: closed and empty)."""
        with self._cond:
            while True:
                if self._items:
                    wait = self._due_in()
                    if wait <= 0:
                        return self._take()
                elif self._closed:
                    return None
                else:
                    wait = None
                self._cond.wait(wait)

    def _due_in(self) -> float:
        first = self._items[0]
        if (self._closed or first.seq <= self._flush_upto
                or self._waiting >= diffs_settings.publish_batch_size):
            return 0.0
        return first.at + diffs_settings.publish_interval - time.monotonic()

    def _take(self) -> list[Item]:
        """Take whole transactions, oldest first, until a batch is full."""
        batch_size = diffs_settings.publish_batch_size
        taken: list[Item] = []
        count = 0
        while self._items and (not taken or count + len(self._items[0].diffs) <= batch_size):
            item = self._items.popleft()
            taken.append(item)
            count += len(item.diffs)
        self._waiting -= count
        return taken

    def _send(self, taken: list[Item]) -> None:
        """Deliver ``taken`` as one message per app, queue and outbox database (usually one)."""
        messages: dict[tuple[int, str, str | None], tuple[Item, list[DiffPayload],
                                                          list[PendingRef]]] = {}
        for item in taken:
            key = (id(item.app), item.queue, wire.pending_database(item.outbox))
            found = messages.get(key)
            if found is None:
                found = messages[key] = (item, [], [])
            found[1].extend(item.diffs)
            if item.outbox is not None:
                found[2].append(item.outbox)
        for first, diffs, refs in messages.values():
            self._deliver(first.app, first.queue, diffs, wire.merge_pending(refs))


def thread_blocker() -> str | None:
    """Return why no background thread can run in this process, or None when one can.

    uWSGI runs no Python threads but its own unless started with ``--enable-threads`` (or
    ``--threads``): a thread started there never runs. ``uwsgi`` is importable only inside it.
    """
    try:
        uwsgi = importlib.import_module("uwsgi")
    except ImportError:
        return None
    options = getattr(uwsgi, "opt", {}) or {}
    if _uwsgi_true(options.get("enable-threads")) or _uwsgi_count(options.get("threads")) > 0:
        return None
    return "uWSGI runs without --enable-threads, so no background publisher can run"


def _uwsgi_true(value: Any) -> bool:
    if isinstance(value, bytes):
        value = value.decode(errors="replace")
    if isinstance(value, str):
        return value.strip().lower() in ("", "1", "true", "yes", "on")  # "" : a bare flag
    return bool(value)


def _uwsgi_count(value: Any) -> int:
    if isinstance(value, bytes):
        value = value.decode(errors="replace")
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0
