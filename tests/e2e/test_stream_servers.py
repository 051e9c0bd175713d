"""Server-Sent Events over real HTTP: uvicorn (ASGI) and runserver (WSGI), a real Celery worker.

The test saves a model here, the session's worker writes and announces the diff, and the
server's stream sends it; a client that reconnects with ``Last-Event-ID`` resumes after the last
event it saw, also past what was stored while it was away. Under uvicorn every stream of the
process shares one Redis subscription.
"""

from __future__ import annotations

from contextlib import ExitStack

import django
import pytest

from tests.conftest import wait_until
from tests.e2e.http_servers import event_stream as stream
from tests.e2e.http_servers import running
from tests.sse import Reader, read_sync
from tests.testapp.models import Question, Ticket

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.both_databases]


def _has(count):
    return lambda reader: len(reader.diffs) >= count


def _texts(reader):
    return [event.diff["new"]["question_text"] for event in reader.diffs]


def test_stream_follows_a_real_workers_writes_and_resumes_with_last_event_id(
    server, worker, storage
):
    question = Question.objects.create(question_text="v1")
    url = f"{server}/testapp.question/{question.pk}/"
    with stream(url) as chunks:
        reader = read_sync(chunks, Reader(), _has(1))
        question.question_text = "v2"
        question.save()
        read_sync(chunks, reader, _has(2))
    assert _texts(reader) == ["v1", "v2"]
    question.question_text = "v3"  # stored while no client follows
    question.save()
    with stream(url, last_event_id=reader.diffs[-1].id) as chunks:
        resumed = read_sync(chunks, Reader(), _has(1))
        question.question_text = "v4"
        question.save()
        read_sync(chunks, resumed, _has(2))
    assert _texts(resumed) == ["v3", "v4"]


def test_a_model_feeds_stream_follows_every_object(server, worker, storage):
    with stream(f"{server}/testapp.ticket/") as chunks:
        tickets = [Ticket.objects.create(title=f"t{n}") for n in range(3)]
        tickets[1].title = "t1 edited"
        tickets[1].save()
        reader = read_sync(chunks, Reader(), _has(4))
    assert sorted((event.diff["pk"], event.diff["new"]["title"]) for event in reader.diffs) == [
        (tickets[0].pk, "t0"), (tickets[1].pk, "t1"), (tickets[1].pk, "t1 edited"),
        (tickets[2].pk, "t2")]


def test_streams_of_one_uvicorn_process_share_one_redis_subscription(
    redis_server, worker, storage
):
    questions = [Question.objects.create(question_text=f"q{n}") for n in range(3)]
    url = f"{redis_server['storage_url']}?client_name=one-uvicorn"  # its connections' name
    with running("uvicorn", redis_server, DIFFS_TEST_REDIS_URL=url) as base:
        with ExitStack() as stack:
            followed = _follow(stack, base, questions)
            # the twelve streams are open and have sent the created diffs: one subscription
            assert len(_subscriptions(storage)) == 1
            for question in questions:
                question.question_text += " changed"
                question.save()
            for chunks, reader, n in followed:
                read_sync(chunks, reader, _has(2))
                assert _texts(reader) == [f"q{n}", f"q{n} changed"]
        if django.VERSION >= (5, 0):  # 4.2 does not stop a stream whose client went away
            wait_until(lambda: not _subscriptions(storage))  # let go once no stream is left


def _follow(stack, base, questions):
    """Open twelve streams over three objects; return them once each sent its first event."""
    followed = []
    for n in range(12):
        question = questions[n % 3]
        chunks = stack.enter_context(stream(f"{base}/testapp.question/{question.pk}/"))
        followed.append((chunks, read_sync(chunks, Reader(), _has(1)), n % 3))
    return followed


def _subscriptions(storage):
    return [client for client in storage.client_list(_type="pubsub")
            if client["name"] == "one-uvicorn"]
