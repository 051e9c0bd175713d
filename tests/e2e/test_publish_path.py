"""The lean publish path: Celery's own task message, through a long-lived, bounded producer."""

import base64
import json
import os
import socket
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest
import redis
from celery import Celery
from kombu import Connection
from pytest_redis import factories

from diffs import wire
from diffs.models import PendingDiff
from diffs.transport import runtime
from diffs.transport.producer import ProducerPool, PublishFailed
from diffs.transport.task_names import WRITE_TASK
from tests import payloads
from tests.celery_app import app as celery_app
from tests.conftest import wait_for_diffs
from tests.testapp.models import Question

ROOT = Path(__file__).resolve().parents[2]
RABBITMQ = os.environ.get("DIFFS_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")

#: A broker of its own, which the outage test stops and starts again.
outage_broker = factories.redis_proc(port=None)


def _raw_messages(broker, queue):
    """Return the kombu envelopes waiting in a Redis-backed queue, oldest first."""
    return [json.loads(raw) for raw in reversed(broker.lrange(queue, 0, -1))]


def _rabbitmq_answers():
    try:
        with Connection(RABBITMQ, connect_timeout=1) as conn:
            conn.ensure_connection(max_retries=0)
        return True
    except Exception:
        return False


@pytest.fixture
def pool():
    """A producer pool of the test's own, closed afterwards."""
    made = ProducerPool()
    yield made
    made.close_idle()


def test_message_is_the_one_celery_send_task_would_publish(broker, pool):
    queue = f"diffs-inspect-{uuid.uuid4().hex}"
    text = wire.dumps(payloads.batch())
    try:
        pool.send_task(celery_app, WRITE_TASK, [text], queue, 1.0, "('...',)")
        celery_app.send_task(WRITE_TASK, args=[text], queue=queue, ignore_result=True,
                             serializer="json")
        ours, celerys = _raw_messages(broker, queue)
    finally:
        broker.delete(queue)
    for key in ("id", "root_id", "origin", "argsrepr"):
        assert ours["headers"].pop(key) and celerys["headers"].pop(key)
    assert ours["headers"] == celerys["headers"]
    assert ours["content-type"] == celerys["content-type"] == "application/json"
    assert ours["content-encoding"] == celerys["content-encoding"]
    assert json.loads(base64.b64decode(ours["body"])) == json.loads(
        base64.b64decode(celerys["body"])
    )
    assert ours["properties"].pop("reply_to") == ""  # no result is kept: nobody replies
    for key in ("correlation_id", "delivery_tag", "reply_to"):
        ours["properties"].pop(key, None)
        celerys["properties"].pop(key)
    assert ours["properties"] == celerys["properties"]


@pytest.mark.django_db(transaction=True)
def test_eager_mode_switched_on_at_runtime_is_honoured(storage, celery_worker_session, broker):
    question = Question.objects.create(question_text="published")
    wait_for_diffs(question.diffs, 1)
    celery_worker_session.consumer.cancel_task_queue("diffs")
    celery_app.conf.task_always_eager = True
    try:
        question.question_text = "written in-process"
        question.save()
        assert len(question.diffs) == 2  # no worker consumes: the save ran the task itself
        assert broker.llen("diffs") == 0
    finally:
        celery_app.conf.task_always_eager = False
        celery_worker_session.consumer.add_task_queue("diffs")


@pytest.mark.parametrize("scheme", ["redis", "amqp"])
@pytest.mark.parametrize("broker_kind", ["refusing", "silent"])
def test_unanswering_broker_fails_the_publish_instead_of_waiting(scheme, broker_kind, pool):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        if broker_kind == "silent":
            listener.listen(8)  # connects, never answers: only the timeout ends the wait
        port = listener.getsockname()[1]
        if broker_kind == "refusing":
            listener.close()
        app = Celery("unanswering", broker=f"{scheme}://guest:guest@127.0.0.1:{port}//",
                     set_as_current=False)
        with pytest.raises(PublishFailed):
            pool.send_task(app, WRITE_TASK, ["[]"], "diffs", 0.2, "('[]',)")


@pytest.mark.django_db
def test_publish_failure_is_handed_to_failed_and_never_raised(settings, caplog):
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS, "raise_errors": False,
                               "publish_timeout": 0.2}
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    dead = Celery("dead", broker=f"redis://127.0.0.1:{port}/0", set_as_current=False)
    refused = payloads.diff()
    with runtime.replaced() as fresh:  # no outage remembered from an earlier test
        dead.set_current()
        try:
            fresh.sender.publish_now([refused])
        finally:
            celery_app.set_current()
    assert "refused a batch" in caplog.text
    assert PendingDiff.objects.filter(diff_id=wire.diff_id(refused)).exists()


def test_producer_reconnects_after_the_broker_comes_back(outage_broker, pool):
    app = Celery("outage", broker=f"redis://127.0.0.1:{outage_broker.port}/0", set_as_current=False)
    pool.send_task(app, WRITE_TASK, ["[]"], "diffs", 1.0, "('[]',)")
    outage_broker.stop()
    try:
        with pytest.raises(PublishFailed):
            pool.send_task(app, WRITE_TASK, ["[]"], "diffs", 1.0, "('[]',)")
    finally:
        outage_broker.start()
    client = redis.Redis(host=outage_broker.host, port=outage_broker.port)
    client.flushall()
    pool.send_task(app, WRITE_TASK, ["[]"], "diffs", 1.0, "('[]',)")
    assert client.llen("diffs") == 1
    client.flushall()
    client.close()


def test_forked_child_publishes_on_a_connection_of_its_own(redis_server, broker):
    queue = f"diffs-fork-{uuid.uuid4().hex}"
    script = textwrap.dedent(f"""
        import os, sys
        os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
        import django
        django.setup()
        from celery import Celery
        from diffs.transport import runtime
        app = Celery("forks", broker={redis_server["broker_url"]!r})
        send = lambda: runtime.current().producers.send_task(
            app, "diffs.write", ["[]"], {queue!r}, 1.0, "x")
        send()
        child = os.fork()
        if child == 0:
            send()
            os._exit(0)
        _, status = os.waitpid(child, 0)
        send()  # the parent's connection was not closed by the child
        sys.exit(os.waitstatus_to_exitcode(status))
    """)
    try:
        done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, timeout=60, check=False)
        assert done.returncode == 0
        assert broker.llen(queue) == 3
    finally:
        broker.delete(queue, f"_kombu.binding.{queue}")


@pytest.mark.django_db(transaction=True)
def test_rabbitmq_broker_delivers_to_a_real_worker(settings, redis_server, storage):
    if not _rabbitmq_answers():
        pytest.skip(f"no RabbitMQ answers at {RABBITMQ}")
    queue = f"diffs-amqp-{uuid.uuid4().hex}"
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS, "queue": queue}
    worker = subprocess.Popen(
        [sys.executable, "-c", _WORKER.format(storage=redis_server["storage_url"],
                                              broker=RABBITMQ, queue=queue)],
        cwd=ROOT,
    )
    amqp = Celery("amqp-test", broker=RABBITMQ, set_as_current=False)
    try:
        amqp.set_current()
        try:
            question = Question.objects.create(question_text="through RabbitMQ")
            question.question_text = "still through RabbitMQ"
            question.save()
        finally:
            celery_app.set_current()
        created, changed = wait_for_diffs(question.diffs, 2, timeout=60)
        assert created.created and changed.new == {"question_text": "still through RabbitMQ"}
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        with Connection(RABBITMQ) as conn:
            conn.default_channel.queue_delete(queue)
            conn.default_channel.exchange_delete(queue)


#: A real worker process on RabbitMQ, pointed at the session's storage Redis.
_WORKER = """
import os
os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
import django
django.setup()
from django.conf import settings
settings.DIFFS_SETTINGS = {{**settings.DIFFS_SETTINGS, "redis": {{"url": {storage!r}}}}}
from tests.celery_app import app
app.conf.broker_url = {broker!r}
app.worker_main(["worker", "-P", "solo", "-Q", {queue!r}, "-n", "diffs-test-{queue}@%h",
                 "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "WARNING"])
"""
