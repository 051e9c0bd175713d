"""A test run's own key prefix and Celery queue, as Django makes a test database of its own.

A test that does not use :func:`~diffs.testing.isolated` still records: a ``TransactionTestCase``
commits, Celery's eager mode runs the write task in the test, a development worker may be
running. Without names of its own, the run's diffs would be stored beside the development data,
and a test would read development diffs. A :class:`TestRun` (started by the pytest plugin and by
:class:`~diffs.testing.DiffsTestRunner`):

* merges ``key_prefix`` ``<key_prefix>-testrun-<random>`` and ``queue``
  ``<queue>-testrun-<random>`` into ``DIFFS_SETTINGS`` for the whole run, so what the run
  records goes to a queue no development worker reads, and what it stores or reads is under a
  prefix of its own, in the same Redis and broker;
* refuses to publish a diff while ``DIFFS_SETTINGS`` names other ones (a test replaced it whole,
  dropping the run's names): ``ConfigurationError``, unless the test opted out with
  :func:`configured_storage`;
* at its end sends what the background publisher still holds, then deletes every key under its
  prefix and its queue (messages and all).
"""

from __future__ import annotations

import logging
from contextlib import ContextDecorator, ExitStack
from typing import Any

from celery import current_app

from ..conf import diffs_settings
from ..exceptions import ConfigurationError
from ..storage import store
from ..storage.connection import get_redis
from ..transport import producer, runtime, sink
from ..wire import DiffPayload, PendingRef
from . import names

logger = logging.getLogger("diffs")

_runs: list[TestRun] = []


class TestRun:
    """The names of one test run; :meth:`start` it before the tests, :meth:`finish` it after."""

    __test__ = False  # not a test class, whatever its name says to pytest

    def __init__(self) -> None:
        self.prefix = self.queue = ""
        self.configured_prefix = self.configured_queue = ""
        self.opted_out = 0  # configured_storage() blocks open now
        self.owner = True  # whether this process deletes the run's keys and queue at its end
        self._seams: ExitStack | None = None
        self._sent_before = 0

    def start(self, joined: tuple[str, str, str, str] | None = None) -> None:
        """Give the run its own key prefix and queue (merged into ``DIFFS_SETTINGS``).

        ``joined``: the :meth:`names` of a run another process started and will finish (a
        worker that Django's parallel runner spawned), whose names this process takes.
        """
        if joined is None:
            self.configured_prefix = diffs_settings.key_prefix
            self.configured_queue = diffs_settings.queue
            self.prefix = names.fresh(self.configured_prefix, "testrun")
            self.queue = names.fresh(self.configured_queue, "testrun")
        else:
            self.prefix, self.queue, self.configured_prefix, self.configured_queue = joined
            self.owner = False
        self._sent_before = runtime.stats()["messages_sent"]
        with ExitStack() as seams:
            seams.enter_context(names.merged(key_prefix=self.prefix, queue=self.queue))
            seams.enter_context(sink.replaced(self._publish))
            self._seams = seams.pop_all()
        _runs.append(self)

    def names(self) -> tuple[str, str, str, str]:
        """Return the run's prefix and queue, and the configured ones, for :meth:`start`."""
        return self.prefix, self.queue, self.configured_prefix, self.configured_queue

    def flush(self) -> None:
        """Hand the broker what this process's publisher holds, while the test databases exist
        (a diff the broker refuses is kept in them)."""
        runtime.flush(diffs_settings.publish_timeout)

    def finish(self) -> None:
        """Delete the run's keys and queue, and give ``DIFFS_SETTINGS`` back its names."""
        try:
            self.flush()
            if self.owner:
                self._delete_keys()
                self._delete_queue()
        finally:
            if self in _runs:
                _runs.remove(self)
            if self._seams is not None:
                self._seams.close()
                self._seams = None

    def _publish(self, diffs: list[DiffPayload], outbox: PendingRef | None) -> None:
        """The run's sink: publish as usual, but only under the run's names."""
        prefix, queue = diffs_settings.key_prefix, diffs_settings.queue
        if not self.opted_out and (prefix, queue) != (self.prefix, self.queue):
            raise ConfigurationError(
                f"this test run stores under the key prefix {self.prefix!r} and publishes to "
                f"the queue {self.queue!r}, but DIFFS_SETTINGS names {prefix!r} and {queue!r} "
                "now (replaced whole by the test?): merge changes into it "
                "({**settings.DIFFS_SETTINGS, ...}), or opt the test out with "
                "@pytest.mark.diffs_configured_storage / diffs.testing.configured_storage()"
            )
        runtime.current().publish(diffs, outbox)

    def _delete_keys(self) -> None:
        try:
            store.delete_prefix(get_redis(), self.prefix)
        except Exception as exc:
            logger.warning("diffs: could not delete the keys of the test run under %r: %s",
                           self.prefix, exc)

    def _delete_queue(self) -> None:
        try:
            producer.delete_queue(current_app._get_current_object(), self.queue,
                                  diffs_settings.publish_timeout)
        except Exception as exc:
            # No broker answers: usual in a project whose tests run Celery eagerly.
            sent = runtime.stats()["messages_sent"] > self._sent_before
            logger.log(logging.WARNING if sent else logging.DEBUG,
                       "diffs: could not delete the test run's queue %r: %s", self.queue, exc)

    def __enter__(self) -> TestRun:
        self.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.finish()


def current() -> TestRun | None:
    """Return the test run under way in this process, if any."""
    return _runs[-1] if _runs else None


class ConfiguredStorage(ContextDecorator):
    """The state of one :func:`configured_storage` block."""

    def __init__(self) -> None:
        self._run: TestRun | None = None
        self._settings: ExitStack | None = None

    def __enter__(self) -> ConfiguredStorage:
        self._run = current()
        if self._run is not None:
            self._settings = ExitStack()
            self._settings.enter_context(names.merged(key_prefix=self._run.configured_prefix,
                                                      queue=self._run.configured_queue))
            self._run.opted_out += 1
        return self

    def __exit__(self, *exc_info: Any) -> None:
        if self._run is not None and self._settings is not None:
            self._run.opted_out -= 1
            self._settings.close()
        self._run = self._settings = None

    def _recreate_cm(self) -> ConfiguredStorage:
        # As a decorator, each call of the decorated function is a block of its own.
        return ConfiguredStorage()


def configured_storage() -> ConfiguredStorage:
    """Return a block (context manager or decorator) that, inside a test run, uses the key
    prefix and queue ``DIFFS_SETTINGS`` names; outside a run it changes nothing.

    That is where development data lives: for a test that means to reach it.
    """
    return ConfiguredStorage()
