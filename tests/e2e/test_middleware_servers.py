"""``DiffsContextMiddleware`` in real servers (runserver, uvicorn) and with a real worker: the
context of a request reaches the diffs the worker writes, and a task an async view starts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.db import connection

from tests.conftest import wait_for_diffs, wait_until
from tests.e2e.http_servers import SERVERS, answers, free_port
from tests.testapp.models import Question

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("worker")]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def with_middleware(settings):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "diffs.middleware.DiffsContextMiddleware"]
    settings.ROOT_URLCONF = "tests.context_urls"


def only_diff(pk):
    (diff,) = wait_for_diffs(Question.diffs.get_by_object_id(pk), 1)
    return diff


def test_an_async_view_publishing_a_task_before_the_user_is_loaded_loses_only_the_actor(
    async_client_run, async_client, settings, diffs_log
):
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS, "raise_errors": False}
    async_client.force_login(User.objects.create_user("async-user"))
    async_client_run("/start-task-async/?text=async task", {"X-Request-ID": "async-task"})
    question = wait_until(lambda: Question.objects.filter(question_text="async task").first())
    (diff,) = wait_for_diffs(question.diffs, 1)
    assert diff.context["request_id"] == "async-task" and "actor" not in diff.context
    assert any("'actor' could not be read" in r.getMessage() for r in diffs_log)


@pytest.fixture(params=sorted(SERVERS))
def context_server(request, redis_server, tmp_path):
    """Start a server of the context views on this session's database and broker."""
    # The session's own test database (a file on SQLite): its tables exist, committed rows are
    # seen by both sides.
    database = {key: connection.settings_dict[key] for key in ("ENGINE", "NAME", "HOST", "PORT",
                                                               "USER")}
    port = free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.context_server_settings",
           "DIFFS_TEST_REDIS_URL": redis_server["storage_url"],
           "DIFFS_TEST_BROKER_URL": redis_server["broker_url"],
           "DIFFS_TEST_DATABASE": json.dumps(database), "PYTHONPATH": str(ROOT)}
    args = [*SERVERS[request.param], str(port)] if request.param == "uvicorn" else [
        *SERVERS[request.param], f"127.0.0.1:{port}"]
    process = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: process.poll() is not None or answers(f"{base}/save/?text=up"),
                   timeout=30)
        if process.poll() is not None:
            pytest.fail(f"{request.param} exited: {process.stderr.read().decode()[-2000:]}")
        yield base, request.param
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.both_databases
def test_a_request_to_a_running_server_records_its_context(context_server):
    base, name = context_server
    path = "/save-async/" if name == "uvicorn" else "/authenticate-late/?user=real"
    request = urllib.request.Request(base + path, headers={"X-Request-ID": f"real-{name}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        found = json.loads(response.read())
    context = only_diff(found["pk"]).context
    assert context["request_id"] == f"real-{name}"
    assert context["method"] == "GET" and context["path"] == path.partition("?")[0]
    if "user" in found:
        assert context["actor"] == found["user"]
