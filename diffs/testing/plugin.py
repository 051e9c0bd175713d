"""The pytest plugin of django-diffs; pytest loads it by itself (the ``pytest11`` entry point
``diffs``; ``-p no:diffs`` leaves it out).

* A test session that runs Django with ``diffs`` installed (pytest-django) is a test run of its
  own (:mod:`diffs.testing.run`): a key prefix and a Celery queue of the run's, deleted at its
  end, so no test stores beside development data or reads it. ``diffs_configured_storage =
  true`` in the ini file opts a project out; ``@pytest.mark.diffs_configured_storage`` one test.
  Each xdist worker is a run of its own.
* The ``diffs_isolated`` fixture: the test runs inside :func:`diffs.testing.isolated`.

pytest loads this module before pytest-django sets Django up: nothing here reads a setting or
the app registry until a test session starts.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.apps import apps
from django.conf import settings

from .isolation import Isolation, isolated
from .run import TestRun, configured_storage

MARKER = "diffs_configured_storage"
_RUN = pytest.StashKey["TestRun | None"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(MARKER, type="bool", default=False,
                  help="django-diffs: run the tests on the key prefix and Celery queue "
                       "DIFFS_SETTINGS names, not on a test run's own")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{MARKER}: run the test on the key prefix and Celery queue DIFFS_SETTINGS "
        "names (development data), not on the test run's own")


@pytest.fixture(scope="session", autouse=True)
def _diffs_test_run(request: pytest.FixtureRequest) -> Iterator[TestRun | None]:
    """Give the session a key prefix and a queue of its own (unless the project opted out)."""
    if request.config.getini(MARKER) or not _django_with_diffs():
        yield None
        return
    with TestRun() as run:
        request.config.stash[_RUN] = run
        try:
            yield run
        finally:
            request.config.stash[_RUN] = None


@pytest.fixture(autouse=True)
def _diffs_configured_storage(request: pytest.FixtureRequest,
                              _diffs_test_run: TestRun | None) -> Iterator[None]:
    """Run a test marked ``diffs_configured_storage`` on the configured names."""
    if _diffs_test_run is None or request.node.get_closest_marker(MARKER) is None:
        yield
        return
    with configured_storage():
        yield


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: Any) -> None:
    """Send what the test committed before its fixtures (its database among them) go."""
    run = item.config.stash.get(_RUN, None)
    if run is not None:
        run.flush()


@pytest.fixture
def diffs_isolated(db: None) -> Iterator[Isolation]:
    """Run the test inside :func:`diffs.testing.isolated` (with database access, as ``db``).

    Each diff is readable right after the save that made it; a rolled-back block leaves none.
    """
    with isolated() as block:
        yield block


def _django_with_diffs() -> bool:
    return bool(settings.configured and apps.ready and apps.is_installed("diffs"))
