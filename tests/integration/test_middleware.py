"""``DiffsContextMiddleware`` through Django's test clients (sync and async views); real HTTP
servers and a task started by a view are in ``tests/e2e/test_middleware_servers.py``."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from diffs.checks import check_settings
from diffs.middleware import DiffsContextMiddleware
from tests.conftest import every_database
from tests.integration.conftest import stored
from tests.testapp.models import Question

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("delivery")]

MIDDLEWARE = "diffs.middleware.DiffsContextMiddleware"


@pytest.fixture(autouse=True)
def with_middleware(settings):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, MIDDLEWARE]
    settings.ROOT_URLCONF = "tests.context_urls"


def only_diff(pk):
    (diff,) = stored(Question.diffs.get_by_object_id(pk), 1)
    return diff


def test_the_context_names_the_logged_in_user_the_request_id_method_and_path(client):
    user = User.objects.create_user("logged-in")
    client.force_login(user)
    pk = client.post("/save/?text=x", HTTP_X_REQUEST_ID="req-42.a:b").json()["pk"]
    assert only_diff(pk).context == {
        "actor": user.pk, "request_id": "req-42.a:b", "method": "POST", "path": "/save/",
    }


def test_an_anonymous_request_has_no_actor_and_a_new_request_id(client):
    first = only_diff(client.get("/save/").json()["pk"]).context
    second = only_diff(client.get("/save/").json()["pk"]).context
    assert "actor" not in first
    assert len(first["request_id"]) == 32 and first["request_id"] != second["request_id"]


@pytest.mark.parametrize("bad", ["has space", "x" * 201, "semi;colon", "new\nline", ""])
def test_a_bad_request_id_is_replaced_by_a_new_one(client, bad):
    context = only_diff(client.get("/save/", HTTP_X_REQUEST_ID=bad).json()["pk"]).context
    assert context["request_id"] != bad and len(context["request_id"]) == 32


def test_a_request_id_of_200_characters_is_kept(client):
    given = "a" * 200
    context = only_diff(client.get("/save/", HTTP_X_REQUEST_ID=given).json()["pk"]).context
    assert context["request_id"] == given


def test_a_long_path_is_cut_short_and_the_actor_kept(client):
    user = User.objects.create_user("long")
    client.force_login(user)
    pk = client.get("/save/" + "\x01" * 5000).json()["pk"]
    context = only_diff(pk).context
    assert context["actor"] == user.pk and len(context["path"]) == 500


def test_a_user_logged_in_by_the_view_is_the_actor_of_the_saves_after_it(client):
    found = client.get("/login-then-save/?user=late").json()
    assert "actor" not in only_diff(found["before"]).context
    assert only_diff(found["after"]).actor == found["user"]


def test_a_user_set_by_the_view_as_django_rest_framework_does_is_the_actor(client):
    found = client.get("/authenticate-late/?user=token").json()
    assert only_diff(found["pk"]).actor == found["user"]


def test_an_async_view_gets_the_context_too(async_client_run):
    found = async_client_run("/save-async/", {"X-Request-ID": "async-1"})
    context = only_diff(found["pk"]).context
    assert context["request_id"] == "async-1" and context["path"] == "/save-async/"


def test_the_middleware_is_sync_and_async_capable():
    async def get_response(request):
        return None

    assert DiffsContextMiddleware.sync_capable and DiffsContextMiddleware.async_capable
    assert not DiffsContextMiddleware(lambda request: None).is_async
    assert DiffsContextMiddleware(get_response).is_async


def test_the_request_context_setting_builds_the_context_instead(client, settings):
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS,
                               "request_context": "tests.context_views.tenant_context"}
    found = client.get("/authenticate-late/?user=tenant", HTTP_X_TENANT="acme").json()
    assert only_diff(found["pk"]).context == {"tenant": "acme", "actor": found["user"]}


def test_a_raising_request_context_is_logged_and_the_save_succeeds(client, settings, diffs_log):
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS, "raise_errors": False,
                               "request_context": "tests.context_views.broken_context"}
    response = client.get("/save/")
    assert response.status_code == 200
    assert only_diff(response.json()["pk"]).context == {}
    assert any("the change context provider raised" in r.getMessage()
               and "the tenant service is down" in r.getMessage() for r in diffs_log)


@pytest.mark.parametrize("value", ["tests.context_views.nothing_here", 42, "no dots"])
def test_a_bad_request_context_setting_is_check_e124(settings, value):
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS, "request_context": value}
    (error,) = check_settings()
    assert error.id == "diffs.E124" and "request_context" in error.msg
    assert "(request) -> dict" in error.hint


@every_database
def test_a_bad_request_context_fails_manage_py_check(settings):
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS, "request_context": "nope.nope"}
    with pytest.raises(SystemCheckError, match=r"diffs\.E124"):
        call_command("check")


def test_a_bad_request_context_setting_falls_back_to_the_default_context(client, settings):
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS, "request_context": "nope.nope"}
    context = only_diff(client.get("/save/").json()["pk"]).context
    assert context["path"] == "/save/"


def test_an_admin_edit_shows_its_user_on_the_changes_page_and_in_the_feed(client):
    staff = User.objects.create_user("editor", is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(
        codename__in=["change_question", "view_question"]))
    client.force_login(staff)
    question = Question.objects.create(question_text="before")
    response = client.post(f"/admin/testapp/question/{question.pk}/change/", {
        "question_text": "edited in the admin",
        "pub_date_0": "2026-12-01", "pub_date_1": "10:00:00",
    })
    assert response.status_code == 302
    _, edited = stored(question.diffs, 2)
    assert edited.actor == staff.pk
    assert edited.context["path"] == f"/admin/testapp/question/{question.pk}/change/"
    page = client.get(f"/admin/testapp/question/{question.pk}/changes/").content.decode()
    newest = page.split("<tbody>", 1)[1].split("</tr>", 1)[0]
    assert "<td>editor</td>" in newest
    feed = client.get(f"/diffs/testapp.question/{question.pk}/").json()
    assert [d.get("context", {}).get("actor") for d in feed["diffs"]] == [None, staff.pk]


# -- real servers -------------------------------------------------------------------------------


