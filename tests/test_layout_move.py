"""``manage.py migrate_diffs_keys``: diffs stored in the layout before buckets are moved into it.

The old keys are made from real writes: diffs written in the bucketed layout, then renamed to
the old names (``diffs:<label>:<pk>``, one ``diffs:~due`` index) and the bucket indexes
dropped, which is what a storage written by an earlier version holds.
"""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from diffs.storage.keys import object_key
from diffs.storage.pruning import prune
from diffs.storage.writer import write_batch
from tests.payloads import batch, diff, member_ids
from tests.testapp.models import Question

HOUR = 3600
QUESTION = "testapp.question"


def legacy_storage(client) -> dict[str, list]:
    """Write some diffs, then turn the storage into what an earlier version left."""
    write_batch(batch(
        diff(1, QUESTION, {"name": "old"}, seconds_ago=2 * HOUR),
        diff(1, QUESTION, {"name": "new"}, seconds_ago=10),
        diff(2, "testapp.choice", {"name": "c"}, parents=((QUESTION, 1),), seconds_ago=20),
    ))
    before = {}
    for key in list(client.scan_iter("diffs:*")):
        if ":~" in key:
            client.delete(key)
            continue
        old = "diffs:" + key.split(":", 2)[2]
        client.rename(key, old)
        client.zadd("diffs:~due", {old: 0})
        before[old] = client.zrange(old, 0, -1, withscores=True)
    return before


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("migrate_diffs_keys", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_old_keys_are_moved_and_read_pruned_and_indexed_as_new_ones(storage):
    before = legacy_storage(storage)
    assert len(Question.diffs.get_by_object_id(1)) == 0  # not read in the old layout
    assert "2 old keys with 4 diffs would be moved" in run("--dry-run")
    assert set(storage.scan_iter("diffs:*")) == {*before, "diffs:~due"}
    assert "Moved 2 old keys with 4 diffs" in run()
    assert storage.zrange(object_key("diffs", QUESTION, 1), 0, -1, withscores=True) == before[
        "diffs:testapp.question:1"]
    assert not any(storage.exists(key) for key in before) and not storage.exists("diffs:~due")
    assert 0 < storage.ttl(object_key("diffs", QUESTION, 1)) <= HOUR
    assert Question.diffs.get_by_object_id(1)[0].new == {"name": "old"}
    assert prune().members_removed == 1  # the moved keys are in the bucket indexes
    assert [d.new["name"] for d in Question.diffs.get_by_object_id(1)] == ["c", "new"]
    assert "Moved 0 old keys" in run()  # running it again changes nothing


def test_a_move_that_stopped_half_way_is_finished_by_running_again(storage):
    before = legacy_storage(storage)
    half = "diffs:testapp.question:1"
    storage.zadd(object_key("diffs", QUESTION, 1), dict(before[half]))  # copied, not deleted
    run()
    assert member_ids(storage.zrange(object_key("diffs", QUESTION, 1), 0, -1)) == member_ids(
        [member for member, _ in before[half]])
