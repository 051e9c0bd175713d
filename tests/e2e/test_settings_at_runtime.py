"""Bad settings where no system check runs (WSGI, ASGI, shell, worker): logged once, never raised.

Each bad value falls back to its key's default, with one error naming the key and the fix, and
``save()`` / ``delete()`` never raise because of recording.
"""

from __future__ import annotations

import logging

import pytest

from diffs import conf
from diffs.conf import diffs_settings
from diffs.recording import handlers, tracking
from tests.conftest import wait_for_diffs
from tests.testapp.models import Question


@pytest.fixture(autouse=True)
def _nothing_reported_yet(monkeypatch):
    """Each test starts as a fresh process would: no problem logged yet."""
    monkeypatch.setattr(conf, "_reported", set())


def errors_of(records):
    return [r.getMessage() for r in records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize(
    ("key", "value", "default"),
    [
        ("max_diff_bytes", None, 512 * 1024),
        ("max_element_age", "1h", 3600),
        ("durability", "maybe", "spool"),
        ("enabled", "yes", True),
        ("publish_timeout", 0, 1.0),
        ("queue", "", "diffs"),
    ],
)
def test_a_bad_value_reads_as_the_default_with_one_logged_error(
    settings, diffs_log, key, value, default
):
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS, key: value}
    assert getattr(diffs_settings, key) == default
    assert getattr(diffs_settings, key) == default
    (error,) = errors_of(diffs_log)
    assert f"DIFFS_SETTINGS[{key!r}] is {value!r}" in error
    assert "Using the default instead" in error


def test_a_bad_redis_key_is_left_out_of_the_redis_block(settings, diffs_log):
    settings.DIFFS_SETTINGS = {"redis": {"url": "redis://127.0.0.1:1/0", "socket_timeout": "x"}}
    assert diffs_settings.redis_url == "redis://127.0.0.1:1/0"
    assert diffs_settings.redis_socket_timeout == 5.0
    assert "['redis']['socket_timeout'] is 'x'" in errors_of(diffs_log)[0]


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("worker")
@pytest.mark.parametrize(
    "bad", [{"max_diff_bytes": None}, {"raise_errors": "no"}, {"max_element_age": -1}]
)
def test_save_and_delete_work_and_record_with_a_bad_setting(settings, bad):
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS, "raise_errors": False, **bad}
    question = Question.objects.create(question_text="a")
    question.question_text = "b"
    question.save()
    pk = question.pk
    question.delete()
    created, changed, deleted = wait_for_diffs(Question.diffs.get_by_object_id(pk), 3)
    assert (created.created, changed.new, deleted.deleted) == (True, {"question_text": "b"}, True)


@pytest.mark.django_db(transaction=True)
def test_an_unexpected_failure_in_a_handler_is_logged_and_the_save_goes_through(
    settings, diffs_log, monkeypatch
):
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS, "raise_errors": False}

    def broken(*args, **kwargs):
        raise RuntimeError("a bug in recording")

    monkeypatch.setattr(tracking, "dirty", broken)
    before = handlers.errors["handler"]
    question = Question.objects.create(question_text="saved anyway")
    question.delete()  # the delete handler does not use dirty(): it records as usual
    assert not Question.objects.filter(pk=question.pk).exists()
    assert handlers.errors["handler"] == before + 1
    assert any("failed; the change itself is saved" in m for m in errors_of(diffs_log))


@pytest.mark.slow
def test_a_process_that_runs_no_checks_logs_the_bad_setting_once_and_records(scenarios):
    """A plain django.setup() (what a WSGI server does) with an unset environment variable."""
    scenario = scenarios(FAULT_DIFFS_SETTINGS='{"max_diff_bytes": null}')
    scenario.worker()
    out = scenario.run_process(
        "from tests.testapp.models import Question;"
        "q = Question.objects.create(question_text='a');"
        "q.question_text = 'b'; q.save(); q.delete();"
        "print('saved')"
    )
    assert out.stdout.strip() == "saved"
    problems = [line for line in out.stderr.splitlines() if "max_diff_bytes" in line]
    assert len(problems) == 1, out.stderr
    assert "Using the default instead" in problems[0]
    assert len(scenario.wait_stored(3, timeout=60)) == 3
