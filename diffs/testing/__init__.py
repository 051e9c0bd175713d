"""A testing kit for projects that use django-diffs: diffs readable right after a save.

A ``django.test.TestCase`` never commits, so nothing is sent, and ``obj.diffs`` would read
whatever an earlier run left in the development Redis under the same pk. Inside
:func:`isolated` (or a :class:`DiffsTestMixin` test, or the ``diffs_isolated`` pytest fixture of
:mod:`diffs.testing.plugin`) the test's commits are played as they would happen, the diffs are
written in this process through the worker's own checks, and every key lives under a prefix of
the block's own that is deleted when it ends.

Outside those blocks, where a real worker writes the diffs, :func:`wait_for` waits for them.
"""

from __future__ import annotations

from .cases import DiffsTestMixin, assert_diff_recorded, recorded
from .isolation import Isolation, isolated
from .waiting import wait_for

__all__ = ["DiffsTestMixin", "Isolation", "assert_diff_recorded", "isolated", "recorded",
           "wait_for"]
