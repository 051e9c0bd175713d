"""The docs' ``polls/admin.py`` (``DiffsHistoryMixin`` on the quick start's ``Question``) gives
its admin the Changes page the Admin page describes."""

import pytest
from django.contrib.auth.models import Permission

from polls.models import Question


@pytest.mark.django_db(transaction=True)
def test_the_docs_admin_shows_a_questions_changes(client, django_user_model, delivery):
    staff = django_user_model.objects.create_user("staff", password="pw", is_staff=True)
    staff.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_question", "change_question"],
                                   content_type__app_label="polls"))
    client.force_login(staff)
    question = Question.objects.create(question_text="What is new?")
    question.question_text = "What is next?"
    question.save()

    form = client.get(f"/admin/polls/question/{question.pk}/change/").content.decode()
    assert f'href="/admin/polls/question/{question.pk}/changes/"' in form
    page = client.get(f"/admin/polls/question/{question.pk}/changes/")
    assert page.status_code == 200
    assert "What is new?" in page.content.decode() and "What is next?" in page.content.decode()
