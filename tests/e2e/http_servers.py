"""The feed's real HTTP servers for e2e tests: runserver (WSGI) and uvicorn (ASGI).

Each runs in a process of its own against the session's Redis, with
``tests.server_settings`` (a feed open to every request, no database of its own).
"""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import wait_until

ROOT = Path(__file__).resolve().parents[2]
SERVERS = {
    "runserver": ["-m", "django", "runserver", "--noreload", "--skip-checks"],
    "uvicorn": ["-m", "uvicorn", "tests.asgi:application", "--log-level", "warning", "--port"],
}


def free_port() -> int:
    """Return a TCP port nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(
    url: str, headers: dict[str, str] | None = None, timeout: float = 30
) -> tuple[int, dict, bytes]:
    """Return the status, headers and body of a GET (an error status too)."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def answers(url: str) -> bool:
    """Return whether something answers HTTP at ``url`` (any status)."""
    try:
        get(url, timeout=2)
    except OSError:
        return False
    return True


@contextmanager
def event_stream(url: str, last_event_id: str | None = None) -> Iterator[Iterator[bytes]]:
    """Open an event stream; yield its chunks as they come (each read bounded: 30 s)."""
    headers = {"Accept": "text/event-stream"}
    if last_event_id is not None:
        headers["Last-Event-ID"] = last_event_id
    response: http.client.HTTPResponse = urllib.request.urlopen(
        urllib.request.Request(url, headers=headers), timeout=30)
    try:
        assert response.headers["Content-Type"].startswith("text/event-stream")
        yield iter(lambda: response.read1(65536), b"")
    finally:
        response.close()


@contextmanager
def running(name: str, redis_server: dict[str, Any], **env: str) -> Iterator[str]:
    """Run the server ``name`` (a key of SERVERS); yield its feed's base URL, stop it after."""
    port = free_port()
    args = [*SERVERS[name], str(port)] if name == "uvicorn" else [
        *SERVERS[name], f"127.0.0.1:{port}"]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.server_settings",
           "DIFFS_TEST_REDIS_URL": redis_server["storage_url"], "PYTHONPATH": str(ROOT), **env}
    process = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}/diffs"
    try:
        wait_until(lambda: process.poll() is not None or answers(f"{base}/x.y/1/"), timeout=30)
        if process.poll() is not None:
            pytest.fail(f"{name} exited: {process.stderr.read().decode()[-2000:]}")
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(params=sorted(SERVERS), scope="module")
def server(request: Any, redis_server: dict[str, Any]) -> Iterator[str]:
    """Start the server named by the parameter; return its feed's base URL."""
    with running(request.param, redis_server) as base:
        yield base
