"""Proxy models: a row has one history, whichever class saved it (issue 22, item 1).

Saves through a proxy of a registered model are recorded in the concrete model's history, and
every way of reading it agrees: the proxy's and the concrete model's ``diffs``, by instance or
by pk, ``diffs.is_registered`` and ``show_diffs`` under either label. Registering a proxy is
refused with what to do instead (tests/integration/test_registry.py).
"""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

import diffs
from diffs.registry import get_registration
from tests.delivered import delivered  # noqa: F401  (fixture)
from tests.testapp.models import Question, QuestionProxy

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("delivered")]


def test_saves_through_a_proxy_and_the_concrete_model_are_one_history():
    proxied = QuestionProxy.objects.create(question_text="through the proxy")
    concrete = Question.objects.get(pk=proxied.pk)
    concrete.question_text = "through the model"
    concrete.save()
    proxied = QuestionProxy.objects.get(pk=proxied.pk)
    proxied.question_text = "through the proxy again"
    proxied.save()

    expected = [
        (True, {"question_text": "through the proxy"}),
        (False, {"question_text": "through the model"}),
        (False, {"question_text": "through the proxy again"}),
    ]
    readings = [
        proxied.diffs,
        concrete.diffs,
        QuestionProxy.diffs.get_by_object_id(proxied.pk),
        Question.diffs.get_by_object_id(proxied.pk),
    ]
    for history in readings:
        assert [(d.created, {"question_text": d.new["question_text"]}) for d in history] == \
            expected
        assert {d.model for d in history} == {"testapp.question"}


def test_a_delete_through_a_proxy_is_in_the_rows_history():
    proxied = QuestionProxy.objects.create(question_text="short-lived")
    pk = proxied.pk
    proxied.delete()
    assert [d.deleted for d in Question.diffs.get_by_object_id(pk)] == [False, True]


def test_a_proxy_of_a_registered_model_counts_as_registered():
    assert diffs.is_registered(QuestionProxy)
    assert diffs.is_registered(QuestionProxy(question_text="x"))
    assert get_registration(QuestionProxy) is get_registration(Question)


@pytest.mark.parametrize("label", ["testapp.questionproxy", "testapp.QuestionProxy"])
def test_show_diffs_reads_the_rows_history_under_the_proxys_label(label):
    question = Question.objects.create(question_text="asked")
    out = io.StringIO()
    call_command("show_diffs", label, str(question.pk), stdout=out)
    _, line = out.getvalue().splitlines()
    assert f"testapp.question:{question.pk}" in line and "question_text='asked'" in line
