"""The admin's "Changes" page (``DiffsHistoryMixin``) through Django's test client."""

from __future__ import annotations

import html
import re

import pytest
from django.contrib.auth.models import Permission

from diffs.storage.writer import write_batch
from tests.payloads import batch, diff
from tests.testapp.admin import QuestionAdmin
from tests.testapp.models import HistoryChoice, HistoryPoll, Question

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
    assert "changed question_text second → third" in rows[0]
    assert "99999" in rows[0]  # an actor that is no user shows as it is
    assert "staff changed question_text first → second" in rows[1]
    assert "created question_text first" in rows[2]


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
    assert f"poll Deleted poll (pk={gone_pk}) → kept poll" in rows[0]


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
