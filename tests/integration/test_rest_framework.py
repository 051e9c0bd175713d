"""``diffs.contrib.rest_framework``: a viewset's ``<detail>/changes/`` through DRF's APIClient.

The test app's API (tests/testapp/api.py) hides questions whose text starts with "hidden"
(its ``get_queryset()``) and needs a logged-in user; the diffs are recorded and delivered in
process (the ``delivery`` fixture). A real server answers it in tests/e2e/test_rest_servers.py.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from django.contrib.auth.models import User
from django.test import override_settings

from tests.optional import needs_rest_framework
from tests.testapp.models import Question

pytestmark = [needs_rest_framework, pytest.mark.django_db(transaction=True),
              pytest.mark.usefixtures("delivery")]


@pytest.fixture
def api():
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(User.objects.create_user("api-reader"))
    return client


def _question(text="v0", edits=2):
    question = Question.objects.create(question_text=text)
    for n in range(1, edits + 1):
        question.question_text = f"{text}-{n}"
        question.save()
    return question


def _changes(pk, view="questions"):
    return f"/api/{view}/{pk}/changes/"


def test_changes_pages_an_objects_diffs_with_next_links_carrying_the_cursor(api):
    question = _question()
    first = api.get(_changes(question.pk), {"limit": 2}).json()
    assert [d["created"] for d in first["results"]] == [True, False]
    assert first["more"] is True and "cursor=" in first["next"]
    second = api.get(first["next"]).json()
    assert [d["new"] for d in second["results"]] == [{"question_text": "v0-2"}]
    assert (second["next"], second["more"]) == (None, False)
    question.question_text = "later"
    question.save()
    later = api.get(_changes(question.pk), {"cursor": second["cursor"]}).json()
    assert [d["new"] for d in later["results"]] == [{"question_text": "later"}]


def test_a_diff_has_the_json_feeds_fields(api, client):
    question = _question(edits=1)
    result = api.get(_changes(question.pk)).json()["results"][1]
    assert set(result) == {"id", "model", "pk", "timestamp", "created", "deleted",
                           "changed_fields", "old", "new"}
    assert (result["model"], result["pk"], result["changed_fields"]) == (
        "testapp.question", question.pk, ["question_text"])


def test_delta_answers_the_net_change_after_the_cursor(api):
    question = _question(edits=3)
    body = api.get(_changes(question.pk), {"limit": 2}).json()
    delta = api.get(_changes(question.pk), {"delta": "1", "cursor": body["cursor"]}).json()
    assert delta["delta"]["changes"] == [
        {"field": "question_text", "old": "v0-1", "new": "v0-3"}]
    assert delta["more"] is False and "results" not in delta


def test_the_viewsets_queryset_and_permissions_decide(api):
    hidden = _question("hidden")
    assert api.get(_changes(hidden.pk)).status_code == 404
    from rest_framework.test import APIClient

    assert APIClient().get(_changes(_question().pk)).status_code == 403


def test_a_bad_cursor_or_limit_is_a_400(api):
    question = _question()
    assert api.get(_changes(question.pk), {"cursor": "forged"}).status_code == 400
    response = api.get(_changes(question.pk), {"limit": "0"})
    assert response.status_code == 400 and "limit" in response.json()["detail"]


def test_a_projects_diff_serializer_adds_its_fields(api):
    question = _question(edits=1)
    results = api.get(_changes(question.pk, "kind-questions")).json()["results"]
    assert [d["kind"] for d in results] == ["created", "changed"]


def test_the_browsable_api_shows_the_changes(api):
    question = _question(edits=1)
    response = api.get(_changes(question.pk), HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert "v0-1" in response.content.decode()


def test_a_storage_that_does_not_answer_is_a_503(api):
    question = _question(edits=0)
    with override_settings(DIFFS_SETTINGS={"redis": {"url": "redis://127.0.0.1:1/0",
                                                     "socket_timeout": 0.5}}):
        assert api.get(_changes(question.pk)).status_code == 503


def test_nothing_but_the_contrib_module_imports_rest_framework():
    script = textwrap.dedent("""
        import importlib, pkgutil, sys
        import django
        from django.conf import settings
        settings.configure(INSTALLED_APPS=[
            "django.contrib.admin", "django.contrib.contenttypes", "django.contrib.auth",
            "django.contrib.sessions", "django.contrib.messages", "diffs"])
        django.setup()
        import diffs
        for module in pkgutil.walk_packages(diffs.__path__, "diffs."):
            if module.name != "diffs.contrib.rest_framework":
                importlib.import_module(module.name)
        print(sorted(name for name in sys.modules if name.startswith("rest_framework")))
    """)
    found = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                           timeout=120, check=True)
    assert found.stdout.strip() == "[]", found.stderr


# -- a model's feed: GET <list>/changes/ ----------------------------------------------------------


def test_model_changes_show_the_tickets_the_viewsets_queryset_allows(api):
    from tests.testapp.models import Ticket

    mine = [Ticket.objects.create(title=f"mine {n}", owner="api-reader") for n in range(3)]
    Ticket.objects.create(title="theirs", owner="someone else")
    mine[0].title = "mine, edited"
    mine[0].save()
    seen, url = [], "/api/tickets/changes/?limit=2"
    while url:
        body = api.get(url).json()
        seen += [(d["pk"], d["new"]["title"]) for d in body["results"]]
        url = body["next"]
    assert seen == [(mine[0].pk, "mine 0"), (mine[1].pk, "mine 1"), (mine[2].pk, "mine 2"),
                    (mine[0].pk, "mine, edited")]
    later = api.get("/api/tickets/changes/", {"cursor": body["cursor"]}).json()
    assert (later["results"], later["more"]) == ([], False)


def test_the_browsable_api_shows_model_changes(api):
    from tests.testapp.models import Ticket

    Ticket.objects.create(title="browsable", owner="api-reader")
    response = api.get("/api/tickets/changes/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200 and "browsable" in response.content.decode()


def test_model_changes_take_fields(api):
    from tests.testapp.models import Ticket

    ticket = Ticket.objects.create(title="t", owner="api-reader")
    ticket.status = "closed"
    ticket.save()
    ticket.title = "renamed"
    ticket.save()
    body = api.get("/api/tickets/changes/", {"fields": "status"}).json()
    assert [d["new"] for d in body["results"]] == [
        {"title": "t", "status": "open", "owner": "api-reader"}, {"status": "closed"}]
    assert api.get("/api/tickets/changes/", {"fields": "nope"}).status_code == 400


def test_model_changes_of_a_model_without_a_feed_are_a_404(api):
    assert api.get("/api/questions/changes/").status_code == 404


def test_object_changes_take_fields(api):
    question = _question(edits=1)
    question.pub_date = question.pub_date.replace(year=2020)
    question.save()
    body = api.get(_changes(question.pk), {"fields": "pub_date"}).json()
    assert [sorted(d["new"]) for d in body["results"]] == [
        ["pub_date", "question_text"], ["pub_date"]]


def test_the_sync_delta_is_the_async_ones_with_a_late_diff(storage):
    import asyncio

    from diffs.reading.diffset import DiffSet
    from diffs.storage.connection import aclose_async_redis
    from diffs.storage.writer import write_batch
    from tests.payloads import batch, diff

    label = "testapp.question"
    write_batch(batch(diff(1, label, {"question_text": "a"}, created=True, seconds_ago=60)))
    write_batch(batch(diff(1, label, {"question_text": "c"}, old={"question_text": "b"})))
    history = DiffSet(label, 1)
    cursor_at = history.page().end(None)
    write_batch(batch(diff(1, label, {"question_text": "b", "pub_date": "2026-01-02"},
                           old={"question_text": "a", "pub_date": "2026-01-01"},
                           seconds_ago=30)))  # made between the two, stored after both

    async def both():
        try:
            return await history.adelta_after(cursor_at), await history.adelta_after(None)
        finally:
            await aclose_async_redis()

    (late, _), (whole, _) = asyncio.run(both())
    assert history.delta_after(cursor_at)[0].changes == late.changes
    assert [c.field for c in late.changes] == ["pub_date"]
    assert history.delta_after(None)[0].changes == whole.changes
