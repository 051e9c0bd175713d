"""Pruning: TTLs and the due index on write, the prune itself, its command and its task.

Old diffs are stored as if they had arrived at their change times
(``tests.payloads.store_aged``: the worker's check, then the write script with those scores),
so no test waits for time to pass.
"""

from __future__ import annotations

import io
import threading
import time
from typing import Any

import pytest
import redis
from django.core.management import CommandError, call_command

from diffs.storage.keys import bucket_of, index_key, object_key, object_name
from diffs.storage.pruning import prune
from diffs.wire import diff_id
from diffs_tasks.tasks import prune_diffs
from tests.payloads import diff, member_ids, store_aged

HOUR = 3600
QUESTION = "testapp.question"
CHOICE = "testapp.choice"
NOTE = "testapp.note"  # registered with max_element_age=60
PLAIN = "testapp.plain"  # not registered: a parent of it uses the setting


def put(label: str, pk: int, seconds_ago: float, parents: tuple[tuple[str, int], ...] = ()) -> str:
    """Write one diff of ``label`` ``pk`` made ``seconds_ago``; return its id."""
    made = diff(pk, label, {"name": "x"}, parents=parents, seconds_ago=seconds_ago)
    assert store_aged(made) >= 1
    return diff_id(made)


def ids(client: redis.Redis, label: str, pk: int) -> list[str]:
    """Return the ids of the diffs held in one object's key, oldest first."""
    return member_ids(client.zrange(object_key("diffs", label, pk), 0, -1))


def key(label: str, pk: int) -> str:
    return object_key("diffs", label, pk)


def index_of(label: str, pk: int) -> str:
    """Return the prune index that holds the key of ``label`` ``pk``."""
    return index_key("diffs", bucket_of(object_name(label, pk)), label)


def indexed(client: redis.Redis, label: str, pk: int) -> float | None:
    """Return the index score of the key of ``label`` ``pk`` (None: not indexed)."""
    return client.zscore(index_of(label, pk), key(label, pk))


def index_entries(client: redis.Redis) -> list[str]:
    """Return every object key in any prune index (the test's own Redis: SCAN is fine)."""
    return sorted(k for index in client.scan_iter("diffs:*:~due:*")
                  for k in client.zrange(index, 0, -1))


def snapshot(client: redis.Redis) -> dict[str, Any]:
    """Return every key with its members and scores (the test's own Redis: SCAN is fine)."""
    return {k: client.smembers(k) if client.type(k) == "set" else
            client.zrange(k, 0, -1, withscores=True) for k in sorted(client.scan_iter())}


def assert_index_consistent(client: redis.Redis) -> None:
    """Every object key is in its index, scored no later than its oldest member."""
    for name in client.scan_iter("diffs:*"):
        if ":~" in name:
            continue
        _, _, label, pk = name.split(":")
        score = client.zscore(index_of(label, int(pk)), name)
        oldest = client.zrange(name, 0, 0, withscores=True)[0][1]
        assert score is not None and score <= oldest, name


# --- the write path: TTL and index -------------------------------------------------------


def test_write_gives_each_key_a_ttl_of_its_models_max_age(storage):
    put(NOTE, 1, 0)
    put(CHOICE, 1, 0, parents=((QUESTION, 1), (PLAIN, 1)))
    assert 55 <= storage.ttl(key(NOTE, 1)) <= 60
    for name in (key(CHOICE, 1), key(QUESTION, 1), key(PLAIN, 1)):
        assert HOUR - 5 <= storage.ttl(name) <= HOUR


def test_write_refreshes_the_ttl(storage):
    put(QUESTION, 1, 0)
    storage.expire(key(QUESTION, 1), 10)
    put(QUESTION, 1, 0)
    assert storage.ttl(key(QUESTION, 1)) > HOUR - 5


def test_write_indexes_each_key_by_its_oldest_member_in_its_models_index(storage):
    put(CHOICE, 1, 100, parents=((QUESTION, 1),))
    put(NOTE, 1, 10)
    oldest = storage.zrange(key(CHOICE, 1), 0, 0, withscores=True)[0][1]
    assert indexed(storage, CHOICE, 1) == oldest
    assert indexed(storage, QUESTION, 1) == oldest
    note_oldest = storage.zrange(key(NOTE, 1), 0, 0, withscores=True)[0][1]
    assert indexed(storage, NOTE, 1) == note_oldest


def test_late_write_of_an_older_diff_makes_its_key_due_earlier(storage):
    put(QUESTION, 1, 10)
    put(QUESTION, 1, 2 * HOUR)  # a redelivered task, long delayed
    assert indexed(storage, QUESTION, 1) < time.time() - HOUR
    put(QUESTION, 1, 0)  # a newer diff does not move it later
    assert indexed(storage, QUESTION, 1) < time.time() - HOUR


# --- prune --------------------------------------------------------------------------------


def test_prune_removes_expired_members_and_keeps_fresh_ones_in_object_and_parent_keys(storage):
    put(CHOICE, 1, 2 * HOUR, parents=((QUESTION, 1),))
    fresh_question = put(QUESTION, 1, 60)
    fresh_choice = put(CHOICE, 1, 30, parents=((QUESTION, 1),))
    result = prune()
    assert ids(storage, CHOICE, 1) == [fresh_choice]
    assert ids(storage, QUESTION, 1) == [fresh_question, fresh_choice]
    assert (result.keys_scanned, result.members_removed, result.keys_deleted) == (2, 2, 0)


def test_prune_deletes_keys_left_empty_and_their_index_entries(storage):
    put(CHOICE, 1, 2 * HOUR, parents=((QUESTION, 1),))
    put(QUESTION, 2, 0)
    result = prune()
    assert not storage.exists(key(CHOICE, 1), key(QUESTION, 1))
    assert index_entries(storage) == [key(QUESTION, 2)]
    assert (result.keys_scanned, result.members_removed, result.keys_deleted) == (2, 2, 2)


def test_prune_rescores_a_key_by_its_new_oldest_member(storage):
    put(QUESTION, 1, 2 * HOUR)
    put(QUESTION, 1, 100)
    prune()
    oldest = storage.zrange(key(QUESTION, 1), 0, 0, withscores=True)[0][1]
    assert indexed(storage, QUESTION, 1) == oldest


def test_prune_visits_only_keys_that_are_due(storage):
    for pk in range(20):
        put(QUESTION, pk, 10)
    put(QUESTION, 99, 2 * HOUR)
    result = prune()
    assert (result.keys_scanned, result.members_removed) == (1, 1)


def test_prune_honours_the_models_max_element_age(storage):
    note = put(NOTE, 1, 120)  # older than Note's 60 seconds
    question = put(QUESTION, 1, 120)  # younger than the setting's hour
    prune()
    assert note not in ids(storage, NOTE, 1)
    assert ids(storage, QUESTION, 1) == [question]


def test_parent_key_of_an_unregistered_model_uses_the_setting(storage, settings):
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS, "max_element_age": 100}
    put(CHOICE, 1, 150, parents=((PLAIN, 1),))
    kept = put(CHOICE, 1, 50, parents=((PLAIN, 1),))
    prune()
    assert ids(storage, PLAIN, 1) == [kept]


def test_parent_key_uses_the_parent_models_max_age(storage):
    put(QUESTION, 1, 120, parents=((NOTE, 1),))  # expired for the Note parent only
    prune()
    assert len(ids(storage, QUESTION, 1)) == 1
    assert not storage.exists(key(NOTE, 1))


def test_key_expired_by_its_ttl_leaves_the_index_at_the_next_prune(storage):
    put(QUESTION, 1, 2 * HOUR)
    storage.delete(key(QUESTION, 1))  # what the key's TTL does
    result = prune()
    assert index_entries(storage) == []
    assert (result.keys_scanned, result.keys_deleted) == (1, 0)


def test_max_age_overrides_every_models_age_for_one_run(storage):
    put(QUESTION, 1, 120)
    kept = put(QUESTION, 1, 10)
    put(NOTE, 1, 30)  # younger than Note's 60 s, older than the override
    result = prune(max_age=20)
    assert ids(storage, QUESTION, 1) == [kept]
    assert not storage.exists(key(NOTE, 1))
    assert (result.members_removed, result.keys_deleted) == (2, 1)
    assert prune().members_removed == 0  # the index still leads a normal prune right


def test_max_age_zero_removes_everything(storage):
    put(CHOICE, 1, 10, parents=((QUESTION, 1),))
    put(QUESTION, 2, 0)
    prune(max_age=0)
    # The index entries and labels of the keys went too; the prune's note for diffs_status stays.
    assert storage.keys("diffs:*") == ["diffs:~pruned"]


@pytest.mark.parametrize("max_age", [None, 20])
def test_dry_run_counts_what_would_go_and_changes_nothing(storage, max_age):
    put(CHOICE, 1, 2 * HOUR, parents=((QUESTION, 1),))
    put(QUESTION, 1, 60)
    put(NOTE, 1, 120)
    put(QUESTION, 2, 10)  # not due
    before = snapshot(storage)
    result = prune(dry_run=True, max_age=max_age, batch_keys=1)
    assert snapshot(storage) == before
    assert result.dry_run
    expected = prune(max_age=max_age)
    assert (result.keys_scanned, result.members_removed, result.keys_deleted) == (
        expected.keys_scanned, expected.members_removed, expected.keys_deleted
    )


@pytest.mark.parametrize("max_age", [None, 100])
def test_small_batches_prune_the_same_as_one_big_batch(storage, max_age):
    for pk in range(30):
        put(QUESTION, pk, 2 * HOUR)
        put(QUESTION, pk, 10)
    for _ in range(25):  # one key with more expired members than a batch may remove
        put(CHOICE, 1, 2 * HOUR, parents=((QUESTION, 1),))
    result = prune(max_age=max_age, batch_keys=4, batch_members=7)
    assert result.members_removed == 30 + 50
    assert all(len(ids(storage, QUESTION, pk)) == 1 for pk in range(30))
    assert not storage.exists(key(CHOICE, 1))


def test_two_prunes_and_writes_at_once_leave_every_key_indexed(storage):
    for pk in range(200):
        put(CHOICE, pk, 2 * HOUR, parents=((QUESTION, pk % 10),))
        put(QUESTION, pk, 2 * HOUR)
    stop = threading.Event()
    written: list[str] = []

    def keep_writing() -> None:
        while not stop.is_set():
            pk = len(written) % 200
            written.append(put(CHOICE, pk, 0, parents=((QUESTION, pk % 10),)))

    def prune_in_small_batches() -> None:
        prune(batch_keys=5, batch_members=3)

    threads = [threading.Thread(target=target) for target in (keep_writing, prune_in_small_batches)]
    pruners = [threading.Thread(target=prune_in_small_batches) for _ in range(2)]
    for thread in threads + pruners:
        thread.start()
    for thread in pruners + threads[1:]:
        thread.join()
    stop.set()
    threads[0].join()
    assert written
    assert prune().members_removed == 0  # nothing expired was left behind
    remaining = {i for k in storage.scan_iter("diffs:{*}:testapp.*")
                 for i in member_ids(storage.zrange(k, 0, -1))}
    assert remaining == set(written)
    assert_index_consistent(storage)


# --- the command --------------------------------------------------------------------------


class Terminal(io.StringIO):
    """Output that says it is a terminal, as a user's shell is."""

    def isatty(self) -> bool:
        return True


def test_command_prints_a_summary(storage):
    put(CHOICE, 1, 2 * HOUR, parents=((QUESTION, 1),))
    out = io.StringIO()
    call_command("prune_diffs", stdout=out)
    assert out.getvalue().startswith(
        "Pruned: 2 keys scanned, 2 members removed, 2 keys deleted in "
    )
    assert "\r" not in out.getvalue()


def test_command_dry_run_says_what_would_go(storage):
    put(QUESTION, 1, 2 * HOUR)
    out = io.StringIO()
    call_command("prune_diffs", "--dry-run", stdout=out)
    assert out.getvalue().startswith(
        "Dry run: 1 keys scanned, 1 members would be removed, 1 keys would be deleted in "
    )
    assert out.getvalue().rstrip().endswith("nothing was changed.")
    assert storage.exists(key(QUESTION, 1))


def test_command_max_age_overrides_the_models_ages(storage):
    put(QUESTION, 1, 30)
    call_command("prune_diffs", "--max-age", "20", stdout=io.StringIO())
    assert not storage.exists(key(QUESTION, 1))


def test_command_draws_a_progress_line_on_a_terminal(storage, monkeypatch):
    monkeypatch.setattr("diffs.management.commands.prune_diffs.PROGRESS_EVERY", 0)
    for pk in range(5):
        put(QUESTION, pk, 2 * HOUR)
    out = Terminal()
    call_command("prune_diffs", stdout=out)
    progress, summary = out.getvalue().rsplit("\r\033[K", 1)
    assert "\r5 keys scanned, 5 members" in progress
    assert summary.startswith("Pruned: 5 keys scanned, 5 members removed, 5 keys deleted in ")


def test_command_fails_with_a_command_error_when_redis_is_down(settings):
    settings.DIFFS_SETTINGS = {
        **settings.DIFFS_SETTINGS, "redis": {"url": "redis://127.0.0.1:1/0", "socket_timeout": 1},
    }
    with pytest.raises(CommandError, match="Start Redis or correct DIFFS_SETTINGS"):
        call_command("prune_diffs")


# --- the task and its schedule ------------------------------------------------------------


def test_prune_task_skips_the_run_when_redis_is_down(settings, eager):
    settings.DIFFS_SETTINGS = {
        **settings.DIFFS_SETTINGS, "redis": {"url": "redis://127.0.0.1:1/0", "socket_timeout": 1},
    }
    assert prune_diffs.delay().get() is None


