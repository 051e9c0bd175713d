"""The same recording, reads, pruning and wake-ups on one server, a Redis Cluster and Sentinel.

Each test runs on the three kinds of storage (``any_storage``): only ``DIFFS_SETTINGS["redis"]``
changes. The cluster's keys of one object and its bucket's index share a slot, a diff and its
parents' keys are in different ones: the writes and prunes below cross every master.
"""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from diffs.conf import diffs_settings
from diffs.reading.diffset import DiffSet
from diffs.reading.modelfeed import ModelFeed
from diffs.reading.page import Page
from diffs.registry import _by_label
from diffs.storage import store
from diffs.storage.connection import aclose_async_redis, get_async_redis, get_redis
from diffs.storage.keys import BUCKETS, bucket_of, object_key, object_name, resend_lock_key
from diffs.storage.notify import subscribed
from diffs.storage.pruning import prune
from diffs.storage.writer import write_batch
from diffs.testing import isolated, recorded
from diffs.web import hub
from diffs.wire import diff_id
from tests.integration.conftest import stored
from tests.payloads import batch, diff, member_ids, store_aged
from tests.sse import Reader, read_sync
from tests.testapp.models import Choice, Question

HOUR = 3600
QUESTION = "testapp.question"
NOTE = "testapp.note"  # registered with max_element_age=60


def put(label: str, pk: int, seconds_ago: float) -> str:
    """Store one diff of ``label`` ``pk`` as if it had arrived ``seconds_ago``; return its id."""
    made = diff(pk, label, {"name": "x"}, seconds_ago=seconds_ago)
    assert store_aged(made) == 1
    return diff_id(made)


def ids(client, label: str, pk: int) -> list[str]:
    return member_ids(client.zrange(object_key("diffs", label, pk), 0, -1))


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("delivery")
def test_recording_roll_up_reads_and_deltas(any_storage):
    question = Question.objects.create(question_text="Before")
    choices = [Choice.objects.create(question=question, choice_text=f"c{n}") for n in range(8)]
    question.question_text = "After"
    question.save()
    history = stored(question.diffs, 10)  # its own 2 and 8 rolled up from its choices
    assert [d.model for d in history].count("testapp.choice") == 8
    buckets = {bucket_of(object_name("testapp.choice", c.pk)) for c in choices}
    assert len(buckets) > 1  # the children's keys are in other slots than the parent's
    (created,) = stored(choices[0].diffs, 1)
    assert created.created
    last = history[-1]
    assert list(question.diffs.since(history[0].timestamp))[-1] == last
    assert question.diffs.delta(history[0].timestamp).new_record == last
    assert len(Question.diffs.get_by_object_id(question.pk)) == 10


def test_every_bucket_is_written_and_pruned(any_storage):
    pks = []
    pk = 0
    while len({bucket_of(object_name(QUESTION, p)) for p in pks}) < BUCKETS:
        pk += 1
        pks.append(pk)
    store_aged(*[diff(p, QUESTION, {"name": "x"}, seconds_ago=2 * HOUR) for p in pks])
    write_batch(batch(*[diff(p, QUESTION, {"name": "y"}) for p in pks[:10]]))
    result = prune(batch_keys=3, batch_members=5)
    assert (result.members_removed, result.keys_deleted) == (len(pks), len(pks) - 10)
    assert all(len(ids(any_storage, QUESTION, p)) == 1 for p in pks[:10])
    assert prune().keys_scanned == 0


def test_lowered_max_element_age_setting_prunes_what_was_written_under_the_old_one(
    any_storage, settings
):
    old = put(QUESTION, 1, 1800)  # half the hour it was written under
    kept = put(QUESTION, 1, 60)
    assert prune().members_removed == 0
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS, "max_element_age": 600}
    dry = prune(dry_run=True)
    assert (dry.keys_scanned, dry.members_removed) == (1, 1)
    assert prune().members_removed == 1
    assert old not in ids(any_storage, QUESTION, 1)
    assert ids(any_storage, QUESTION, 1) == [kept]


def test_lowered_max_element_age_of_a_model_prunes_what_was_written_under_the_old_one(
    any_storage, monkeypatch
):
    registered = _by_label[NOTE]
    monkeypatch.setitem(_by_label, NOTE, dataclasses.replace(registered, max_element_age=HOUR))
    put(NOTE, 1, 600)  # written while Note kept its diffs for an hour
    assert prune().members_removed == 0
    monkeypatch.setitem(_by_label, NOTE, registered)  # now Note keeps them 60 seconds
    assert prune().members_removed == 1
    assert not any_storage.exists(object_key("diffs", NOTE, 1))


def test_a_write_wakes_a_waiting_reader(any_storage):
    key = object_key("diffs", QUESTION, 5)

    async def wait_for_a_write() -> bool:
        try:
            async with subscribed(get_async_redis(), diffs_settings.key_prefix) as subscription:
                made = batch(diff(5, QUESTION, {"name": "x"}))
                await asyncio.get_running_loop().run_in_executor(None, write_batch, made)
                return await subscription.wait_for(key, 10)
        finally:
            await aclose_async_redis()

    assert asyncio.run(wait_for_a_write())


def test_the_shared_subscription_wakes_the_watches_of_a_write(any_storage):
    key = object_key("diffs", QUESTION, 6)

    async def wait_for_a_write() -> list[bool]:
        try:
            shared = hub.get_hub()
            async with shared.watching([key]) as watch, shared.watching(["other"]) as other:
                made = batch(diff(6, QUESTION, {"name": "x"}))
                await asyncio.get_running_loop().run_in_executor(None, write_batch, made)
                return [await watch.wait(10), await other.wait(0.2)]
        finally:
            await hub.aclose_hub()
            await aclose_async_redis()

    assert asyncio.run(wait_for_a_write()) == [True, False]


def anyone(request, model, pk):
    return True


def test_an_event_stream_sends_what_is_stored_and_what_comes(any_storage, client, settings):
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS,
                               "feed_permission": "tests.integration.test_storage_kinds.anyone"}
    write_batch(batch(diff(7, QUESTION, {"name": "first"})))
    response = client.get(f"/diffs/{QUESTION}/7/", headers={"Accept": "text/event-stream"})
    chunks = iter(response.streaming_content)
    reader = read_sync(chunks, Reader(), lambda reader: len(reader.diffs) == 1)
    write_batch(batch(diff(7, QUESTION, {"name": "second"})))  # wakes the waiting stream
    read_sync(chunks, reader, lambda reader: len(reader.diffs) == 2)
    response.close()
    assert [event.diff["new"]["name"] for event in reader.diffs] == ["first", "second"]


def test_async_reads_see_what_the_worker_wrote(any_storage):
    put(QUESTION, 3, 10)
    put(QUESTION, 3, 5)

    async def read() -> int:
        try:
            return await store.acount(get_async_redis(), object_key("diffs", QUESTION, 3))
        finally:
            await aclose_async_redis()

    assert asyncio.run(read()) == 2


def test_everything_under_a_prefix_can_be_deleted(any_storage, settings):
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS, "key_prefix": "own"}
    for pk in range(50):
        write_batch(batch(diff(pk, "testapp.choice", {"name": "x"}, parents=((QUESTION, 1),))))
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS, "key_prefix": "diffs"}
    kept = put(QUESTION, 1, 0)
    written = list(any_storage.scan_iter("own:*"))
    assert len(written) > 51  # the objects' keys, their indexes and labels sets
    assert store.delete_prefix(get_redis(), "own") == len(written)
    assert list(any_storage.scan_iter("own:*")) == []
    assert ids(any_storage, QUESTION, 1) == [kept]


def test_pages_read_the_same_sync_and_async(any_storage):
    for seconds_ago in range(30, 0, -1):
        put(QUESTION, 4, seconds_ago)
    history = DiffSet(QUESTION, 4)
    first = history.page(limit=20)
    second = history.page(first.end(None), limit=20)
    assert (len(first.diffs), first.more, len(second.diffs), second.more) == (20, True, 10, False)

    async def pages() -> list[Page]:
        try:
            start = await history.apage(limit=20)
            return [start, await history.apage(start.end(None), limit=20)]
        finally:
            await aclose_async_redis()

    assert asyncio.run(pages()) == [first, second]


@pytest.mark.django_db(transaction=True)
def test_the_testing_kit_writes_and_deletes_its_prefix_on_each_kind(any_storage):
    with isolated() as block:
        question = Question.objects.create(question_text="in a test")
        assert recorded(question)[0].new["question_text"] == "in a test"
        assert list(any_storage.scan_iter(f"{block.prefix}:*"))
    assert list(any_storage.scan_iter(f"{block.prefix}:*")) == []


def test_the_resend_lock_is_held_by_one_caller(any_storage):
    lock = resend_lock_key("diffs")
    assert store.claim(get_redis(), lock, 5)
    assert not store.claim(get_redis(), lock, 5)
    assert 0 < any_storage.pttl(lock) <= 5000
    any_storage.delete(lock)
    assert store.claim(get_redis(), lock, 5)


def test_a_model_feed_is_written_paged_and_pruned(any_storage):
    """Tickets fall in many buckets (slots); their model's feed is in a slot of its own."""
    pks = range(1, 41)
    assert len({bucket_of(object_name("testapp.ticket", pk)) for pk in pks}) > 1
    made = [diff(pk, "testapp.ticket", {"title": "x"}) for pk in pks]
    assert write_batch(batch(*made[:20])).written == 20
    assert write_batch(batch(*made[20:])).written == 20
    feed, seen, after = ModelFeed("testapp.ticket"), [], None
    while True:
        page = feed.page(after, limit=7)
        seen += [(d.id, d.pk) for d in page.diffs]
        after = page.end(after)
        if not page.more:
            break
    assert seen == [(m["i"], m["p"]) for m in made]
    assert any_storage_feed_size(feed) == 40
    assert prune(max_age=0).members_removed >= 80  # each object's key, and the feed
    assert any_storage_feed_size(feed) == 0


def any_storage_feed_size(feed: ModelFeed) -> int:
    return int(get_redis().zcard(feed.key))
