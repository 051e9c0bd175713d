"""The quick start of the docs' Getting started, followed as a new user would: a
throwaway project made by ``django-admin startproject``, the files and commands the quick start
shows (read from the page, so the test fails when the page drifts), a real
``celery -A proj worker``, a save in ``manage.py shell`` and its diff read back.

Only the Redis URLs are changed, to databases 2 and 3 of the test session's redis-server (not
the session's own 0 and 1, whose in-process worker would take the project's tasks).
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from diffs.storage.keys import object_key
from tests.conftest import wait_until
from tests.docs_blocks import FRESH_PROJECT_FILES, QUICK_START
from tests.docs_sections import blocks, first_comment

pytestmark = pytest.mark.slow

SECTION = "Quick start"
#: The pages whose quick start this test follows (README.md shows some of the same blocks, word
#: for word: tests/unit/test_readme.py).
DOCUMENTS = {"docs": QUICK_START}
QUICK_START_REDIS = re.compile(r"redis://localhost:6379/(\d)")
#: The session's redis-server databases the project uses instead of the quick start's 0 and 1.
FIRST_DB = 2
BIN = Path(sys.executable).parent


def _files(document: Path) -> dict[str, str]:
    """Return the quick start's files by path (the first line of each block names it)."""
    files = {}
    for code in blocks(SECTION, "python", document):
        path = first_comment(code).split(":")[0].split(" ")[0]
        if path.endswith(".py"):
            files[path] = code
    return files


def _commands(document: Path) -> list[list[str]]:
    """Return the quick start's ``python manage.py`` and ``celery`` command lines, but
    ``startapp`` (the test makes the project and its app itself)."""
    lines = [line.split("#")[0].strip() for code in blocks(SECTION, "bash", document)
             for line in code.splitlines()]
    return [shlex.split(line) for line in lines
            if line.startswith(("python manage.py", "celery ")) and " startapp " not in line]


def _shell_script(document: Path) -> str:
    return next(code for code in blocks(SECTION, "python", document)
                if first_comment(code).startswith("python manage.py shell"))


@pytest.mark.parametrize("document", DOCUMENTS.values(), ids=DOCUMENTS.keys())
def test_the_quick_start_shows_every_file_and_command(document):
    assert set(_files(document)) == {*FRESH_PROJECT_FILES, "polls/models.py"}
    assert [command[:3] for command in _commands(document)] == [
        ["python", "manage.py", "makemigrations"], ["python", "manage.py", "migrate"],
        ["celery", "-A", "proj"],
    ]
    assert "CELERY_BROKER_URL" in _files(document)["proj/settings.py"]


@pytest.fixture
def project_redis(redis_server):
    """Return the URL base of the session's redis-server; its databases 2 and 3 emptied."""
    base = f"redis://{redis_server['host']}:{redis_server['port']}"
    clients = [redis.Redis.from_url(f"{base}/{FIRST_DB + n}") for n in (0, 1)]
    for client in clients:
        client.flushdb()
    yield base
    for client in clients:
        client.flushdb()
        client.close()


def _run(argv: list[str], cwd: Path, env: dict[str, str]) -> str:
    run = subprocess.run(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, f"{argv} failed:\n{run.stdout}\n{run.stderr}"
    return run.stdout


def _executable(command: list[str]) -> list[str]:
    """Return ``command`` run with this virtualenv's python and celery."""
    if command[0] == "python":
        return [sys.executable, *command[1:]]
    return [str(BIN / command[0]), *command[1:]]


def _worker_listening(base: str) -> bool:
    """Return whether a client of the project's broker database waits on a queue (BRPOP)."""
    client = redis.Redis.from_url(f"{base}/0")
    try:
        return any(c.get("db") == str(FIRST_DB + 1) and c.get("cmd") in ("brpop", "blpop")
                   for c in client.client_list())
    finally:
        client.close()


@pytest.mark.timeout(1200)  # a busy machine: each command starts Django afresh
@pytest.mark.parametrize("document", DOCUMENTS.values(), ids=DOCUMENTS.keys())
def test_a_fresh_project_records_as_the_quick_start_says(tmp_path, project_redis, document):
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("DJANGO_", "DIFFS_", "PYTEST_"))}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    _run([str(BIN / "django-admin"), "startproject", "proj", "."], tmp_path, env)
    _run([sys.executable, "manage.py", "startapp", "polls"], tmp_path, env)
    for path, code in _files(document).items():
        code = QUICK_START_REDIS.sub(lambda m: f"{project_redis}/{FIRST_DB + int(m[1])}", code)
        target = tmp_path / path
        if path.endswith("settings.py"):
            code = target.read_text() + "\n" + code  # "add to what startproject wrote"
        target.write_text(code)

    *setup, worker_command = _commands(document)
    for command in setup:
        _run(_executable(command), tmp_path, env)
    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(_executable(worker_command), cwd=tmp_path, env=env, stdout=log,
                              stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_until(lambda: worker.poll() is not None or _worker_listening(project_redis),
                   timeout=300, interval=0.2)
        assert worker.poll() is None, (tmp_path / "worker.log").read_text()
        out = _run([sys.executable, "manage.py", "shell", "-c", _shell_script(document)], tmp_path,
                   env)
        assert out.strip().splitlines()[-1] == "What's new?", (tmp_path / "worker.log").read_text()
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
        log.close()
    storage = redis.Redis.from_url(f"{project_redis}/{FIRST_DB}", decode_responses=True)
    assert storage.keys("diffs:{*}:polls.question:*") == [object_key("diffs", "polls.question", 1)]
    storage.close()
