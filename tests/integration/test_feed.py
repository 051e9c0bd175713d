"""The changes feed through Django's test clients: pages, cursors, access, ETags, long-poll."""

from __future__ import annotations

import asyncio
import threading

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.models import Permission
from django.db import connections
from django.test import override_settings

from diffs import wire
from diffs.storage.connection import aclose_async_redis
from diffs.storage.writer import write_batch
from tests.conftest import wait_until
from tests.payloads import batch, diff

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("storage")]

URL = "/diffs/testapp.question/{}/"
#: testapp.view_question (the docs' polls app has a Question, and a view_question, too)
VIEW_QUESTION = {"codename": "view_question", "content_type__app_label": "testapp"}


@pytest.fixture
def reader(client, django_user_model):
    """A test client logged in as a user holding testapp.view_question."""
    user = django_user_model.objects.create_user("reader", password="pw")
    user.user_permissions.add(Permission.objects.get(**VIEW_QUESTION))
    client.force_login(user)
    return client


def _write(*diffs):
    write_batch(batch(*diffs))
    return list(diffs)


def _changes(pk=1, count=3, seconds_ago=10.0):
    return [
        diff(pk, new={"question_text": f"v{n}"}, old={"question_text": f"v{n - 1}"},
             seconds_ago=seconds_ago - n)
        for n in range(count)
    ]


def test_feed_lists_an_objects_diffs_oldest_first_with_their_fields(reader):
    written = _write(*_changes(count=3))
    body = reader.get(URL.format(1)).json()
    assert [d["id"] for d in body["diffs"]] == [d[wire.ID] for d in written]
    first = body["diffs"][0]
    assert set(first) == {"id", "model", "pk", "timestamp", "created", "deleted",
                          "changed_fields", "old", "new"}
    assert (first["model"], first["pk"], first["created"], first["deleted"]) == (
        "testapp.question", 1, False, False)
    assert (first["old"], first["new"]) == ({"question_text": "v-1"}, {"question_text": "v0"})
    assert first["changed_fields"] == ["question_text"]
    assert first["timestamp"] == pytest.approx(written[0][wire.TIME])
    assert body["more"] is False


def test_feed_shows_the_change_context_only_where_there_is_one(reader):
    _write(diff(1, context={"actor": 7, "request": "r-1"}, seconds_ago=2), diff(1, seconds_ago=1))
    with_context, without = reader.get(URL.format(1)).json()["diffs"]
    assert with_context["context"] == {"actor": 7, "request": "r-1"}
    assert "context" not in without


def test_cursor_returns_only_what_came_after_it(reader):
    _write(*_changes(count=2))
    first = reader.get(URL.format(1)).json()
    later = _write(diff(1, new={"question_text": "later"}))
    second = reader.get(URL.format(1), {"cursor": first["cursor"]}).json()
    assert [d["id"] for d in second["diffs"]] == [later[0][wire.ID]]
    assert reader.get(URL.format(1), {"cursor": second["cursor"]}).json()["diffs"] == []


def test_pages_at_equal_timestamps_neither_skip_nor_repeat_a_diff(reader):
    tied = _changes(count=7)
    for item in tied:
        item[wire.TIME] = tied[0][wire.TIME]  # seven changes in one microsecond
    _write(*tied)
    seen, cursor_text, more = [], "", True
    while more:
        body = reader.get(URL.format(1), {"cursor": cursor_text, "limit": 2}).json()
        seen += [d["id"] for d in body["diffs"]]
        cursor_text, more = body["cursor"], body["more"]
    assert seen == sorted(d[wire.ID] for d in tied)


def test_limit_bounds_the_page_and_more_says_what_is_left(reader):
    _write(*_changes(count=5))
    body = reader.get(URL.format(1), {"limit": 3}).json()
    assert (len(body["diffs"]), body["more"]) == (3, True)
    rest = reader.get(URL.format(1), {"limit": 3, "cursor": body["cursor"]}).json()
    assert (len(rest["diffs"]), rest["more"]) == (2, False)


def test_limit_defaults_to_the_setting_and_may_not_pass_the_maximum(reader, settings):
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS, "feed_limit": 2, "feed_max_limit": 4}
    _write(*_changes(count=5))
    assert len(reader.get(URL.format(1)).json()["diffs"]) == 2
    response = reader.get(URL.format(1), {"limit": 5})
    assert response.status_code == 400
    assert response.json() == {"error": "limit must be a whole number from 1 to 4"}


@pytest.mark.parametrize(("query", "error"), [({"limit": "ten"}, "limit"),
                                             ({"cursor": "garbage"}, "cursor")])
def test_bad_query_is_a_400_with_a_json_error(reader, query, error):
    response = reader.get(URL.format(1), query)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"].startswith(error)


def test_tampered_cursor_or_one_of_another_object_is_refused(reader):
    _write(*_changes(count=1))
    issued = reader.get(URL.format(1)).json()["cursor"]
    assert reader.get(URL.format(2), {"cursor": issued}).status_code == 400
    tampered = issued[:-2] + ("AA" if issued[-2:] != "AA" else "BB")
    assert reader.get(URL.format(1), {"cursor": tampered}).status_code == 400


@pytest.mark.parametrize(
    "url",
    ["/diffs/testapp.plain/1/", "/diffs/nothing.here/1/", "/diffs/auth.user/1/",
     "/diffs/testapp.question/abc/", "/diffs/testapp.question/" + "9" * 2000 + "/"],
)
def test_unregistered_label_or_bad_pk_is_a_404(reader, url):
    response = reader.get(url)
    assert response.status_code == 404
    assert "error" in response.json()


def test_string_pks_with_slashes_reach_their_own_object(reader, django_user_model):
    reader_user = django_user_model.objects.get(username="reader")
    reader_user.user_permissions.add(Permission.objects.get(
        codename="view_tag", content_type__app_label="testapp"))
    written = _write(diff("a/b:c", "testapp.tag", new={"name": "x"}))
    body = reader.get("/diffs/testapp.tag/a/b:c/").json()
    assert [d["id"] for d in body["diffs"]] == [written[0][wire.ID]]


def test_without_the_view_permission_the_feed_is_a_403(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("nobody", password="pw"))
    assert client.get(URL.format(1)).status_code == 403
    client.logout()
    assert client.get(URL.format(1)).status_code == 403


def allow_odd_pks(request, model, pk):
    return model._meta.label == "testapp.Question" and pk % 2 == 1


def test_a_permission_callable_decides_instead_of_the_view_permission(client, settings):
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS,
                               "feed_permission": "tests.integration.test_feed.allow_odd_pks"}
    assert client.get(URL.format(1)).status_code == 200
    assert client.get(URL.format(2)).status_code == 403


def test_etag_gives_304_until_something_new_arrives(reader):
    _write(*_changes(count=2))
    first = reader.get(URL.format(1))
    assert first["Cache-Control"].startswith("private")
    again = reader.get(URL.format(1), HTTP_IF_NONE_MATCH=first["ETag"])
    assert (again.status_code, again.content) == (304, b"")
    _write(diff(1, new={"question_text": "new"}))
    fresh = reader.get(URL.format(1), HTTP_IF_NONE_MATCH=first["ETag"])
    assert fresh.status_code == 200
    assert fresh["ETag"] != first["ETag"]


def test_post_is_not_allowed(reader):
    assert reader.post(URL.format(1)).status_code == 405


def test_delta_returns_the_net_change_after_the_cursor(reader):
    _write(diff(1, new={"question_text": "a"}, old={"question_text": ""}, seconds_ago=5))
    start = reader.get(URL.format(1)).json()["cursor"]
    _write(
        diff(1, new={"question_text": "b"}, old={"question_text": "a"}, seconds_ago=4),
        diff(1, new={"question_text": "c"}, old={"question_text": "b"}, seconds_ago=3),
    )
    body = reader.get(URL.format(1), {"cursor": start, "delta": "1"}).json()
    assert body["delta"]["changes"] == [{"field": "question_text", "old": "a", "new": "c"}]
    assert body["delta"]["changed_fields"] == ["question_text"]
    after = reader.get(URL.format(1), {"cursor": body["cursor"], "delta": "1"}).json()
    assert after["delta"]["changes"] == []


def test_delta_finds_a_value_before_the_cursor_that_the_window_does_not_know(reader):
    _write(diff(1, new={"question_text": "a"}, created=True, seconds_ago=5))
    start = reader.get(URL.format(1)).json()["cursor"]
    _write(diff(1, new={"question_text": "b"}, old={}, seconds_ago=4))  # never loaded: no old
    body = reader.get(URL.format(1), {"cursor": start, "delta": "1"}).json()
    assert body["delta"]["changes"] == [{"field": "question_text", "old": "a", "new": "b"}]


def test_storage_outage_is_a_503_not_a_crash(reader, redis_server):
    with override_settings(DIFFS_SETTINGS={"redis": {"url": "redis://127.0.0.1:1/0",
                                                     "socket_timeout": 0.5}}):
        response = reader.get(URL.format(1))
    assert response.status_code == 503
    assert "error" in response.json()


def test_wait_returns_as_soon_as_a_write_is_announced(reader, storage):
    _write(*_changes(count=1))
    start = reader.get(URL.format(1)).json()["cursor"]
    later = diff(1, new={"question_text": "woken"})
    writer = threading.Thread(target=_write_once_subscribed, args=(storage, later))
    writer.start()
    body = reader.get(URL.format(1), {"cursor": start, "wait": "20"}).json()
    writer.join()
    assert [d["id"] for d in body["diffs"]] == [later[wire.ID]]


def _write_once_subscribed(storage, item):
    wait_until(lambda: storage.pubsub_numsub("diffs:~written")[0][1] == 1)
    _write(item)


def test_wait_with_nothing_new_answers_empty_when_it_runs_out(reader):
    _write(*_changes(count=1))
    start = reader.get(URL.format(1)).json()["cursor"]
    body = reader.get(URL.format(1), {"cursor": start, "wait": "0.3"}).json()
    assert (body["diffs"], body["cursor"]) == ([], start)


def test_a_write_to_another_object_does_not_end_the_wait(reader, storage):
    start = reader.get(URL.format(1)).json()["cursor"]
    other = threading.Thread(target=_write_once_subscribed, args=(storage, diff(2)))
    other.start()
    body = reader.get(URL.format(1), {"cursor": start, "wait": "0.5"}).json()
    other.join()
    assert body["diffs"] == []


@pytest.mark.django_db(transaction=True)  # the view reads the user in another thread
def test_async_client_long_poll_is_woken_by_a_write(async_client, django_user_model, storage):
    user = django_user_model.objects.create_user("areader", password="pw")
    user.user_permissions.add(Permission.objects.get(**VIEW_QUESTION))
    async_client.force_login(user)

    async def scenario():
        waiting = asyncio.ensure_future(async_client.get(URL.format(1), {"wait": "20"}))
        while (await asyncio.to_thread(storage.pubsub_numsub, "diffs:~written"))[0][1] != 1:
            await asyncio.sleep(0.02)
        written = await asyncio.to_thread(_write, diff(1))
        answer = (await waiting).json()
        await sync_to_async(connections.close_all)()  # the view's thread's connection
        await aclose_async_redis()  # this loop ends here
        return answer, written

    body, written = asyncio.run(scenario())
    assert [d["id"] for d in body["diffs"]] == [written[0][wire.ID]]
