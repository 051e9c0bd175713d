"""The changes feed over real HTTP: runserver (WSGI) and uvicorn (ASGI), a real Celery worker.

Each server runs in a process of its own against the session's Redis; the client is urllib.
The long-poll test saves a model here (on the session's database, SQLite or PostgreSQL), the
session's real worker writes the diff and announces it, and the server's waiting request
answers with it well before its wait runs out.
"""

from __future__ import annotations

import json
import threading
import time

import pytest

from tests.conftest import wait_until
from tests.e2e.http_servers import get as _get
from tests.testapp.models import Question

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.both_databases]


def _numsub(storage) -> int:
    return storage.pubsub_numsub("diffs:~written")[0][1]


def test_feed_pages_and_etag_over_http(server, worker, storage):
    question = Question.objects.create(question_text="over http")
    question.question_text = "changed"
    question.save()
    url = f"{server}/testapp.question/{question.pk}/"
    wait_until(lambda: len(json.loads(_get(url)[2])["diffs"]) == 2, timeout=20)
    status, headers, content = _get(f"{url}?limit=1")
    body = json.loads(content)
    assert (status, len(body["diffs"]), body["more"]) == (200, 1, True)
    assert body["diffs"][0]["created"] is True
    assert headers["Cache-Control"].startswith("private")
    status, _, content = _get(f"{url}?limit=1&cursor={body['cursor']}")
    assert json.loads(content)["diffs"][0]["new"] == {"question_text": "changed"}
    status, headers, _ = _get(url)
    assert _get(url, {"If-None-Match": headers["ETag"]})[0] == 304
    assert _get(f"{url}?limit=nope")[0] == 400
    assert _get(f"{server}/testapp.plain/1/")[0] == 404


@pytest.mark.smoke
def test_long_poll_is_woken_by_a_real_workers_write(server, worker, storage):
    question = Question.objects.create(question_text="before")
    url = f"{server}/testapp.question/{question.pk}/"
    wait_until(lambda: json.loads(_get(url)[2])["diffs"], timeout=20)
    start = json.loads(_get(url)[2])["cursor"]
    answer: dict = {}

    def poll() -> None:
        began = time.monotonic()
        answer["status"], _, content = _get(f"{url}?wait=25&cursor={start}", timeout=40)
        answer["body"], answer["seconds"] = json.loads(content), time.monotonic() - began

    waiting = threading.Thread(target=poll)
    waiting.start()
    wait_until(lambda: _numsub(storage) == 1)  # the server is subscribed, waiting
    question.question_text = "after"
    question.save()
    waiting.join(timeout=40)
    assert answer["status"] == 200
    assert [d["new"] for d in answer["body"]["diffs"]] == [{"question_text": "after"}]
    assert answer["seconds"] < 20  # woken by the write, not by the wait running out
    wait_until(lambda: _numsub(storage) == 0)  # its subscription is closed (uvicorn: hub.LINGER)
