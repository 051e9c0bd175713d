"""System checks: every misconfiguration is an error with an id and a hint, never a traceback."""

import re

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from diffs.checks import (
    check_celery_app,
    check_redis_reachable,
    check_registrations,
    check_schedule,
    check_settings,
)
from diffs.conf import Settings, diffs_settings
from diffs.storage.topology import KEYS, configured
from tests.celery_app import app as celery_app
from tests.conftest import every_database
from tests.optional import needs_celery_beat
from tests.testapp.models import Choice


def ids(messages):
    return [message.id for message in messages]


#: A bad DIFFS_SETTINGS for each check id of the settings: each key has one of its own.
BAD = [
    ("redis://x", "diffs.E001"),
    ({"max_age": 5}, "diffs.E002"),
    ({"max_element_age": "1h"}, "diffs.E101"),
    ({"key_prefix": "diffs:*"}, "diffs.E102"),
    ({"queue": 5}, "diffs.E103"),
    ({"enabled": "yes"}, "diffs.E104"),
    ({"raise_errors": 1}, "diffs.E105"),
    ({"max_diff_bytes": 1.5}, "diffs.E106"),
    ({"prune_interval": -1}, "diffs.E107"),
    ({"resend_interval": 0}, "diffs.E108"),
    ({"durability": "maybe"}, "diffs.E109"),
    ({"publish_timeout": 0}, "diffs.E110"),
    ({"publish": "later"}, "diffs.E111"),
    ({"publish_batch_size": 0}, "diffs.E112"),
    ({"publish_interval": -1}, "diffs.E113"),
    ({"publish_queue_size": "big"}, "diffs.E114"),
    ({"outbox_resend_after": 0}, "diffs.E115"),
    ({"write_max_retries": -1}, "diffs.E116"),
    ({"write_retry_backoff_max": 0}, "diffs.E117"),
    ({"max_unknown_label_diffs": -1}, "diffs.E118"),
    ({"database_keys": {"other": "o:1"}}, "diffs.E119"),
    ({"feed_limit": 50, "feed_max_limit": 10}, "diffs.E120"),
    ({"feed_max_limit": "many"}, "diffs.E121"),
    ({"feed_max_wait": -1}, "diffs.E122"),
    ({"feed_permission": "tests.nowhere.allow"}, "diffs.E123"),
    ({"request_context": 42}, "diffs.E124"),
    ({"feed_filter": "tests.nowhere.visible"}, "diffs.E125"),
    ({"squash": "yes"}, "diffs.E126"),
    ({"feed_sse_heartbeat": 0}, "diffs.E140"),
    ({"feed_sse_max_duration": "5m"}, "diffs.E141"),
    ({"metrics_port": 70000}, "diffs.E150"),
    ({"storage_replicas": -1}, "diffs.E151"),
    ({"storage_replicas_timeout": 0}, "diffs.E152"),
    ({"redis": "redis://localhost"}, "diffs.E200"),
    ({"redis": {"urll": "redis://localhost"}}, "diffs.E201"),
    ({"redis": {"cluster": {"url": "redis://h:7000"}, "sentinel": {
        "sentinels": [["h", 26379]], "service_name": "m"}}}, "diffs.E202"),
    ({"redis": {"url": "http://localhost"}}, "diffs.E203"),
    ({"redis": {"host": ""}}, "diffs.E204"),
    ({"redis": {"port": 70000}}, "diffs.E205"),
    ({"redis": {"db": -1}}, "diffs.E206"),
    ({"redis": {"password": 1234}}, "diffs.E207"),
    ({"redis": {"username": 1234}}, "diffs.E208"),
    ({"redis": {"ssl": "true"}}, "diffs.E209"),
    ({"redis": {"socket_timeout": "5"}}, "diffs.E210"),
    ({"redis": {"cluster": {"startup_nodes": []}}}, "diffs.E211"),
    ({"redis": {"sentinel": {"service_name": "m"}}}, "diffs.E212"),
]


@every_database
@pytest.mark.parametrize(("value", "check_id"), BAD, ids=[check_id for _, check_id in BAD])
def test_manage_py_check_fails_with_the_id_of_the_bad_key_and_a_hint(settings, value, check_id):
    settings.DIFFS_SETTINGS = value
    with pytest.raises(SystemCheckError) as failed:
        call_command("check")
    assert re.findall(r"diffs\.[EW]\d{3}", str(failed.value)) == [check_id]
    (error,) = check_settings()
    assert (error.id, bool(error.hint)) == (check_id, True)


def test_each_check_id_of_the_settings_is_tested_above():
    declared = {setting.check_id for setting in Settings.declared()}
    declared |= {rule.check_id for _, rule in KEYS.values()}
    assert {check_id for _, check_id in BAD} == declared | {
        "diffs.E001", "diffs.E002", "diffs.E201", "diffs.E202"}


@every_database
def test_silenced_system_checks_silences_exactly_one_key(settings):
    settings.DIFFS_SETTINGS = {"max_element_age": 0, "queue": "", "redis": {"urll": "x"}}
    settings.SILENCED_SYSTEM_CHECKS = ["diffs.E101", "diffs.E201"]
    with pytest.raises(SystemCheckError) as failed:
        call_command("check")
    assert re.findall(r"diffs\.E\d{3}", str(failed.value)) == ["diffs.E103"]
    settings.SILENCED_SYSTEM_CHECKS = ["diffs.E101", "diffs.E103", "diffs.E201"]
    call_command("check")


def test_defaults_and_a_full_valid_configuration_pass(settings):
    settings.DIFFS_SETTINGS = {}
    assert check_settings() == []
    settings.DIFFS_SETTINGS = {
        "redis": {"host": "h", "port": 6380, "db": 2, "password": "p", "ssl": True},
        "max_element_age": 60, "key_prefix": "app-diffs", "queue": "q", "enabled": False,
        "raise_errors": True, "prune_interval": 0.5, "max_diff_bytes": 1000,
        "durability": "outbox", "publish_timeout": 0.2, "write_max_retries": 0,
        "write_retry_backoff_max": 10, "outbox_resend_after": 30,
        "feed_limit": 10, "feed_max_limit": 20, "feed_max_wait": 0,
        "feed_permission": "tests.integration.test_feed.allow_odd_pks",
    }
    assert check_settings() == []
    assert configured().url == "rediss://:p@h:6380/2"


@every_database
def test_manage_py_check_passes_with_the_test_settings():
    call_command("check")


def test_the_snapshot_follows_override_settings(settings):
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS, "queue": "elsewhere"}
    assert diffs_settings.queue == "elsewhere"
    with override_settings(DIFFS_SETTINGS={**settings.DIFFS_SETTINGS, "queue": "inner"}):
        assert diffs_settings.queue == "inner"
    assert diffs_settings.queue == "elsewhere"


def test_unreachable_redis_is_reported_by_the_deploy_check_without_the_password(settings):
    settings.DIFFS_SETTINGS = {"redis": {"url": "redis://:secret@127.0.0.1:1/0",
                                         "socket_timeout": 0.5}}
    (error,) = check_redis_reachable()
    assert error.id == "diffs.E020"
    assert "secret" not in error.msg
    assert ":***@" in error.msg


def test_reachable_redis_passes_the_deploy_check(redis_server):
    assert check_redis_reachable() == []


def test_registered_models_keep_their_diffs_manager():
    assert check_registrations() == []


def test_amqp_broker_without_publisher_confirms_is_warned_about():
    previous = celery_app.conf.broker_url, celery_app.conf.broker_transport_options
    celery_app.conf.broker_url = "amqp://guest@localhost//"
    celery_app.conf.broker_transport_options = {}
    try:
        assert ids(check_celery_app()) == ["diffs.W002"]
        celery_app.conf.broker_transport_options = {"confirm_publish": True}
        assert check_celery_app() == []
    finally:
        celery_app.conf.broker_url, celery_app.conf.broker_transport_options = previous


@pytest.fixture
def no_beat_entries():
    saved = celery_app.conf.beat_schedule
    celery_app.conf.beat_schedule = {}
    yield
    celery_app.conf.beat_schedule = saved


@pytest.mark.django_db
@pytest.mark.usefixtures("no_beat_entries")
def test_nothing_scheduling_the_prune_is_a_warning():
    (warning,) = check_schedule(databases=["default"])
    assert warning.id == "diffs.W003"
    assert "diffs.prune nor diffs.resend" in warning.msg
    assert "beat_schedule()" in warning.hint


@needs_celery_beat
@pytest.mark.django_db
@pytest.mark.usefixtures("no_beat_entries")
def test_the_readme_beat_line_or_a_periodic_task_silences_the_warning():
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    from diffs_tasks.schedule import beat_schedule

    celery_app.conf.beat_schedule = beat_schedule()
    assert check_schedule(databases=["default"]) == []
    celery_app.conf.beat_schedule = {}
    every = IntervalSchedule.objects.create(every=60, period=IntervalSchedule.SECONDS)
    task = PeriodicTask.objects.create(name="prune", task="diffs.prune", interval=every)
    assert check_schedule(databases=["default"]) == []
    task.enabled = False
    task.save()
    assert [w.id for w in check_schedule(databases=["default"])] == ["diffs.W003"]
    assert check_schedule() == []  # without the database it cannot tell: no warning


def test_a_parent_hook_under_the_other_name_is_a_warning(monkeypatch):
    monkeypatch.setattr(Choice, "get_parent_object", lambda self: self.question, raising=False)
    monkeypatch.delattr(Choice, "get_diff_parent")
    (warning,) = [m for m in check_registrations() if m.id == "diffs.W006"]
    assert "testapp.Choice defines get_parent_object()" in warning.msg
    assert "get_diff_parent()" in warning.hint
