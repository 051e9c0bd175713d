"""The pytest plugin of the testing kit: add ``pytest_plugins = ["diffs.testing.plugin"]`` to
your top ``conftest.py`` and request the ``diffs_isolated`` fixture."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .isolation import Isolation, isolated


@pytest.fixture
def diffs_isolated(db: None) -> Iterator[Isolation]:
    """Run the test inside :func:`diffs.testing.isolated` (with database access, as ``db``).

    A test marked ``django_db(transaction=True)`` keeps its real commits; the others run in
    pytest-django's rolled-back transaction, whose commits the block plays.
    """
    with isolated() as block:
        yield block
