"""``DiffsTestRunner``: Django's test runner, with a key prefix and a Celery queue of the run's
own (:mod:`diffs.testing.run`). Set ``TEST_RUNNER = "diffs.testing.DiffsTestRunner"``.

Django has no signal for "a test run starts", and detecting it (a database whose name starts
with ``test_``, say) would be a guess; a runner is the public hook Django offers for it. With
``--parallel``, forked workers inherit the run's names; workers started afresh (the ``spawn``
and ``forkserver`` start methods) take them through the parallel suite's ``process_setup``.
"""

from __future__ import annotations

from typing import Any

from django.test.runner import DiscoverRunner, ParallelTestSuite

from . import run
from .run import TestRun


def join_run(*run_names: str) -> None:
    """In a worker Django's parallel runner started afresh: take the parent's run names."""
    TestRun().start(joined=(run_names[0], run_names[1], run_names[2], run_names[3]))


class DiffsParallelTestSuite(ParallelTestSuite):
    """Django's parallel suite, whose workers started afresh join the parent's test run."""

    process_setup = join_run

    def initialize_suite(self) -> None:
        super().initialize_suite()
        current = run.current()
        if current is not None:
            self.process_setup_args = current.names()


class DiffsTestRunner(DiscoverRunner):
    """Runs the tests under a :class:`~diffs.testing.run.TestRun`: its own prefix and queue,
    deleted at the end. A runner of your own can subclass this one."""

    parallel_test_suite = DiffsParallelTestSuite
    diffs_run: TestRun

    def setup_test_environment(self, **kwargs: Any) -> None:
        super().setup_test_environment(**kwargs)
        self.diffs_run = TestRun()
        self.diffs_run.start()

    def teardown_databases(self, old_config: Any, **kwargs: Any) -> None:
        self.diffs_run.flush()  # while the test databases exist: a refused batch is kept there
        super().teardown_databases(old_config, **kwargs)

    def teardown_test_environment(self, **kwargs: Any) -> None:
        try:
            self.diffs_run.finish()
        finally:
            super().teardown_test_environment(**kwargs)
