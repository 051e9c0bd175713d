"""Server-Sent Events of the feed, and the process's shared subscription (diffs.web.hub).

Streams are read through Django's test clients: the async one (an ``ASGIRequest``: the async
stream) and the sync one (WSGI: the sync stream in a loop of its own). Real servers are in
tests/e2e/test_stream_servers.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest
import redis
from asgiref.sync import sync_to_async
from django.db import connections

from diffs import wire
from diffs.storage.connection import aclose_async_redis
from diffs.storage.writer import write_batch
from diffs.web import cursor, hub, stream
from tests.conftest import STORAGE_DB
from tests.payloads import batch, diff
from tests.sse import Reader, read_async, read_sync

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("storage")]

URL = "/diffs/testapp.question/{}/"
STREAM = {"Accept": "text/event-stream"}
#: Who may read, for the permission test: the stream asks again before each batch.
allowed = {"now": True}


def anyone(request, model, pk):
    return allowed["now"]


@pytest.fixture
def open_feed(settings):
    """Let every request read the feed (access rules are tested in test_feed.py)."""
    allowed["now"] = True
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS,
                               "feed_permission": "tests.integration.test_stream.anyone"}
    yield
    allowed["now"] = True


def _write(*diffs):
    write_batch(batch(*diffs))
    return [d[wire.ID] for d in diffs]


def _run(scenario):
    """Run ``scenario()`` in a loop of its own, closing what the loop opened."""

    async def go():
        try:
            return await scenario()
        finally:
            await hub.aclose_hub()
            await aclose_async_redis()
            await sync_to_async(connections.close_all)()

    return asyncio.run(go())


def _has(count):
    return lambda reader: len(reader.diffs) >= count


@pytest.mark.usefixtures("open_feed")
def test_async_stream_sends_what_is_stored_then_each_new_diff(async_client):
    first = _write(diff(1, seconds_ago=2), diff(1, seconds_ago=1))

    async def scenario():
        response = await async_client.get(URL.format(1), headers=STREAM)
        assert response["Content-Type"] == "text/event-stream"
        chunks = aiter(response.streaming_content)
        reader = await read_async(chunks, Reader(), _has(2))
        later = await asyncio.to_thread(_write, diff(1, new={"question_text": "later"}))
        await read_async(chunks, reader, _has(3))
        await chunks.aclose()  # the client went away: the stream lets go of its watch
        return reader, later

    reader, later = _run(scenario)
    assert reader.events[0].retry is not None  # the first block says how soon to reconnect
    assert [event.diff["id"] for event in reader.diffs] == first + later
    assert reader.diffs[2].diff["new"] == {"question_text": "later"}


@pytest.mark.usefixtures("open_feed")
def test_each_event_id_resumes_right_after_its_diff(client):
    ids = _write(diff(1, seconds_ago=3), diff(1, seconds_ago=2), diff(1, seconds_ago=1))
    response = client.get(URL.format(1), headers=STREAM)
    events = read_sync(iter(response.streaming_content), Reader(), _has(3)).diffs
    response.close()
    resumed = client.get(URL.format(1), headers={**STREAM, "Last-Event-ID": events[0].id})
    again = read_sync(iter(resumed.streaming_content), Reader(), _has(2)).diffs
    resumed.close()
    assert [event.diff["id"] for event in again] == ids[1:]
    # the same cursor as the JSON feed's: it pages the JSON feed too
    body = client.get(URL.format(1), {"cursor": events[1].id}).json()
    assert [d["id"] for d in body["diffs"]] == ids[2:]


@pytest.mark.usefixtures("open_feed")
def test_cursor_parameter_wins_over_last_event_id(client):
    ids = _write(diff(1, seconds_ago=2), diff(1, seconds_ago=1))
    start = client.get(URL.format(1), {"limit": 1}).json()["cursor"]
    response = client.get(URL.format(1), {"cursor": start},
                          headers={**STREAM, "Last-Event-ID": "not a cursor"})
    events = read_sync(iter(response.streaming_content), Reader(), _has(1)).diffs
    response.close()
    assert [event.diff["id"] for event in events] == ids[1:]


@pytest.mark.usefixtures("open_feed")
def test_sync_stream_sends_heartbeats_and_ends_with_retry(client, settings):
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS, "feed_sse_heartbeat": 0.05,
                               "feed_sse_max_duration": 0.5}
    _write(diff(1))
    response = client.get(URL.format(1), headers=STREAM)
    reader = read_sync(iter(response.streaming_content), Reader(), lambda reader: False)
    assert len(reader.diffs) == 1
    assert "keep-alive" in [c for event in reader.events for c in event.comments]
    assert reader.events[-1].retry is not None  # ended (the iterator ran out) with retry:


@pytest.mark.usefixtures("open_feed")
def test_bad_last_event_id_or_delta_on_a_stream_is_a_400(client):
    assert client.get(URL.format(1), headers={**STREAM, "Last-Event-ID": "x"}).status_code == 400
    assert client.get(URL.format(1), {"delta": "1"}, headers=STREAM).status_code == 400


def test_without_permission_a_stream_is_a_403(client):
    assert client.get(URL.format(1), headers=STREAM).status_code == 403


@pytest.mark.usefixtures("open_feed")
def test_a_stream_ends_before_the_next_batch_once_the_permission_is_gone(client):
    _write(diff(1, seconds_ago=1))
    response = client.get(URL.format(1), headers=STREAM)
    chunks = iter(response.streaming_content)
    reader = read_sync(chunks, Reader(), _has(1))
    allowed["now"] = False
    time.sleep(stream.PERMISSION_TTL)  # the stream asks again before its next batch
    _write(diff(1))
    read_sync(chunks, reader, lambda reader: False)  # to its end: bounded by the check
    assert len(reader.diffs) == 1
    assert reader.events[-1].retry is not None


@pytest.mark.usefixtures("open_feed")
def test_a_stream_of_a_storage_that_stops_answering_ends_with_retry(client, settings):
    response = client.get(URL.format(1), headers=STREAM)
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS,
                               "redis": {"url": "redis://127.0.0.1:1/0", "socket_timeout": 0.5}}
    reader = read_sync(iter(response.streaming_content), Reader(), lambda reader: False)
    assert reader.diffs == []
    assert reader.events[-1].retry is not None


def _subscribers(storage):
    """Return the ids of the storage database's subscribed clients.

    The session's redis-server is the Celery broker too (another database): once the session's
    worker runs, its broadcast subscription is a subscribed client of the same server, and
    killing it would make the worker reconnect (see ``celery_worker_session``).
    """
    return {client["id"] for client in storage.client_list(_type="pubsub")
            if client["db"] == str(STORAGE_DB)}


def test_every_watch_of_a_loop_shares_one_subscription(storage):
    before = _subscribers(storage)

    async def scenario():
        async with contextlib.AsyncExitStack() as stack:
            watches = [await stack.enter_async_context(hub.get_hub().watching([f"key-{n}"]))
                       for n in range(20)]
            opened = await asyncio.to_thread(_subscribers, storage) - before
            await asyncio.to_thread(storage.publish, "diffs:~written", '["key-3","key-7"]')
            woken = [n for n, watch in enumerate(watches) if await watch.wait(0.5 if n in (3, 7)
                                                                               else 0)]
        return opened, woken

    opened, woken = _run(scenario)
    assert len(opened) == 1
    assert woken == [3, 7]


def test_after_a_lost_subscription_every_watch_is_woken_and_announcements_reach_it(storage):
    before = _subscribers(storage)

    async def scenario():
        shared = hub.get_hub()
        async with shared.watching(["a"]) as watch:
            (ours,) = await asyncio.to_thread(_subscribers, storage) - before
            await asyncio.to_thread(storage.client_kill_filter, _id=ours)  # the hub's only
            assert await watch.wait(30)  # re-read: what was written meanwhile is not missed
            while not shared.subscribed or not await _numsub(storage):
                await watch.wait(0.05)
            await asyncio.to_thread(storage.publish, "diffs:~written", '["a"]')
            return await watch.wait(30)

    assert _run(scenario)


async def _numsub(storage):
    return (await asyncio.to_thread(storage.pubsub_numsub, "diffs:~written"))[0][1]


def test_a_watch_while_the_storage_does_not_answer_raises_a_redis_error(settings):
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS,
                               "redis": {"url": "redis://127.0.0.1:1/0", "socket_timeout": 0.5}}

    async def scenario():
        with pytest.raises(redis.RedisError):
            async with hub.get_hub().watching(["a"]):
                pass

    _run(scenario)


def test_cursor_of_an_event_decodes_to_its_diffs_position(open_feed, client):
    written = diff(1)
    _write(written)
    response = client.get(URL.format(1), headers=STREAM)
    event = read_sync(iter(response.streaming_content), Reader(), _has(1)).diffs[0]
    response.close()
    assert cursor.decode("testapp.question", 1, event.id)[1] == written[wire.ID]


# -- a model's feed, and filters ------------------------------------------------------------------

TICKETS = "/diffs/testapp.ticket/"


def even_tickets(request, model, pks):
    return [pk for pk in pks if int(pk) % 2 == 0]


def _tickets(*pks):
    return _write(*(diff(pk, "testapp.ticket", {"title": f"t{pk}"}) for pk in pks))


@pytest.mark.usefixtures("open_feed")
def test_a_model_feed_streams_the_diffs_of_every_object_and_resumes(client):
    ids = _tickets(1, 2, 3)
    response = client.get(TICKETS, headers=STREAM)
    events = read_sync(iter(response.streaming_content), Reader(), _has(3)).diffs
    response.close()
    assert [event.diff["id"] for event in events] == ids
    assert [event.diff["pk"] for event in events] == [1, 2, 3]
    later = _tickets(4)
    resumed = client.get(TICKETS, headers={**STREAM, "Last-Event-ID": events[2].id})
    again = read_sync(iter(resumed.streaming_content), Reader(), _has(1)).diffs
    resumed.close()
    assert [event.diff["id"] for event in again] == later


@pytest.mark.usefixtures("open_feed")
def test_a_filter_hides_objects_from_a_stream_and_its_ids_move_past_them(client, settings):
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS,
                               "feed_filter": "tests.integration.test_stream.even_tickets"}
    ids = _tickets(2, 3, 4, 5)
    response = client.get(TICKETS, headers=STREAM)
    reader = read_sync(iter(response.streaming_content), Reader(),
                       lambda reader: len(reader.diffs) >= 2 and reader.events[-1].data is None
                       and reader.events[-1].id is not None)
    response.close()
    assert [event.diff["pk"] for event in reader.diffs] == [2, 4]
    # the last block moves Last-Event-ID past the hidden ticket 5: a client resuming from it
    # reads nothing again
    tail = reader.events[-1]
    assert cursor.decode("testapp.ticket", None, tail.id)[1] == ids[3]


@pytest.mark.usefixtures("open_feed")
def test_fields_narrow_an_object_stream(client):
    _write(diff(1, new={"question_text": "a"}, seconds_ago=2),
           diff(1, new={"pub_date": "2026-01-01T00:00:00Z"}, seconds_ago=1))
    response = client.get(URL.format(1), {"fields": "pub_date"}, headers=STREAM)
    events = read_sync(iter(response.streaming_content), Reader(), _has(1)).diffs
    response.close()
    assert [list(event.diff["new"]) for event in events] == [["pub_date"]]


@pytest.mark.usefixtures("open_feed")
def test_a_diff_stored_late_comes_next_on_a_stream_after_what_was_stored_before_it(client):
    later_change = _write(diff(1, new={"question_text": "changed second"}, seconds_ago=1))
    response = client.get(URL.format(1), headers=STREAM)
    chunks = iter(response.streaming_content)
    reader = read_sync(chunks, Reader(), _has(1))
    # made before the first, stored after it (kept during a broker outage, say)
    late = _write(diff(1, new={"question_text": "changed first"}, seconds_ago=30))
    read_sync(chunks, reader, _has(2))
    response.close()
    assert [event.diff["id"] for event in reader.diffs] == later_change + late
    assert reader.diffs[1].diff["timestamp"] < reader.diffs[0].diff["timestamp"]
