"""The admin's "Changes" page (``DiffsHistoryMixin``) through Django's test client."""

from __future__ import annotations

import datetime
import html
import re
import types

import pytest
from django.contrib import admin
from django.contrib.admin import AdminSite
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings
from django.urls import path

from diffs import wire
from diffs.admin import DiffsHistoryMixin
from diffs.storage.writer import write_batch
from tests.conftest import every_database
from tests.payloads import batch, diff
from tests.testapp.admin import QuestionAdmin
from tests.testapp.models import AllTypes, HistoryChoice, HistoryPoll, Plain, Question

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("storage")]


@pytest.fixture
def staff(client, django_user_model):
    user = django_user_model.objects.create_user("staff", password="pw", is_staff=True)
    client.force_login(user)
    return user


def _allow(user, *codenames):
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))


def _cells(page):
    """Return the text of each row of the history table, tags stripped, spaces folded."""
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [
        " ".join(html.unescape(re.sub(r"<[^>]+>", " ", row.split(">", 1)[1])).split())
        for row in body.split("<tr")[1:]
    ]


def test_change_form_links_to_the_changes_page(client, staff):
    _allow(staff, "change_question", "view_question")
    question = Question.objects.create(question_text="q")
    html = client.get(f"/admin/testapp/question/{question.pk}/change/").content.decode()
    assert f'href="/admin/testapp/question/{question.pk}/changes/"' in html
    assert ">Changes</a>" in html


def test_changes_page_lists_diffs_newest_first_with_who_and_kind(client, staff):
    _allow(staff, "view_question")
    question = Question.objects.create(question_text="now")
    write_batch(batch(
        diff(question.pk, new={"question_text": "first"}, created=True, seconds_ago=3),
        diff(question.pk, new={"question_text": "second"}, old={"question_text": "first"},
             seconds_ago=2, context={"actor": staff.pk}),
        diff(question.pk, new={"question_text": "third"}, old={"question_text": "second"},
             seconds_ago=1, context={"actor": 99999}),
    ))
    response = client.get(f"/admin/testapp/question/{question.pk}/changes/")
    assert response.status_code == 200
    assert "admin/base_site.html" in [t.name for t in response.templates]
    rows = _cells(response.content.decode())
    assert len(rows) == 3
    assert "changed Question text second → third" in rows[0]
    assert "99999" in rows[0]  # an actor that is no user shows as it is
    assert "staff changed Question text first → second" in rows[1]
    assert "created Question text first" in rows[2]


def test_foreign_keys_show_as_objects_and_deleted_ones_as_deleted_object(client, staff):
    _allow(staff, "view_historychoice")
    kept, gone = HistoryPoll.objects.create(name="kept poll"), HistoryPoll.objects.create(name="x")
    choice = HistoryChoice.objects.create(poll=kept)
    write_batch(batch(diff(choice.pk, "testapp.historychoice", new={"poll": kept.pk},
                           old={"poll": gone.pk})))
    gone_pk = gone.pk
    gone.delete()
    rows = _cells(client.get(f"/admin/testapp/historychoice/{choice.pk}/changes/")
                  .content.decode())
    assert f"Poll Deleted poll (pk={gone_pk}) → kept poll" in rows[0]


def test_changes_page_is_paginated(client, staff, monkeypatch):
    _allow(staff, "view_question")
    monkeypatch.setattr(QuestionAdmin, "diffs_per_page", 2)
    question = Question.objects.create(question_text="q")
    write_batch(batch(*(diff(question.pk, new={"question_text": f"v{n}"}, old={},
                             seconds_ago=10 - n) for n in range(5))))
    url = f"/admin/testapp/question/{question.pk}/changes/"
    first = _cells(client.get(url).content.decode())
    last = _cells(client.get(url, {"p": 3}).content.decode())
    assert [len(first), len(last)] == [2, 1]
    assert "v4" in first[0] and "v0" in last[0]
    assert "5 changes" in client.get(url).content.decode()


def test_changes_page_needs_the_view_permission(client, staff):
    question = Question.objects.create(question_text="q")
    assert client.get(f"/admin/testapp/question/{question.pk}/changes/").status_code == 403


def test_changes_page_of_a_missing_object_is_a_404(client, staff):
    _allow(staff, "view_question")
    assert client.get("/admin/testapp/question/12345/changes/").status_code == 404


def test_object_without_diffs_says_so(client, staff):
    _allow(staff, "view_question")
    question = Question.objects.create(question_text="q")
    html = client.get(f"/admin/testapp/question/{question.pk}/changes/").content.decode()
    assert "No changes of this object are recorded" in html


@pytest.mark.django_db(databases=["default", "other"])
def test_foreign_keys_of_an_object_in_another_database_are_looked_up_there():
    from diffs.reading.diffset import DiffSet
    from diffs.web.history import rows

    poll = HistoryPoll.objects.using("other").create(name="only in other")
    assert not HistoryPoll.objects.using("default").filter(pk=poll.pk).exists()
    stored = diff(1, "testapp.historychoice", new={"poll": poll.pk}, old={})
    stored["u"] = "other"  # the object's database's name in keys
    write_batch(batch(stored))
    history = DiffSet("testapp.historychoice", 1, using="other")
    (row,) = rows(list(history), "testapp.historychoice", 1, history.using)
    assert [(c.field, c.new) for c in row.changes] == [("poll", poll)]


# -- fields, values and times as the admin shows them (issue 22, item 9) ---------------------


def test_fields_show_verbose_names_and_values_as_the_admin_shows_them(client, staff, settings):
    settings.TIME_ZONE = "Europe/Paris"  # the page shows times in the current time zone
    _allow(staff, "view_alltypes")
    question = Question.objects.create(question_text="Which one?")
    row = AllTypes.objects.create()
    write_batch(batch(diff(row.pk, "testapp.alltypes", new={
        "boolean": True, "decimal": "1234.50", "moment": "2026-12-06T10:02:11.481Z",
        "date": "2026-12-06", "time": "10:02:11", "nullable": None, "question": question.pk,
    }, old={"boolean": False, "decimal": "1.00", "moment": "2026-12-06T10:02:40Z",
            "date": "2026-12-05", "time": "10:02:40", "nullable": "set", "question": None})))
    page = client.get(f"/admin/testapp/alltypes/{row.pk}/changes/").content.decode()
    (cells,) = _cells(page)
    for shown in ["Boolean", "Decimal 1.00 → 1234.50", "Date Dec. 5, 2026 → Dec. 6, 2026",
                  "Moment 2026-12-06 11:02:40 → 2026-12-06 11:02:11", "Time 10:02:40 → 10:02:11",
                  "Nullable set → -", "Question - → Which one?"]:
        assert shown in cells
    assert 'alt="False"' in page and 'alt="True"' in page  # the admin's boolean icons


def test_values_that_differ_but_look_alike_are_shown_as_stored(client, staff):
    _allow(staff, "view_question")
    question = Question.objects.create(question_text="q")
    write_batch(batch(diff(question.pk, new={"pub_date": "2026-12-06T10:02:11Z"},
                           old={"pub_date": "2026-12-06T10:02:11.481Z"})))
    (cells,) = _cells(client.get(f"/admin/testapp/question/{question.pk}/changes/")
                      .content.decode())
    assert "Date published 2026-12-06T10:02:11.481Z → 2026-12-06T10:02:11Z" in cells


def test_the_time_of_a_change_is_shown_to_the_second(client, staff):
    _allow(staff, "view_question")
    question = Question.objects.create(question_text="q")
    stored = diff(question.pk, new={"question_text": "a"})
    write_batch(batch(stored))
    (cells,) = _cells(client.get(f"/admin/testapp/question/{question.pk}/changes/")
                      .content.decode())
    when = datetime.datetime.fromtimestamp(stored[wire.TIME], datetime.timezone.utc)
    assert cells.startswith(when.strftime("%Y-%m-%d %H:%M:%S"))


def test_a_childs_diff_names_the_child_and_links_to_its_changes_page(client, staff):
    _allow(staff, "view_question")
    question = Question.objects.create(question_text="q")
    write_batch(batch(diff(7, "testapp.choice", new={"choice_text": "yes"}, created=True,
                           parents=(("testapp.question", question.pk),))))
    page = client.get(f"/admin/testapp/question/{question.pk}/changes/").content.decode()
    assert "created ( Choice 7 ) Choice text yes" in _cells(page)[0]  # ( <a>Choice 7</a> )
    assert '<a href="/admin/testapp/choice/7/changes/">Choice 7</a>' in page


# -- deleted objects (issue 22, item 9) -----------------------------------------------------


def _deleted_question():
    question = Question.objects.create(question_text="Gone soon")
    pk = question.pk
    write_batch(batch(
        diff(pk, new={"question_text": "Gone soon"}, created=True, seconds_ago=2),
        wire.new_diff("testapp.question", pk, {}, {"question_text": "Gone soon"}, deleted=True),
    ))
    Question.objects.filter(pk=pk).delete()
    return pk


def test_a_deleted_objects_changes_page_still_shows_its_history(client, staff):
    _allow(staff, "view_question")
    pk = _deleted_question()
    response = client.get(f"/admin/testapp/question/{pk}/changes/")
    assert response.status_code == 200
    page = response.content.decode()
    assert f"Changes: Deleted question (pk={pk})" in page
    assert f"/admin/testapp/question/{pk}/change/" not in page  # nothing to edit any more
    deleted, created = _cells(page)
    assert "deleted Question text Gone soon" in deleted
    assert "created Question text Gone soon" in created


def test_a_deleted_objects_history_needs_the_view_permission(client, staff):
    pk = _deleted_question()
    assert client.get(f"/admin/testapp/question/{pk}/changes/").status_code == 403


def test_an_object_the_admin_hides_is_not_shown_as_deleted(client, staff, monkeypatch):
    _allow(staff, "view_question")
    question = Question.objects.create(question_text="hidden")
    write_batch(batch(diff(question.pk, new={"question_text": "hidden"}, created=True)))
    monkeypatch.setattr(QuestionAdmin, "get_queryset",
                        lambda self, request: Question.objects.none())
    assert client.get(f"/admin/testapp/question/{question.pk}/changes/").status_code == 404


def test_deleted_histories_can_be_switched_off(client, staff, monkeypatch):
    _allow(staff, "view_question")
    pk = _deleted_question()
    monkeypatch.setattr(QuestionAdmin, "diffs_deleted_history", False)
    assert client.get(f"/admin/testapp/question/{pk}/changes/").status_code == 404
    assert client.get("/admin/testapp/question/deleted/").status_code == 404


def test_the_changelist_lists_objects_deleted_in_the_admin_with_their_changes(client, staff):
    _allow(staff, "view_question", "change_question", "delete_question")
    question = Question.objects.create(question_text="Delete me")
    assert client.post(f"/admin/testapp/question/{question.pk}/delete/",
                       {"post": "yes"}).status_code == 302
    changelist = client.get("/admin/testapp/question/").content.decode()
    assert 'href="/admin/testapp/question/deleted/"' in changelist
    listing = client.get("/admin/testapp/question/deleted/").content.decode()
    assert f'<a href="/admin/testapp/question/{question.pk}/changes/">Delete me</a>' in listing
    found = client.get("/admin/testapp/question/deleted/", {"pk": "12345"})
    assert found.status_code == 302 and found["Location"] == \
        "/admin/testapp/question/12345/changes/"


# -- the mixin on a model that is not registered with diffs (issue 22, item 2) --------------


class PlainAdmin(DiffsHistoryMixin, admin.ModelAdmin):
    pass


@pytest.fixture
def unregistered_admin():
    """An admin site of the test's own, at /edges/, with the mixin on an unregistered model."""
    site = AdminSite(name="edges")
    site.register(Plain, PlainAdmin)
    urls = types.ModuleType("edges_urls")
    urls.urlpatterns = [path("edges/", site.urls)]  # type: ignore[attr-defined]
    with override_settings(ROOT_URLCONF=urls):
        yield site
    # `manage.py check` checks every admin site still alive (a WeakSet), and a captured log
    # record of a request may keep this one alive a while: leave nothing in it to check.
    site.unregister(Plain)


@every_database
def test_the_mixin_on_an_unregistered_model_fails_the_admin_checks(unregistered_admin):
    (error,) = [e for e in PlainAdmin(Plain, unregistered_admin).check() if e.id == "diffs.E014"]
    assert "testapp.Plain is not registered with diffs" in error.msg
    assert "@diffs.register" in error.hint
    with pytest.raises(SystemCheckError, match=r"diffs\.E014"):
        call_command("check")


def test_the_mixin_on_an_unregistered_model_answers_pages_that_say_so(unregistered_admin,
                                                                        client, staff):
    staff.is_superuser = True
    staff.save()
    plain = Plain.objects.create(name="p")
    change_form = client.get(f"/edges/testapp/plain/{plain.pk}/change/")
    assert change_form.status_code == 200
    assert "diffs-changes-link" not in change_form.content.decode()
    for url in [f"/edges/testapp/plain/{plain.pk}/changes/", "/edges/testapp/plain/deleted/"]:
        response = client.get(url)
        assert response.status_code == 404
        assert "admin/base_site.html" in [t.name for t in response.templates]
        assert "testapp.Plain is not registered with diffs" in response.content.decode()
