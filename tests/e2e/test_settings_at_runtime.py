"""Bad settings where no system check runs (WSGI, ASGI, shell, worker): logged once, never raised.

Each bad value falls back to its key's default, with one error naming the key and the fix, and
``save()`` / ``delete()`` never raise because of recording. The storage location is the
exception: it never falls back, and a real worker keeps the diffs it cannot store.
"""

from __future__ import annotations

import json
import logging
import os

import pytest

from diffs.conf import diffs_settings
from diffs.recording import handlers, tracking
from tests.conftest import wait_for_diffs, wait_until
from tests.connect_guard import SITE
from tests.testapp.models import Question


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


@pytest.mark.slow
def test_a_worker_with_a_typo_in_the_redis_block_keeps_its_diffs_and_stores_nowhere(
    scenarios, redis_server
):
    """``urll`` for ``url``: the worker and the web process have no default to fall back to.

    Both processes run with :mod:`tests.connect_guard` (a connection to port 6379 of this
    machine, the default location, would be refused and fail the test, not write there). The
    diffs wait in the database; a worker started with the block fixed then stores them.
    """
    typo = json.dumps({"redis": {"urll": redis_server["storage_url"]}})
    scenario = scenarios(FAULT_DIFFS_SETTINGS=typo,
                         PYTHONPATH=os.pathsep.join([str(SITE), str(SITE.parent.parent)]))
    worker = scenario.worker()
    out = scenario.run_process(
        "from tests.testapp.models import Question;"
        "q = Question.objects.create(question_text='a');"
        "q.question_text = 'b'; q.save(); q.delete();"
        "import diffs; diffs.flush(); print('saved')"
    )
    assert out.stdout.strip() == "saved"
    assert "unknown key 'urll'. Did you mean 'url'?" in out.stderr  # logged at start-up
    wait_until(lambda: scenario.pending_rows() == 3, timeout=120, interval=0.5)
    assert scenario.stored_ids() == []
    log = (scenario.tmp / "worker-0.log").read_text()
    kept = [line for line in log.splitlines() if "kept in the database" in line]
    assert kept and "the storage settings are wrong, nothing is stored" in kept[0]
    assert "unknown key 'urll'" in kept[0]
    assert "retry" not in log and "6379" not in log

    scenario.kill(worker)
    scenario.worker(FAULT_DIFFS_SETTINGS="{}")  # the block fixed: the scenario's own storage
    assert len(scenario.wait_settled(3)) == 3
