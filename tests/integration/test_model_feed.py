"""A model's feed (``model_feed=True``), ``?fields=`` on both feeds, and the ``feed_filter``
setting, through Django's test client and the worker's own write code."""

from __future__ import annotations

import threading

import pytest
from django.contrib.auth.models import Permission

from diffs import wire
from diffs.reading.filtering import MAX_READS, MIN_READ
from diffs.storage.keys import feed_key
from diffs.storage.pruning import prune
from diffs.storage.writer import write_batch
from tests.conftest import wait_until
from tests.payloads import batch, diff

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("storage")]

TICKET = "testapp.ticket"
FEED = "/diffs/testapp.ticket/"

#: feed_filter of these tests: a user sees the tickets whose pk is even.
EVEN = "tests.integration.test_model_feed.even_tickets"
#: feed_filter that hides everything.
NOTHING = "tests.integration.test_model_feed.no_tickets"
calls: list[list[object]] = []


def even_tickets(request, model, pks):
    calls.append(list(pks))
    return [pk for pk in pks if int(pk) % 2 == 0]


def no_tickets(request, model, pks):
    return []


@pytest.fixture
def reader(client, django_user_model):
    """A test client logged in as a user holding testapp.view_ticket."""
    user = django_user_model.objects.create_user("reader", password="pw")
    user.user_permissions.add(Permission.objects.get(content_type__app_label="testapp",
                                                     codename="view_ticket"))
    client.force_login(user)
    return client


def _tickets(*pks, fields=None):
    made = [diff(pk, TICKET, fields or {"title": f"t{pk}"}) for pk in pks]
    write_batch(batch(*made))
    return made


def _follow(client, url, **params):
    """Return every diff id a client following the feed page by page sees, and the pages."""
    seen, cursor_text, pages = [], "", 0
    while True:
        body = client.get(url, {**params, "cursor": cursor_text}).json()
        seen += [d["id"] for d in body["diffs"]]
        cursor_text, pages = body["cursor"], pages + 1
        if not body["more"]:
            return seen, pages, cursor_text


def test_the_model_feed_holds_every_objects_diffs_with_their_pks_in_stored_order(reader):
    made = _tickets(3, 1, 2) + _tickets(1)
    body = reader.get(FEED).json()
    assert [(d["id"], d["pk"], d["model"]) for d in body["diffs"]] == [
        (m[wire.ID], m[wire.PK], TICKET) for m in made]
    assert body["more"] is False


def test_paging_with_limit_one_gives_every_diff_once(reader):
    made = _tickets(*range(1, 8))
    seen, pages, last = _follow(reader, FEED, limit=1)
    assert seen == [m[wire.ID] for m in made]
    assert pages == 7
    later = _tickets(9)
    assert [d["id"] for d in reader.get(FEED, {"cursor": last}).json()["diffs"]] == [
        later[0][wire.ID]]


def test_fields_keeps_the_diffs_that_changed_one_of_them_and_the_cursor_moves_past_others(
    reader,
):
    title = _tickets(1, fields={"title": "x"})
    status = _tickets(2, fields={"status": "closed"})
    both = _tickets(3, fields={"status": "open", "owner": "ann"})
    body = reader.get(FEED, {"fields": "status,owner"}).json()
    assert [d["id"] for d in body["diffs"]] == [status[0][wire.ID], both[0][wire.ID]]
    only_title = reader.get(FEED, {"fields": "title", "cursor": body["cursor"]}).json()
    assert (only_title["diffs"], only_title["more"]) == ([], False)
    assert title  # written before the cursor: never seen again


def test_fields_on_an_object_feed(client, django_user_model):
    user = django_user_model.objects.create_user("q", password="pw")
    user.user_permissions.add(Permission.objects.get(content_type__app_label="testapp",
                                                     codename="view_question"))
    client.force_login(user)
    write_batch(batch(diff(1, new={"question_text": "a"}), diff(1, new={"pub_date": "x"})))
    body = client.get("/diffs/testapp.question/1/", {"fields": "pub_date"}).json()
    assert [d["changed_fields"] for d in body["diffs"]] == [["pub_date"]]
    assert client.get("/diffs/testapp.question/1/", {"fields": "nope"}).status_code == 400
    refused = client.get("/diffs/testapp.question/1/", {"fields": "pub_date", "delta": "1"})
    assert refused.status_code == 400


def test_feed_filter_hides_objects_and_is_called_once_per_read(reader, settings):
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS, "feed_filter": EVEN}
    made = _tickets(*range(1, 7))
    calls.clear()
    body = reader.get(FEED).json()
    assert [d["pk"] for d in body["diffs"]] == [2, 4, 6]
    assert calls == [[1, 2, 3, 4, 5, 6]]
    assert body["more"] is False
    assert made


def test_a_filter_that_hides_every_diff_moves_the_cursor_and_never_stalls(reader, settings):
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS, "feed_filter": NOTHING}
    hidden = MAX_READS * MIN_READ + 5  # more than one answer reads
    write_batch(batch(*[diff(pk, TICKET, {"title": "x"}) for pk in range(1, hidden + 1)]))
    first = reader.get(FEED, {"limit": 10}).json()
    assert (first["diffs"], first["more"]) == ([], True)
    second = reader.get(FEED, {"limit": 10, "cursor": first["cursor"]}).json()
    assert (second["diffs"], second["more"]) == ([], False)
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS, "feed_filter": None}
    rest = reader.get(FEED, {"cursor": second["cursor"]}).json()
    assert rest["diffs"] == []  # the cursor is past every hidden diff
    shown = reader.get(FEED, {"limit": 1}).json()
    assert len(shown["diffs"]) == 1  # they were there: the filter hid them


def test_a_filtered_wait_ends_when_everything_read_was_hidden(reader, settings):
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS, "feed_filter": EVEN,
                               "feed_max_wait": 1}
    _tickets(1, 3)
    body = reader.get(FEED, {"wait": "0.2"}).json()  # nothing to show: waits, then answers
    assert (body["diffs"], body["more"]) == ([], False)
    shown = _tickets(4)
    after = reader.get(FEED, {"cursor": body["cursor"]}).json()
    assert [d["id"] for d in after["diffs"]] == [shown[0][wire.ID]]


def test_feed_filter_hides_an_objects_own_feed(reader, settings, django_user_model):
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS, "feed_filter": EVEN}
    _tickets(1, 2)
    assert reader.get("/diffs/testapp.ticket/1/").status_code == 403
    assert reader.get("/diffs/testapp.ticket/2/").status_code == 200


def test_access_to_a_model_feed(client, reader, django_user_model):
    _tickets(1)
    assert reader.get(FEED).status_code == 200
    assert reader.get(FEED, {"delta": "1"}).status_code == 400
    nobody = django_user_model.objects.create_user("nobody", password="pw")
    client.force_login(nobody)
    assert client.get(FEED).status_code == 403
    assert reader.get("/diffs/testapp.question/").status_code == 404  # no model_feed
    assert reader.get("/diffs/nothing.here/").status_code == 404


def test_a_cursor_of_an_object_feed_is_refused_by_the_model_feed(reader):
    _tickets(1)
    issued = reader.get("/diffs/testapp.ticket/1/").json()["cursor"]
    assert reader.get(FEED, {"cursor": issued}).status_code == 400


def test_the_model_feed_is_pruned_by_its_models_age(storage, settings):
    _tickets(1, 2)
    key = feed_key("diffs", TICKET)
    assert storage.zcard(key) == 2
    assert prune(dry_run=True).members_removed == 0
    assert prune(max_age=0).members_removed >= 2
    assert storage.zcard(key) == 0


def test_a_wait_on_the_model_feed_ends_when_a_worker_writes_to_it(reader, storage):
    start = reader.get(FEED).json()["cursor"]
    later = diff(5, TICKET, {"title": "woken"})

    def write_once_subscribed():
        wait_until(lambda: storage.pubsub_numsub("diffs:~written")[0][1] == 1)
        write_batch(batch(later))

    writer = threading.Thread(target=write_once_subscribed)
    writer.start()
    body = reader.get(FEED, {"cursor": start, "wait": "20"}).json()
    writer.join()
    assert [(d["id"], d["pk"]) for d in body["diffs"]] == [(later[wire.ID], 5)]
