"""``isolated()``: a block whose diffs are written at once, in process, under a key prefix of
its own that is deleted when the block ends.

Inside the block:

* the commits of the test's code are played (:mod:`diffs.testing.commits`), so a diff is
  readable right after the ``save()``, ``delete()`` or ``add()`` that made it, also in a
  ``TestCase`` whose transaction never commits;
* each batch is written by this process (:mod:`diffs.testing.delivery`), never published: no
  broker, worker or background thread is involved;
* saves start new transaction buffers, so what was saved before the block (``setUpTestData``)
  is not sent with the block's diffs, and what is saved after it is not written by the block;
* ``DIFFS_SETTINGS["key_prefix"]`` is ``<prefix>-test-<random>``: reads and writes see only the
  block's own keys, never development data under the normal prefix, and the block's keys are
  deleted (``SCAN`` of that prefix, ``UNLINK``) when it ends.

Blocks nest: an inner block joins the outer one (same prefix, same keys), so a test decorated
with ``isolated()`` may run inside a ``DiffsTestMixin`` test. One thread at a time: the block
patches process-wide hooks, as ``override_settings`` does.
"""

from __future__ import annotations

import uuid
from contextlib import AbstractContextManager, ContextDecorator
from typing import Any

from django.db import connections
from django.test.utils import override_settings

from ..checks import check_redis_reachable
from ..conf import diffs_settings
from ..exceptions import ConfigurationError
from ..recording import buffer
from ..storage import store
from ..storage.connection import get_redis
from ..transport import sink
from .commits import CommitPlayer
from .delivery import Delivery

_active: list[Isolation] = []


class Isolation(ContextDecorator):
    """The state of one :func:`isolated` block; ``prefix`` is its key prefix while it runs."""

    def __init__(self) -> None:
        self.prefix = ""
        self.joined: Isolation | None = None
        self._settings: override_settings | None = None
        self._player: CommitPlayer | None = None
        self._sink: AbstractContextManager[Any] | None = None

    def __enter__(self) -> Isolation:
        if _active:  # nested: share the outer block's prefix and hooks
            self.joined = _active[-1]
            self.prefix = self.joined.prefix
            _active.append(self)
            return self
        _require_storage()
        self.prefix = f"{diffs_settings.key_prefix}-test-{uuid.uuid4().hex[:12]}"
        self._settings = override_settings(
            DIFFS_SETTINGS={**diffs_settings.raw, "key_prefix": self.prefix}
        )
        self._settings.enable()
        self._sink = sink.replaced(Delivery(self.prefix))
        self._sink.__enter__()
        _start_new_batches()
        self._player = CommitPlayer()
        self._player.start()
        _active.append(self)
        return self

    def __exit__(self, *exc_info: Any) -> None:
        _active.pop()
        if self.joined is not None:
            self.joined = None
            return
        try:
            if self._player is not None:
                self._player.stop()
        finally:
            if self._sink is not None:
                self._sink.__exit__(None, None, None)
            _start_new_batches()
            try:
                store.delete_prefix(get_redis(), self.prefix)
            finally:
                if self._settings is not None:
                    self._settings.disable()
                self._settings = self._player = self._sink = None

    def _recreate_cm(self) -> Isolation:
        # As a decorator, each call of the decorated function is a block of its own.
        return Isolation()


def isolated() -> Isolation:
    """Return a block (context manager or decorator) whose diffs are readable at once.

    Raises :class:`~diffs.ConfigurationError`, naming ``DIFFS_SETTINGS['redis']``, when the
    storage Redis does not answer.
    """
    return Isolation()


def _start_new_batches() -> None:
    # A transaction's buffer keeps the sender of its first diff: the diffs of a block, and
    # those after it, go into buffers of their own.
    for alias in connections:
        buffer.start_new_batch(alias)


def _require_storage() -> None:
    errors = check_redis_reachable()
    if errors:
        raise ConfigurationError(
            f"diffs.testing.isolated() writes to the storage Redis: {errors[0].msg} "
            f"{errors[0].hint}"
        )
