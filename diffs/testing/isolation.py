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
from contextlib import ContextDecorator
from typing import Any

from django.db import connections
from django.test.utils import override_settings

from ..checks import check_redis_reachable
from ..conf import settings
from ..exceptions import ConfigurationError
from ..recording import buffer
from ..storage.connection import get_redis
from ..transport import publish
from .commits import CommitPlayer
from .delivery import Delivery

#: Keys unlinked per command when a block's keys are deleted.
UNLINK_BATCH = 500

_active: list[Isolation] = []


class Isolation(ContextDecorator):
    """The state of one :func:`isolated` block; ``prefix`` is its key prefix while it runs."""

    def __init__(self) -> None:
        self.prefix = ""
        self.joined: Isolation | None = None
        self._settings: override_settings | None = None
        self._player: CommitPlayer | None = None
        self._publish: Any = None

    def __enter__(self) -> Isolation:
        if _active:  # nested: share the outer block's prefix and hooks
            self.joined = _active[-1]
            self.prefix = self.joined.prefix
            _active.append(self)
            return self
        _require_storage()
        self.prefix = f"{settings.key_prefix}-test-{uuid.uuid4().hex[:12]}"
        self._settings = override_settings(
            DIFFS_SETTINGS={**settings.raw, "key_prefix": self.prefix}
        )
        self._settings.enable()
        self._publish, publish.publish = publish.publish, Delivery(self.prefix)  # type: ignore[assignment]
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
            publish.publish = self._publish
            _start_new_batches()
            try:
                delete_keys(self.prefix)
            finally:
                if self._settings is not None:
                    self._settings.disable()
                self._settings = self._player = self._publish = None

    def _recreate_cm(self) -> Isolation:
        # As a decorator, each call of the decorated function is a block of its own.
        return Isolation()


def isolated() -> Isolation:
    """Return a block (context manager or decorator) whose diffs are readable at once.

    Raises :class:`~diffs.ConfigurationError`, naming ``DIFFS_SETTINGS['redis']``, when the
    storage Redis does not answer.
    """
    return Isolation()


def delete_keys(prefix: str) -> int:
    """Delete every key under ``prefix`` (``<prefix>:*`` only); return how many went."""
    client = get_redis()
    deleted, keys = 0, []
    for key in client.scan_iter(match=f"{prefix}:*", count=UNLINK_BATCH):
        keys.append(key)
        if len(keys) == UNLINK_BATCH:
            deleted += client.unlink(*keys)
            keys = []
    if keys:
        deleted += client.unlink(*keys)
    return deleted


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
