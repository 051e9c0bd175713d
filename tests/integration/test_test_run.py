"""A test run's own key prefix and queue (diffs.testing.run), in process, on the session's Redis.

This suite opts out of the plugin's run (``diffs_configured_storage = true`` in setup.cfg), so
each test makes a run of its own; the names are fresh, so it touches no one else's data. The
whole path, a user's project run twice against a development Redis, is in
``tests/e2e/test_test_run_isolation.py``.
"""

from __future__ import annotations

import logging
import socket

import pytest
from celery import Celery
from django.test import override_settings

import diffs
from diffs.conf import diffs_settings
from diffs.testing import TestRun, configured_storage
from tests.celery_app import app as celery_app
from tests.testapp.models import Question


def test_a_run_merges_names_of_its_own_and_gives_the_configured_ones_back():
    with TestRun() as run:
        assert run.prefix.startswith("diffs-testrun-") and run.queue.startswith("diffs-testrun-")
        assert (diffs_settings.key_prefix, diffs_settings.queue) == (run.prefix, run.queue)
        assert diffs_settings.raise_errors is True  # the rest of DIFFS_SETTINGS is kept
    assert (diffs_settings.key_prefix, diffs_settings.queue) == ("diffs", "diffs")


@pytest.mark.django_db(transaction=True)
def test_what_a_run_publishes_and_stores_is_deleted_at_its_end(storage, broker, eager):
    with TestRun() as run:
        celery_app.conf.task_always_eager = False
        Question.objects.create(question_text="published")
        assert diffs.flush(timeout=10)
        assert broker.llen(run.queue) == 1
        assert broker.llen("diffs") == 0
        celery_app.conf.task_always_eager = True
        stored = Question.objects.create(question_text="stored")
        assert len(stored.diffs) == 1
        assert storage.keys(f"{run.prefix}:*")
    assert storage.keys("*") == []
    assert [key for key in broker.keys("*") if run.queue in key] == []


@pytest.mark.django_db(transaction=True)
def test_settings_replaced_whole_in_a_run_are_refused_before_anything_is_published(broker):
    with TestRun() as run, override_settings(DIFFS_SETTINGS={"raise_errors": True}):
        refused = pytest.raises(diffs.ConfigurationError, match=r"merge changes into it")
        with refused:
            Question.objects.create(question_text="would reach development data")
        assert diffs.flush(timeout=10)
        assert diffs_settings.queue == "diffs"
    assert broker.llen("diffs") == 0
    assert run.queue in str(refused.excinfo.value)


@pytest.mark.django_db(transaction=True)
def test_configured_storage_opts_a_test_out_of_the_runs_names(storage, eager):
    with TestRun() as run:
        with configured_storage():
            assert (diffs_settings.key_prefix, diffs_settings.queue) == ("diffs", "diffs")
            question = Question.objects.create(question_text="on the configured prefix")
        assert diffs_settings.key_prefix == run.prefix
        assert len(question.diffs) == 0
    assert len(question.diffs) == 1  # stored under "diffs", which the run does not delete


def test_configured_storage_outside_a_run_changes_nothing():
    with configured_storage():
        assert diffs_settings.key_prefix == "diffs"


def test_a_broker_that_does_not_answer_at_the_end_fails_nothing(diffs_log, settings):
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS, "publish_timeout": 0.2}
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    Celery("gone", broker=f"redis://127.0.0.1:{port}/0", set_as_current=False).set_current()
    try:
        with TestRun():
            pass  # nothing was sent: no warning, only a debug line
    finally:
        celery_app.set_current()
    assert [r for r in diffs_log if r.levelno >= logging.WARNING] == []
