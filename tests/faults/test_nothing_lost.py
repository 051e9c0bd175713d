"""Nothing lost, with real processes: a storage refusing writes, a rolling deploy, no beat.

Marked ``slow``, like ``test_outages.py``; they run in ``make test`` and CI all the same.
"""

from __future__ import annotations

import time
from collections import Counter

import pytest
import redis

from tests.conftest import wait_until
from tests.faults.harness import PUBLISH_MODES

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(900),  # see test_outages.py
    pytest.mark.parametrize("publish_mode", PUBLISH_MODES),
]


def redis_url(server) -> str:
    return f"redis://127.0.0.1:{server.port}/0"


def client_of(server) -> redis.Redis:
    return redis.Redis(host="127.0.0.1", port=server.port, decode_responses=True)


def assert_stored_once(scenario, ids, expected):
    duplicates = [i for i, n in Counter(ids).items() if n > 1]
    assert not duplicates
    assert len(ids) == expected
    assert scenario.pending_rows() == 0


@pytest.mark.both_databases
def test_storage_at_maxmemory_for_seconds_during_2000_saves_loses_and_duplicates_nothing(
    servers, scenarios
):
    storage = servers("storage", persistent=False, maxmemory_policy="noeviction")
    scenario = scenarios(redis_url(servers("broker")), storage_url=redis_url(storage))
    scenario.worker()
    client = scenario.client(2000, 0.002, "oom")
    time.sleep(1.5)
    control = client_of(storage)
    control.config_set("maxmemory", 1)  # every write now answers "OOM command not allowed"
    time.sleep(6)
    refused = control.info("stats")["total_error_replies"]
    control.config_set("maxmemory", 0)
    assert scenario.result(client)["failed"] == 0
    assert refused > 0  # the storage did refuse writes meanwhile
    ids = scenario.wait_settled(2000)
    assert_stored_once(scenario, ids, 2000)


def test_storage_read_only_until_promoted_loses_nothing(servers, scenarios):
    """A replica taking writes before its promotion (a failover) answers READONLY."""
    primary = servers("primary", persistent=False)
    storage = servers("storage", persistent=False)
    control = client_of(storage)
    control.replicaof("127.0.0.1", primary.port)
    scenario = scenarios(redis_url(servers("broker")), storage_url=redis_url(storage))
    scenario.worker()
    client = scenario.client(300, 0.005, "readonly")
    time.sleep(4)
    control.replicaof("NO", "ONE")
    assert scenario.result(client)["failed"] == 0
    ids = scenario.wait_settled(300)
    assert_stored_once(scenario, ids, 300)


@pytest.mark.both_databases
def test_diffs_of_a_model_the_running_worker_does_not_know_are_stored_once_one_does(
    servers, scenarios
):
    """Web processes deployed before the workers: the old worker keeps, the new one stores."""
    scenario = scenarios(redis_url(servers("broker")), FAULT_CLIENT_RESENDS="0")
    old = scenario.worker(FAULT_WITHOUT_APPS="tests.otherapp")
    web = [scenario.client(200, 0.002, "item:new"), scenario.client(200, 0.002, "known")]
    assert [scenario.result(client)["failed"] for client in web] == [0, 0]
    wait_until(lambda: scenario.pending_rows() == 200, timeout=60)  # the items: kept
    assert len(scenario.wait_stored(200, timeout=60)) == 200  # the questions: stored
    assert not list(scenario.storage.scan_iter(match=f"{scenario.prefix}:otherapp.item:*"))

    scenario.kill(old)
    scenario.worker()  # the new deploy: it knows otherapp.Item, and no beat runs
    ids = scenario.wait_settled(400)
    assert_stored_once(scenario, ids, 400)


def test_kept_diffs_drain_without_beat(servers, scenarios):
    """Over 500 diffs kept during a broker outage, no beat, a client that never resends."""
    broker = servers("broker")
    scenario = scenarios(redis_url(broker), FAULT_CLIENT_RESENDS="0")
    scenario.worker()
    broker.stop()
    client = scenario.client(800, 0.001, "no-beat")
    assert scenario.result(client)["failed"] == 0
    assert scenario.pending_rows() == 800  # every publish failed: all spooled
    broker.start()
    ids = scenario.wait_settled(800)  # only the workers' resend timer sends them
    assert_stored_once(scenario, ids, 800)
