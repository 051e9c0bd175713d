"""The change context follows work into Celery tasks: ``delay``, ``apply_async``, a chain and a
group through the session's real worker, and eager mode; the library's own messages never carry
it, and a worker refuses a bad one."""

from __future__ import annotations

import base64
import json
import logging

import pytest
from celery import chain, group
from django.db import OperationalError

import diffs
from diffs import wire
from diffs.recording import propagation
from diffs.recording.context import current
from diffs.transport.task_names import PRUNE_TASK, RESEND_TASK, WRITE_TASK
from tests.celery_app import app as celery_app
from tests.conftest import wait_for_diffs, wait_until
from tests.testapp.models import Question
from tests.testapp.tasks import rename_question, save_question

pytestmark = [pytest.mark.django_db(transaction=True)]

PROBE_QUEUE = "i13a-context-probe"


def diffs_of_text(text, count=1):
    """Wait for the question a task saved with ``text``; return its ``count`` diffs."""
    question = wait_until(lambda: _question(text))
    return wait_for_diffs(question.diffs, count)


def _question(text):
    """Return the question with ``text``, or None while it is not there or its table is locked
    (the session worker's thread writes the same in-memory SQLite database)."""
    try:
        return Question.objects.filter(question_text=text).first()
    except OperationalError as exc:
        if "locked" not in str(exc):
            raise
        return None


@pytest.mark.usefixtures("worker")
def test_a_task_delayed_inside_a_context_records_its_diffs_inside_it():
    with diffs.context(actor=7, request_id="r-1"):
        save_question.delay("delayed")
    (diff,) = diffs_of_text("delayed")
    assert diff.context == {"actor": 7, "request_id": "r-1"}


@pytest.mark.usefixtures("worker")
def test_apply_async_carries_the_context_and_a_later_task_does_not_inherit_it():
    with diffs.context(actor=8):
        save_question.apply_async(("applied",), countdown=0)
    (diff,) = diffs_of_text("applied")
    assert diff.actor == 8
    save_question.delay("no context")
    (later,) = diffs_of_text("no context")
    assert later.context == {}


@pytest.mark.usefixtures("worker")
def test_each_task_of_a_chain_runs_inside_the_context():
    with diffs.context(actor=9, reason="chain"):
        chain(save_question.s("chained"), rename_question.s("chained, renamed")).delay()
    created, renamed = diffs_of_text("chained, renamed", 2)
    assert created.context == renamed.context == {"actor": 9, "reason": "chain"}


@pytest.mark.usefixtures("worker")
def test_each_task_of_a_group_runs_inside_the_context():
    with diffs.context(actor=10):
        group(save_question.s(f"grouped {n}") for n in range(3)).delay()
    for n in range(3):
        (diff,) = diffs_of_text(f"grouped {n}")
        assert diff.actor == 10


@pytest.mark.usefixtures("worker")
def test_a_task_of_a_view_names_the_request_s_actor(client, settings):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "diffs.middleware.DiffsContextMiddleware"]
    settings.ROOT_URLCONF = "tests.context_urls"
    user = client.get("/start-task/?user=starter&text=started by a view").json()["user"]
    (diff,) = diffs_of_text("started by a view")
    assert diff.actor == user
    assert diff.context["path"] == "/start-task/"


@pytest.mark.usefixtures("eager", "storage")
def test_in_eager_mode_the_task_runs_in_the_callers_context_once():
    with diffs.context(actor=11):
        chain(save_question.s("eager"), rename_question.s("eager, renamed")).delay()
        assert current() == {"actor": 11}
    assert current() is None
    assert not propagation._entered
    created, renamed = diffs_of_text("eager, renamed", 2)
    assert created.context == renamed.context == {"actor": 11}


@pytest.fixture
def probe(broker):
    """Return ``messages()``: the messages published to a queue no worker consumes."""
    broker.delete(PROBE_QUEUE)
    yield lambda: [json.loads(raw) for raw in broker.lrange(PROBE_QUEUE, 0, -1)]
    broker.delete(PROBE_QUEUE)


def test_the_header_is_added_to_task_messages_but_never_to_the_librarys_own(probe):
    with diffs.context(actor=12):
        celery_app.send_task("tests.save_question", args=["probe"], queue=PROBE_QUEUE)
        for name in (WRITE_TASK, RESEND_TASK, PRUNE_TASK):
            celery_app.send_task(name, args=["{}"], queue=PROBE_QUEUE)
    celery_app.send_task("tests.save_question", args=["none"], queue=PROBE_QUEUE)
    headers = {(m["headers"]["task"], m["headers"]["argsrepr"]): m["headers"] for m in probe()}
    assert headers["tests.save_question", "['probe']"][propagation.HEADER] == {"actor": 12}
    assert propagation.HEADER not in headers["tests.save_question", "['none']"]
    for name in (WRITE_TASK, RESEND_TASK, PRUNE_TASK):
        assert propagation.HEADER not in headers[name, "['{}']"]


def test_the_diffs_a_save_sends_carry_the_context_in_the_diffs_not_the_message(
    probe, settings
):
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS, "queue": PROBE_QUEUE}
    with diffs.context(actor=13):
        Question.objects.create(question_text="probe")
    assert diffs.flush(timeout=10)  # the background publisher has handed it to the broker
    (message,) = probe()
    assert message["headers"]["task"] == WRITE_TASK
    assert propagation.HEADER not in message["headers"]
    body = json.loads(base64.b64decode(message["body"]))
    (diff,) = wire.batch_diffs(json.loads(body[0][0]))
    assert diff[wire.CONTEXT] == {"actor": 13}


@pytest.mark.usefixtures("worker")
@pytest.mark.parametrize(
    "bad", [{"note": "x" * 5000}, {"deep": [[[[[[[[1]]]]]]]]}, ["not", "an", "object"]],
    ids=["too large", "too deep", "not an object"],
)
def test_a_worker_runs_a_task_with_a_bad_context_header_without_it(bad, diffs_log):
    save_question.apply_async(("bad header",), headers={propagation.HEADER: bad})
    (diff,) = diffs_of_text("bad header")
    assert diff.context == {}
    wait_until(lambda: any("carries a bad change context" in r.getMessage() for r in diffs_log))
    assert any(r.levelno == logging.ERROR for r in diffs_log)
