"""A guard for tests: nothing connects to the default Redis location, port 6379 of this machine.

Another process's Redis may listen there (a developer's, the machine's). A test that fell back to
the default storage location would read or write its data; with the guard, the connection is
refused instead (an audit hook, PEP 578, sees every ``socket.connect``), so such a test fails
without touching anything. :func:`connections` also records the connections a block attempts, to
show that something fails before it connects at all.

The test session installs it (``tests/conftest.py``); a process a test starts gets it through
``tests/guard_site/sitecustomize.py`` on its ``PYTHONPATH`` (:data:`SITE`).
"""

from __future__ import annotations

import ipaddress
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

DEFAULT_PORT = 6379
#: The directory to put first on a child process's ``PYTHONPATH`` to guard it too.
SITE = Path(__file__).resolve().parent / "guard_site"

_allowed: set[int] = set()
_recorders: list[list[Any]] = []
_installed: list[bool] = []


def _loopback(host: Any) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if event != "socket.connect":
        return
    address = args[1]
    for recorder in _recorders:
        recorder.append(address)
    if (isinstance(address, tuple) and len(address) >= 2 and address[1] == DEFAULT_PORT
            and DEFAULT_PORT not in _allowed and _loopback(address[0])):
        raise ConnectionRefusedError(
            f"tests.connect_guard: a test connected to {address[0]}:{DEFAULT_PORT}, the default "
            "Redis location, which belongs to another process"
        )


def install(allowed_port: int | None = None) -> None:
    """Refuse connections to port 6379 of this machine from now on in this process (unless it
    is ``allowed_port``, the test session's own server)."""
    if allowed_port == DEFAULT_PORT:
        _allowed.add(DEFAULT_PORT)
    if not _installed:
        sys.addaudithook(_hook)  # audit hooks cannot be removed: installed once per process
        _installed.append(True)


@contextmanager
def connections() -> Iterator[list[Any]]:
    """Record the address of every connection attempted in the block (a list, filled in)."""
    install()
    attempts: list[Any] = []
    _recorders.append(attempts)
    try:
        yield attempts
    finally:
        _recorders.remove(attempts)
