"""The background publisher without a broker: its settings checks, the uWSGI check, a process
where no thread can run, and how outbox references of several commits are merged."""

from __future__ import annotations

import sys
import uuid

import pytest
from django.core.management import call_command

import diffs
from diffs import checks, wire
from diffs.transport import background
from diffs.transport.counters import Counters
from tests.celery_app import app as celery_app


def test_merge_pending_joins_rows_of_one_database_and_refuses_two():
    first = wire.pending_rows("default", [(1, "a" * 16)])
    second = wire.pending_rows("default", [(2, "b" * 16)])
    merged = wire.merge_pending([first, second])
    assert wire.parse_pending(wire.batch([], merged), known_alias=lambda alias: True) == (
        "default", [(1, "a" * 16), (2, "b" * 16)])
    assert wire.merge_pending([]) is None
    with pytest.raises(ValueError):
        wire.merge_pending([first, wire.pending_rows("other", [(3, "c" * 16)])])


@pytest.mark.parametrize(("key", "value", "check_id"), [
    ("publish", "later", "diffs.E111"),
    ("publish_batch_size", 0, "diffs.E112"),
    ("publish_interval", -1, "diffs.E113"),
    ("publish_queue_size", "big", "diffs.E114"),
])
def test_bad_publish_settings_fail_the_checks(settings, key, value, check_id):
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS, key: value}
    assert [m.id for m in checks.check_settings()] == [check_id]


class FakeUwsgi:
    """The ``uwsgi`` module uWSGI puts in its processes, as far as the check reads it."""

    def __init__(self, **opt):
        self.opt = opt


@pytest.mark.parametrize(("opt", "warned"), [
    ({}, True),
    ({"enable-threads": True}, False),
    ({"enable-threads": b"true"}, False),
    ({"threads": b"4"}, False),
    ({"enable-threads": b"false"}, True),
])
def test_uwsgi_without_threads_warns_w004(monkeypatch, opt, warned):
    monkeypatch.setitem(sys.modules, "uwsgi", FakeUwsgi(**opt))
    found = [m.id for m in checks.check_publisher()]
    assert found == (["diffs.W004"] if warned else [])


def test_uwsgi_without_threads_is_not_warned_in_on_commit_mode(monkeypatch, settings):
    monkeypatch.setitem(sys.modules, "uwsgi", FakeUwsgi())
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS, "publish": "on_commit"}
    assert checks.check_publisher() == []
    call_command("check", tags=["diffs"])  # a warning never fails it; here there is none


def test_a_process_where_no_thread_can_run_publishes_synchronously(monkeypatch, diffs_log):
    monkeypatch.setitem(sys.modules, "uwsgi", FakeUwsgi())
    queue = f"diffs-nothread-{uuid.uuid4().hex[:8]}"
    publisher = background.Publisher(lambda *args: None, lambda *args: None, Counters())
    try:
        assert publisher.submit([{}], None, celery_app, queue) is False
        assert publisher.submit([{}], None, celery_app, queue) is False
    finally:
        publisher.close(0)
    warnings = [r.getMessage() for r in diffs_log if "enable-threads" in r.getMessage()]
    assert len(warnings) == 1  # logged once


def test_flush_with_nothing_committed_returns_true():
    assert diffs.flush(timeout=0) is True
    assert set(diffs.stats()) == {"diffs_recorded", "diffs_published", "messages_sent",
                                  "backpressure_publishes", "diffs_spooled", "diffs_resent",
                                  "queue_high_water", "queue_length"}
