"""Outages with real processes: the broker goes away under load; nothing is lost or duplicated.

Marked ``slow``; the scenarios of thousands of saves are also ``nightly``: ``make test-faults``
runs them, ``make test`` (and so CI) only the storage outage. The processes of a scenario
share one database: a SQLite file of the test's own, or, in the PostgreSQL run (which runs only
the scenarios marked ``both_databases``), a PostgreSQL database created for the scenario.
"""

from __future__ import annotations

import json
import time
from collections import Counter

import pytest
from kombu import Connection

from diffs import wire
from diffs.transport.task_names import WRITE_TASK
from tests import payloads
from tests.faults.harness import PUBLISH_MODES, Scenario
from tests.faults.netproxy import Proxy

# The waits fail on a stalled count: on a loaded machine a scenario may need more than the
# suite's default timeout, never less progress.
pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(900),
    pytest.mark.parametrize("publish_mode", PUBLISH_MODES),
]

SAVES_PER_CLIENT = 2500
PAUSE = 0.003


def redis_url(server) -> str:
    return f"redis://127.0.0.1:{server.port}/0"


def _run_outage(scenario: Scenario, stop, start, may_lose: int = 0) -> None:
    """Two web processes save 5,000 times; the broker is gone for 10 s in the middle.

    Afterwards every diff is stored once, but for at most ``may_lose`` of them.
    """
    scenario.worker()
    clients = [scenario.client(SAVES_PER_CLIENT, PAUSE, f"c{i}") for i in range(2)]
    time.sleep(3)
    stop()
    time.sleep(10)  # the outage itself
    start()
    results = [scenario.result(client) for client in clients]

    assert [r["failed"] for r in results] == [0, 0]
    expected = 2 * SAVES_PER_CLIENT
    ids = scenario.wait_settled(expected - may_lose)
    duplicates = [i for i, n in Counter(ids).items() if n > 1]
    assert not duplicates
    assert expected - may_lose <= len(ids) <= expected
    assert scenario.pending_rows() == 0
    assert max(r["slowest"] for r in results) < 2.0, results


@pytest.mark.nightly
@pytest.mark.both_databases
def test_redis_broker_stopped_for_10s_loses_no_diff_in_outbox_mode(servers, scenarios):
    # kombu's Redis transport pops a message, then records it as unacknowledged: a worker
    # that cannot record it (the broker just went away) drops it. The outbox sends it again.
    broker = servers("broker")
    scenario = scenarios(redis_url(broker), FAULT_DURABILITY="outbox")
    _run_outage(scenario, broker.stop, broker.start)


@pytest.mark.nightly
def test_redis_broker_stopped_for_10s_loses_at_most_the_message_popped_in_spool_mode(
    servers, scenarios, publish_mode
):
    # The documented window of spool mode: the one message the worker had popped, and not yet
    # recorded as unacknowledged, when the broker stopped. One save per message on_commit; at
    # most publish_batch_size saves per message in the background.
    broker = servers("broker")
    batch_size = 20
    scenario = scenarios(redis_url(broker),
                         FAULT_DIFFS_SETTINGS=f'{{"publish_batch_size": {batch_size}}}')
    _run_outage(scenario, broker.stop, broker.start,
                may_lose=1 if publish_mode == "on_commit" else batch_size)


@pytest.mark.nightly
def test_rabbitmq_broker_cut_off_for_10s_loses_no_diff(scenarios, rabbitmq):
    proxy = Proxy(("127.0.0.1", 5672)).start()
    # Every delivery and acknowledgement crosses the test process's proxy threads: with one
    # message in flight at a time, a loaded machine turns that hop into the worker's pace.
    scenario = scenarios(f"amqp://guest:guest@127.0.0.1:{proxy.port}//", FAULT_PREFETCH="50")
    rabbitmq[1].append(scenario.queue)
    try:
        _run_outage(scenario, proxy.cut, proxy.restore)
    finally:
        proxy.cut()


def _publish_batches(scenario: Scenario, batches: int, per_batch: int) -> set[str]:
    """Publish write tasks straight to the scenario's broker; return the diff ids sent."""
    from celery import Celery

    app = Celery("publisher", broker=scenario.env["FAULT_BROKER_URL"], set_as_current=False)
    app.conf.broker_transport_options = {"confirm_publish": True}
    sent = set()
    with app.producer_or_acquire() as producer:
        for number in range(batches):
            diffs = [payloads.diff(number * per_batch + n, created=True) for n in range(per_batch)]
            sent.update(wire.diff_id(made) for made in diffs)
            app.send_task(WRITE_TASK, args=[payloads.batch(*diffs)], queue=scenario.queue,
                          serializer="json", producer=producer)
    return sent


def _kill_a_worker_while_it_writes(scenario: Scenario, expected: int) -> list[str]:
    """Start a prefork worker, SIGKILL it mid-way, start another; return the stored ids."""
    first = scenario.worker(pool="prefork", concurrency=2)
    deadline = time.monotonic() + 60
    # Every diff here is a create with a key of its own: the key count is the progress.
    while scenario.storage.dbsize() < expected // 10 and time.monotonic() < deadline:
        time.sleep(0.01)
    # SIGKILL to the worker and its pool, as when its machine or container dies: no warm
    # shutdown, unacknowledged tasks stay with the broker. (Killing only the main process
    # leaves its pool children running, and whatever they hold open keeps the broker from
    # seeing the worker gone.)
    scenario.kill(first)
    assert len(scenario.stored_ids()) < expected, "the worker finished before the kill"
    scenario.worker()
    return scenario.wait_stored(expected, timeout=120)


@pytest.fixture
def rabbitmq():
    """Return the machine's RabbitMQ URL; delete the queues the test names at the end."""
    url = "amqp://guest:guest@127.0.0.1:5672//"
    try:
        with Connection(url, connect_timeout=3) as conn:
            conn.connect()
    except Exception as exc:  # pragma: no cover - the machine has RabbitMQ
        pytest.skip(f"no RabbitMQ on 127.0.0.1:5672: {exc}")
    queues: list[str] = []
    yield url, queues
    with Connection(url) as conn:
        for queue in queues:
            conn.default_channel.queue_delete(queue)


@pytest.mark.nightly
def test_worker_killed_while_writing_loses_and_duplicates_nothing(scenarios, rabbitmq):
    # AMQP acknowledges atomically: a dead worker's unacknowledged tasks go back at once.
    url, queues = rabbitmq
    scenario = scenarios(url)
    queues.append(scenario.queue)
    sent = _publish_batches(scenario, batches=400, per_batch=50)
    ids = _kill_a_worker_while_it_writes(scenario, len(sent))
    assert len(ids) == len(set(ids)) == len(sent)
    assert set(ids) == sent


@pytest.mark.nightly
def test_worker_killed_while_writing_in_outbox_mode_loses_nothing_on_redis(servers, scenarios):
    # kombu's Redis transport pops a task before it records it as unacknowledged; a worker
    # killed in between loses that task, which only the outbox sends again.
    scenario = scenarios(redis_url(servers("broker")), FAULT_DURABILITY="outbox")
    clients = [scenario.client(1500, 0.002, f"c{i}") for i in range(2)]
    ids = _kill_a_worker_while_it_writes(scenario, 3000)
    assert [scenario.result(client)["failed"] for client in clients] == [0, 0]
    assert len(ids) == len(set(ids)) == 3000
    assert scenario.pending_rows() == 0


def test_storage_redis_down_while_writing_is_retried_until_it_is_back(servers, scenarios):
    storage = servers("storage")
    scenario = scenarios(redis_url(servers("broker")), storage_url=redis_url(storage))
    scenario.worker()
    client = scenario.client(600, 0.005, "c")
    time.sleep(2)
    storage.stop()
    time.sleep(5)
    storage.start()
    assert scenario.result(client)["failed"] == 0
    ids = scenario.wait_stored(600, timeout=120)
    assert len(ids) == len(set(ids)) == 600


@pytest.mark.nightly
@pytest.mark.both_databases
@pytest.mark.parametrize("kind", ["server", "cluster"])
def test_concurrent_web_and_worker_processes_store_every_diff_once_in_order(
    servers, scenarios, kind, request
):
    if kind == "cluster":  # the storage is the session's Redis Cluster
        cluster = request.getfixturevalue("redis_cluster")
        scenario = scenarios(redis_url(servers("broker")), FAULT_DIFFS_SETTINGS=json.dumps(
            {"redis": {"cluster": {"startup_nodes": cluster.startup_nodes}}}))
        scenario.storage.close()
        scenario.storage = request.getfixturevalue("cluster_storage")
    else:
        scenario = scenarios(redis_url(servers("broker")))
    question_pk = int(scenario.run_python(
        "from tests.testapp.models import Choice, Question;"
        "q = Question.objects.create(question_text='shared');"
        "[Choice.objects.create(question=q, choice_text=str(i)) for i in range(4)];"
        "print(q.pk)"
    ))
    scenario.worker(pool="prefork", concurrency=2)
    scenario.worker()
    clients = [scenario.client(400, 0.001, f"shared:{question_pk}") for _ in range(3)]
    results = [scenario.result(client) for client in clients]
    assert all(r["failed"] == 0 for r in results)
    saves: dict[str, list[str]] = {}
    for result in results:
        for pk, texts in result["per_object"].items():
            saves.setdefault(pk, []).extend(texts)
    updates = sum(len(texts) for texts in saves.values())
    expected = 1 + 4 + updates  # the parent holds its create, the choices' and every update
    scenario.wait_stored(expected + 4 + updates)  # the choices' own keys hold 4 + updates
    parent = scenario.key("testapp.question", question_pk)
    parent_ids = payloads.member_ids(scenario.storage.zrange(parent, 0, -1))
    assert len(parent_ids) == len(set(parent_ids)) == expected
    for choice_pk, texts in saves.items():
        members = scenario.storage.zrange(scenario.key("testapp.choice", choice_pk), 0, -1,
                                          withscores=True)
        stored = [found.new["choice_text"]
                  for found in wire.decode_members([m for m, _ in members[1:]]) if found]
        assert sorted(stored) == sorted(texts)  # every save once
        scores = [score for _, score in members]
        assert scores == sorted(scores)
        for pid in {text.split("-")[0] for text in texts}:  # each process's own saves
            mine = [t for t in stored if t.split("-")[0] == pid]  # stay in the order made
            assert mine == [t for t in texts if t.split("-")[0] == pid]


@pytest.mark.nightly
@pytest.mark.both_databases
def test_outbox_mode_loses_nothing_when_the_broker_loses_its_queue(servers, scenarios):
    # The broker restarts empty: whatever was queued or taken but unacknowledged is gone.
    broker = servers("broker", persistent=False)
    scenario = scenarios(redis_url(broker), FAULT_DURABILITY="outbox")
    _run_outage(scenario, broker.stop, broker.start)
