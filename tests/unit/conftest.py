"""The unit tier: pure logic, in milliseconds. No database, no Redis, no broker, no process.

Django's settings and app registry are loaded (the models' metadata is pure), but a test here
that opens a socket, to Redis or anything else, fails with a clear error, and so does one that
asks for the database (pytest-django refuses a query of a test without the ``django_db`` mark;
the mark itself is refused here). Such a test belongs in ``tests/integration``.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest


class ServiceUsed(AssertionError):
    """A unit test tried to reach a service."""


def _refuse(sock: socket.socket, address: Any, *args: Any) -> None:
    raise ServiceUsed(
        f"a unit test tried to connect to {address!r}: unit tests reach no service (Redis, "
        "broker, database, server); move the test to tests/integration"
    )


@pytest.fixture(autouse=True)
def services(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Allow no service: no socket connects (Redis, a broker, PostgreSQL) and no database."""
    if request.node.get_closest_marker("django_db"):
        pytest.fail("a unit test may not use the database (django_db): move it to "
                    "tests/integration", pytrace=False)
    monkeypatch.setattr(socket.socket, "connect", _refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", _refuse)
    yield
