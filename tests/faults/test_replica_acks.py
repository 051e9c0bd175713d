"""Acknowledged means replicated (``storage_replicas``): a master SIGKILLed right after writes
that the worker's code returned from loses none of them.

Batches go through :func:`diffs.storage.writer.write_batch` (the write task's store step) with
``storage_replicas: 1``: each returns only once a replica acknowledged it (``WAIT``). The master
is killed at once after the last one, its replica promoted (by the Sentinel, or by the Cluster
itself), and every diff written is read back from the promoted replica. A replica that does not
acknowledge in time makes the write a retry (the task keeps the diffs, never drops them).
"""

from __future__ import annotations

import os
import signal
from typing import Any

import pytest

from diffs.models import PendingDiff
from diffs.storage.keys import object_key
from diffs.storage.replicas import NotReplicated
from diffs.storage.writer import write_batch
from diffs.wire import diff_id
from diffs_tasks.tasks import write_diffs
from tests.payloads import batch, diff, member_ids
from tests.topology import settle

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

BATCHES = 40
PER_BATCH = 25
LABEL = "testapp.question"


@pytest.fixture
def acked(settings: Any) -> None:
    # Below the storage client's socket timeout (5 s), so a slow replica is NotReplicated.
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS, "storage_replicas": 1,
                               "storage_replicas_timeout": 3}


def in_sync(master: Any) -> bool:
    """Return whether ``master`` has a replica online and acknowledging (an earlier test may
    have left a restarted server still syncing)."""
    with master.client() as client:
        info = client.info("replication")
    replicas = [value for key, value in info.items() if key.startswith("slave")
                and isinstance(value, dict)]
    return any(found.get("state") == "online" and int(found.get("lag", 99)) <= 1
               for found in replicas)


def write_acknowledged() -> dict[int, str]:
    """Write BATCHES batches of PER_BATCH diffs (one object each); return pk -> diff id."""
    written = {}
    for n in range(BATCHES):
        made = [diff(pk=n * PER_BATCH + i + 1, new={"question_text": f"{n}-{i}"})
                for i in range(PER_BATCH)]
        assert write_batch(batch(*made)).written == PER_BATCH  # returned: acknowledged
        written.update((n * PER_BATCH + i + 1, diff_id(one)) for i, one in enumerate(made))
    return written


def missing(client: Any, written: dict[int, str]) -> list[int]:
    """Return the pks whose diff the storage behind ``client`` does not hold."""
    pipe = client.pipeline(transaction=False)
    for pk in written:
        pipe.zrange(object_key("diffs", LABEL, pk), 0, -1)
    return [pk for (pk, expected), members in zip(written.items(), pipe.execute(), strict=True)
            if member_ids(members) != [expected]]


@pytest.mark.usefixtures("acked")
def test_acknowledged_diffs_survive_the_sentinel_master_killed(sentinel_storage, redis_sentinel):
    settle(lambda: in_sync(redis_sentinel.current_master()), "the replica is in sync")
    written = write_acknowledged()
    promoted = redis_sentinel.kill_master()  # SIGKILL at once, then the Sentinel promotes
    with promoted.client() as client:
        assert missing(client, written) == []


@pytest.mark.usefixtures("acked")
def test_acknowledged_diffs_survive_a_cluster_master_killed(cluster_storage, redis_cluster):
    settle(lambda: all(in_sync(master) for master in redis_cluster.masters()),
           "every replica is in sync")
    written = write_acknowledged()
    master = redis_cluster.masters()[0]
    replica = redis_cluster.replica_of(master)
    master.kill()
    settle(lambda: redis_cluster.role(replica) == "master", "the cluster promoted the replica")
    redis_cluster.wait_ok()
    try:
        assert missing(cluster_storage, written) == []
    finally:
        master.start()  # it rejoins as the new master's replica
        settle(lambda: redis_cluster.role(master) == "slave", "the old master rejoined")
        redis_cluster.wait_ok()


@pytest.mark.usefixtures("acked", "eager")
def test_a_replica_that_does_not_acknowledge_makes_a_retry_not_a_loss(sentinel_storage,
                                                                      redis_sentinel, settings):
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS, "storage_replicas_timeout": 0.2}
    master = redis_sentinel.current_master()
    replica = redis_sentinel.replica if master is redis_sentinel.master else redis_sentinel.master
    assert replica.process is not None
    made = [diff(pk=n) for n in range(1, 6)]
    os.kill(replica.process.pid, signal.SIGSTOP)  # alive, answering nothing
    try:
        with pytest.raises(NotReplicated, match="0 of the 1 replicas"):
            write_batch(batch(*made))
        write_diffs.apply(args=(batch(*made),))  # eager: no retry, so it keeps them
    finally:
        os.kill(replica.process.pid, signal.SIGCONT)
    assert sorted(PendingDiff.objects.values_list("diff_id", flat=True)) == sorted(
        diff_id(one) for one in made)
