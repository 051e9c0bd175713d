"""Arrival order: positions taken by the write script where each key lives, a late diff after
every cursor issued before it was stored, the change time kept in the diff."""

from __future__ import annotations

import itertools
import threading

import pytest
from django.contrib.auth.models import Permission

from diffs import wire
from diffs.reading.diffset import DiffSet
from diffs.storage.keys import feed_key, object_key
from diffs.storage.store import CLOCK_AHEAD_LIMIT
from diffs.storage.writer import write_batch
from tests.payloads import batch, diff, member_ids

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("storage")]

QUESTION = "testapp.question"
TICKET = "testapp.ticket"


@pytest.fixture
def reader(client, django_user_model):
    """A test client logged in as a user who may view questions and tickets."""
    user = django_user_model.objects.create_user("reader", password="pw")
    user.user_permissions.add(*Permission.objects.filter(
        content_type__app_label="testapp", codename__in=["view_question", "view_ticket"]))
    client.force_login(user)
    return client


def test_two_concurrent_writers_give_one_key_strictly_increasing_positions(storage):
    start = threading.Barrier(2)
    made: dict[str, list[str]] = {"a": [], "b": []}

    def writer(name: str) -> None:
        start.wait(timeout=10)
        for _ in range(100):
            one = diff(1, TICKET, {"title": name})
            made[name].append(one[wire.ID])
            write_batch(batch(one))

    threads = [threading.Thread(target=writer, args=(name,)) for name in made]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for key in (object_key("diffs", TICKET, 1), feed_key("diffs", TICKET)):
        pairs = storage.zrange(key, 0, -1, withscores=True)
        scores = [score for _, score in pairs]
        assert len(pairs) == 200 and len(set(scores)) == 200, key
        assert all(round((b - a) * 1e6) >= 1 for a, b in itertools.pairwise(scores)), key
        stored = member_ids([member for member, _ in pairs])
        for ids in made.values():  # each writer's diffs in the order it stored them
            assert [i for i in stored if i in set(ids)] == ids


def test_a_retried_batch_neither_moves_nor_repeats_a_member(storage):
    first = batch(diff(1, TICKET, {"title": "a"}), diff(2, TICKET, {"title": "b"}))
    write_batch(first)
    keys = [object_key("diffs", TICKET, 1), object_key("diffs", TICKET, 2),
            feed_key("diffs", TICKET)]
    before = {key: storage.zrange(key, 0, -1, withscores=True) for key in keys}
    assert write_batch(first).added == 0
    assert {key: storage.zrange(key, 0, -1, withscores=True) for key in keys} == before


def test_a_late_diff_keeps_its_change_time_and_comes_after_earlier_cursors(reader):
    late = diff(1, QUESTION, {"question_text": "kept in an outage"}, seconds_ago=60)
    write_batch(batch(diff(1, QUESTION, {"question_text": "stored first"})))
    body = reader.get("/diffs/testapp.question/1/").json()
    write_batch(batch(late))
    after = reader.get("/diffs/testapp.question/1/", {"cursor": body["cursor"]}).json()
    assert [d["id"] for d in after["diffs"]] == [late[wire.ID]]
    assert after["diffs"][0]["timestamp"] == late[wire.TIME]
    history = DiffSet(QUESTION, 1)
    assert next(d.id for d in history) == late[wire.ID]  # in change order, it came first
    assert next(d.id for d in history.since(late[wire.TIME] - 1)) == late[wire.ID]
    assert [d.id for d in history.until(late[wire.TIME])] == [late[wire.ID]]
    newest = history.page(limit=10).diffs[-1]
    assert newest.id == late[wire.ID] and newest.position > newest.timestamp + 30


def test_a_late_diff_comes_after_earlier_cursors_of_the_model_feed(reader):
    late = diff(2, TICKET, {"title": "kept in an outage"}, seconds_ago=60)
    write_batch(batch(diff(1, TICKET, {"title": "stored first"})))
    body = reader.get("/diffs/testapp.ticket/").json()
    write_batch(batch(late))
    after = reader.get("/diffs/testapp.ticket/", {"cursor": body["cursor"]}).json()
    assert [(d["id"], d["pk"]) for d in after["diffs"]] == [(late[wire.ID], 2)]


def test_a_position_is_never_before_its_change_even_from_a_clock_ahead_of_redis(storage):
    ahead = diff(1, QUESTION, {"question_text": "from a fast clock"}, seconds_ago=-30)
    after = diff(1, QUESTION, {"question_text": "next"})
    write_batch(batch(ahead, after))
    first, second = DiffSet(QUESTION, 1).page().diffs
    assert first.position >= first.timestamp == ahead[wire.TIME]
    assert second.position > first.position  # arrival order, whatever the change times
    assert [d.id for d in DiffSet(QUESTION, 1).since(ahead[wire.TIME] - 1e-6)] == [
        ahead[wire.ID]]


def test_a_late_diff_in_a_delta_does_not_undo_a_newer_change_already_seen(reader):
    late = diff(1, QUESTION, {"question_text": "b", "pub_date": "2026-01-02"},
                old={"question_text": "a", "pub_date": "2026-01-01"}, seconds_ago=30)
    write_batch(batch(diff(1, QUESTION, {"question_text": "a"}, created=True, seconds_ago=60)))
    write_batch(batch(diff(1, QUESTION, {"question_text": "c"}, old={"question_text": "b"})))
    seen = reader.get("/diffs/testapp.question/1/", {"delta": "1"}).json()
    assert seen["delta"]["changes"] == [{"field": "question_text", "old": None, "new": "c"}]
    write_batch(batch(late))  # made between the two, stored after both
    after = reader.get("/diffs/testapp.question/1/", {"delta": "1", "cursor": seen["cursor"]})
    assert after.json()["delta"]["changes"] == [
        {"field": "pub_date", "old": "2026-01-01", "new": "2026-01-02"}]  # text stays "c"


def test_a_change_time_far_ahead_of_the_storage_clock_does_not_carry_the_key_along(storage):
    """A web process whose clock is a year ahead: its diff is placed at most
    CLOCK_AHEAD_LIMIT ahead, so the next diffs of the key are not pushed a year ahead."""
    now = float(storage.time()[0])
    write_batch(batch(diff(7, QUESTION, seconds_ago=-365 * 86400)))
    write_batch(batch(diff(7, QUESTION)))
    scores = [score for _, score in storage.zrange(object_key("diffs", QUESTION, 7), 0, -1,
                                                   withscores=True)]
    assert len(scores) == 2
    assert all(score <= now + CLOCK_AHEAD_LIMIT + 60 for score in scores)
