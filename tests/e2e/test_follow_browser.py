"""The example project's live page (``make serve``) in a real headless Chromium.

``example/serve.py`` runs as ``make serve`` runs it (runserver, a Celery worker, beat) on the
session's Redis, a database of its own and key names of its own. The browser logs in, opens
``follow/polls.question/`` (the browser's own ``EventSource`` on the model's changes feed), and
sees a save made in the database appear. Then the whole project stops, a save is made while it is
down, and it starts again: the page reconnects by itself, resumes with ``Last-Event-ID``, and
shows that save once, after the others. A screenshot is saved as ``test-output/follow.png``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By

from tests.conftest import wait_until
from tests.e2e.browser import OUTPUT
from tests.e2e.http_servers import answers, free_port

EXAMPLE = Path(__file__).resolve().parents[2] / "example"

pytestmark = pytest.mark.django_db(transaction=True)  # the session's worker is not used


@pytest.fixture
def example_env(redis_server, tmp_path) -> dict[str, str]:
    """The environment of the example project: the session's Redis, names of its own."""
    name = f"follow-{uuid.uuid4().hex[:8]}"
    return {**os.environ, "REDIS_URL": redis_server["storage_url"], "DIFFS_KEY_PREFIX": name,
            "DIFFS_QUEUE": name, "EXAMPLE_DB": str(tmp_path / "example.sqlite3"),
            "SERVE_PORT": str(free_port()), "DJANGO_SETTINGS_MODULE": "exampleproject.settings",
            "PYTHONPATH": os.pathsep.join([str(EXAMPLE), str(EXAMPLE.parent)])}


@contextmanager
def serving(env: dict[str, str]) -> Iterator[str]:
    """Run ``example/serve.py``; yield its base URL once it answers; stop it (SIGTERM) after."""
    process = subprocess.Popen([sys.executable, str(EXAMPLE / "serve.py")], cwd=EXAMPLE, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{env['SERVE_PORT']}"
    try:
        wait_until(lambda: process.poll() is not None or answers(f"{base}/admin/login/"),
                   timeout=60, interval=0.2)
        if process.poll() is not None:
            pytest.fail(f"serve.py exited: {process.stderr.read().decode()[-2000:]}")
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def save_question(env: dict[str, str], text: str) -> None:
    """Change question 1 in the example's database, as a shell session would."""
    code = ("from polls.models import Question\n"
            "q = Question.objects.get(pk=1)\n"
            f"q.question_text = {text!r}\n"
            "q.save()\n")
    subprocess.run([sys.executable, str(EXAMPLE / "manage.py"), "shell", "-c", code],
                   cwd=EXAMPLE, env=env, check=True, timeout=60, capture_output=True)


def shown(browser: Any) -> list[tuple[str, str]]:
    """Return the (diff id, text) of each change on the page, in order."""
    return [(item.get_attribute("data-id"), item.text)
            for item in browser.find_elements(By.CSS_SELECTOR, "#changes li")]


def test_the_follow_page_shows_saves_live_and_resumes_after_the_server_restarts(
    browser, example_env
):
    with serving(example_env) as base:
        browser.get(f"{base}/admin/login/?next=/follow/polls.question/")
        browser.find_element(By.NAME, "username").send_keys("admin")
        browser.find_element(By.NAME, "password").send_keys("admin")
        browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
        wait_until(lambda: len(shown(browser)) == 1, timeout=30)  # the question's creation
        assert "created" in shown(browser)[0][1]
        save_question(example_env, "What is Django?")
        wait_until(lambda: len(shown(browser)) == 2, timeout=30)
        assert "What is Django?" in shown(browser)[1][1]
    status = browser.find_element(By.ID, "status")
    wait_until(lambda: status.text == "reconnecting", timeout=30)
    save_question(example_env, "Saved while the server was down")
    with serving(example_env):
        wait_until(lambda: len(shown(browser)) >= 3, timeout=60)
        changes = shown(browser)
        assert "Saved while the server was down" in changes[2][1]
        assert len({diff_id for diff_id, _ in changes}) == len(changes) == 3  # none twice
        assert int(status.get_attribute("data-opens")) >= 2
        OUTPUT.mkdir(exist_ok=True)
        assert browser.save_screenshot(str(OUTPUT / "follow.png"))
