"""A master of the storage fails over while a real worker writes: every diff stored once.

The worker (in-process, ``worker`` fixture) keeps writing while a cluster master hands over to
its replica (``CLUSTER FAILOVER``: the client follows ``MOVED``), or while the Sentinel's
master is killed and its replica promoted (the write task retries until the Sentinel names the
new master). Afterwards each object's key holds each of its diffs exactly once, in the order
of the changes.
Several worker processes with prefork pools on the cluster: the same.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from diffs import wire
from diffs.storage.keys import object_key
from tests import payloads
from tests.conftest import wait_until
from tests.testapp.models import Choice, Question

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True),
              pytest.mark.usefixtures("worker")]

OBJECTS = 6
SAVES = 40


def write_during(fault: Callable[[], Any], client: Any) -> None:
    """Save OBJECTS choices SAVES times each (and roll up to one question) while ``fault``
    happens; then check every diff is stored once and, in change order, in the order of the
    saves."""
    question = Question.objects.create(question_text="parent")
    choices = [Choice.objects.create(question=question, choice_text="0") for _ in range(OBJECTS)]
    half = threading.Event()

    def save_all() -> None:
        try:
            for n in range(1, SAVES + 1):
                for choice in choices:
                    choice.choice_text = str(n)
                    choice.save()
                if n == SAVES // 2:
                    half.set()
        finally:
            connection.close()  # the thread's own connection, before the test database goes

    saver = threading.Thread(target=save_all)
    saver.start()
    half.wait(60)
    fault()
    saver.join(120)
    expected = 1 + SAVES  # each choice: its create, then every save
    keys = [object_key("diffs", "testapp.choice", choice.pk) for choice in choices]
    parent = object_key("diffs", "testapp.question", question.pk)
    wait_until(lambda: all(client.zcard(key) == expected for key in keys)
               and client.zcard(parent) == 1 + OBJECTS * expected, timeout=120)
    for key in keys:
        members = client.zrange(key, 0, -1)
        ids = payloads.member_ids(members)
        assert len(ids) == len(set(ids)) == expected
        # In change order (a diff's id holds its change time) the saves come in the order they
        # were made. The stored order may differ: a batch retried across the failover is stored
        # after later ones, and a feed's cursor gives it to clients then (arrival order).
        stored = sorted((found for found in wire.decode_members(members) if found),
                        key=lambda found: (wire.id_micros(found.id), found.id))
        assert stored[0].created
        assert [found.new["choice_text"] for found in stored[1:]] == [
            str(n) for n in range(1, SAVES + 1)]


def test_a_cluster_master_failing_over_during_writes_loses_and_repeats_nothing(
    cluster_storage, redis_cluster
):
    def fail_over() -> None:
        redis_cluster.fail_over(redis_cluster.masters()[0])

    write_during(fail_over, cluster_storage)


def test_the_sentinel_master_killed_during_writes_loses_and_repeats_nothing(
    sentinel_storage, redis_sentinel
):
    write_during(redis_sentinel.kill_master, sentinel_storage)
