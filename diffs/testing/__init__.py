"""A testing kit for projects that use django-diffs.

* :func:`isolated` (or a :class:`DiffsTestMixin` test, or the ``diffs_isolated`` pytest fixture
  of :mod:`diffs.testing.plugin`): diffs readable right after a save, written in this process
  through the worker's own checks under a key prefix of the block's own, deleted when it ends.
* A test run of its own (:mod:`diffs.testing.run`): under pytest (the plugin loads itself) and
  under ``TEST_RUNNER = "diffs.testing.DiffsTestRunner"``, the run stores under a key prefix and
  publishes to a Celery queue of its own, deleted at its end; :func:`configured_storage` opts a
  test out.
* Where a real worker writes the diffs (a script, a test with a worker): :func:`wait_for`
  waits for them.
"""

from __future__ import annotations

from .cases import DiffsTestMixin, assert_diff_recorded, recorded
from .isolation import Isolation, isolated
from .run import TestRun, configured_storage
from .runner import DiffsTestRunner
from .waiting import wait_for

__all__ = [
    "DiffsTestMixin",
    "DiffsTestRunner",
    "Isolation",
    "TestRun",
    "assert_diff_recorded",
    "configured_storage",
    "isolated",
    "recorded",
    "wait_for",
]
