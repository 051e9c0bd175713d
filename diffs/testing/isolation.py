"""``isolated()``: a block whose diffs are written at once, in process, under a key prefix of
its own that is deleted when the block ends.

Inside the block:

* each diff is written the moment it is recorded (:func:`diffs.recording.buffer.diverted`), by
  this process, through the worker's own checks (:mod:`diffs.testing.delivery`): readable right
  after the ``save()``, ``delete()`` or ``add()`` that made it, also inside ``atomic()`` and in
  a ``TestCase`` whose transaction never commits. No commit needs to be seen: when the
  transaction or savepoint of a diff rolls back, Django drops its ``on_commit`` callback, the
  buffer sees that (as it does outside tests) and the block removes the diff again;
* nothing is published: no broker, worker or background thread is involved. Diffs recorded
  before the block (``setUpTestData``) are not the block's; if their transaction commits inside
  it, they are written under the block's prefix too, not published;
* ``DIFFS_SETTINGS["key_prefix"]`` is ``<prefix>-test-<random>``: reads and writes see only the
  block's own keys, never development data under the normal prefix, and the block's keys are
  deleted (``SCAN`` of that prefix, ``UNLINK``) when it ends.

Blocks nest: an inner block joins the outer one (same prefix, same keys), so a test decorated
with ``isolated()`` may run inside a ``DiffsTestMixin`` test. One thread at a time: the block
swaps process-wide seams (the sink, the buffer's recipient), as ``override_settings`` does.
"""

from __future__ import annotations

from contextlib import ContextDecorator, ExitStack
from typing import Any

from ..checks import check_redis_reachable
from ..conf import diffs_settings
from ..exceptions import ConfigurationError
from ..recording import buffer
from ..storage import store
from ..storage.connection import get_redis
from ..transport import sink
from ..wire import DiffPayload, PendingRef
from . import names
from .delivery import Delivery

_active: list[Isolation] = []


class Isolation(ContextDecorator):
    """The state of one :func:`isolated` block; ``prefix`` is its key prefix while it runs."""

    def __init__(self) -> None:
        self.prefix = ""
        self.joined: Isolation | None = None
        self._delivery: Delivery | None = None
        self._seams: ExitStack | None = None
        self._errors: list[Exception] = []

    def __enter__(self) -> Isolation:
        if _active:  # nested: share the outer block's prefix and seams
            self.joined = _active[-1]
            self.prefix = self.joined.prefix
            _active.append(self)
            return self
        _require_storage()
        self.prefix = names.fresh(diffs_settings.key_prefix, "test")
        self._delivery = Delivery(self.prefix)
        with ExitStack() as seams:
            seams.enter_context(names.merged(key_prefix=self.prefix))
            seams.enter_context(sink.replaced(self._delivery))
            seams.enter_context(buffer.diverted(self))
            self._seams = seams.pop_all()
        _active.append(self)
        return self

    def __exit__(self, *exc_info: Any) -> None:
        _active.remove(self)
        if self.joined is not None:
            self.joined = None
            return
        delivery, seams, errors = self._delivery, self._seams, self._errors
        self._delivery = self._seams = None  # rollbacks after the block are not its own
        self._errors = []
        try:
            store.delete_prefix(get_redis(), self.prefix)
        finally:
            if seams is not None:
                seams.close()
        if errors and delivery is not None and exc_info[0] is None:
            raise errors[0]

    def recorded(self, diffs: list[DiffPayload], outbox: PendingRef | None) -> None:
        """Write a diff just recorded (the buffer hands it over inside the block)."""
        if self._delivery is not None:
            self._delivery(diffs, outbox)

    def rolled_back(self, diff: DiffPayload) -> None:
        """Remove a diff written earlier whose transaction rolled back.

        Called while Django drops the callback, where an error could only be printed: it is
        raised when the block ends instead.
        """
        if self._delivery is None:
            return  # the block is over, and its keys with it
        try:
            self._delivery.withdraw([diff])
        except Exception as exc:
            self._errors.append(exc)

    def _recreate_cm(self) -> Isolation:
        # As a decorator, each call of the decorated function is a block of its own.
        return Isolation()


def isolated() -> Isolation:
    """Return a block (context manager or decorator) whose diffs are readable at once.

    Raises :class:`~diffs.ConfigurationError`, naming ``DIFFS_SETTINGS['redis']``, when the
    storage Redis does not answer.
    """
    return Isolation()


def _require_storage() -> None:
    errors = check_redis_reachable()
    if errors:
        raise ConfigurationError(
            f"diffs.testing.isolated() writes to the storage Redis: {errors[0].msg} "
            f"{errors[0].hint}"
        )
