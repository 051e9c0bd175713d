"""System checks: every misconfiguration is an error with an id and a hint, never a traceback."""

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from diffs.checks import (
    check_celery_app,
    check_redis_reachable,
    check_registrations,
    check_schedule,
    check_settings,
)
from diffs.conf import diffs_settings
from tests.celery_app import app as celery_app
from tests.conftest import every_database
from tests.optional import needs_celery_beat
from tests.testapp.models import Choice


def ids(messages):
    return [message.id for message in messages]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("redis://x", ["diffs.E001"]),
        ({"max_age": 5}, ["diffs.E002"]),
        ({"max_element_age": "1h"}, ["diffs.E005"]),
        ({"max_element_age": 0}, ["diffs.E005"]),
        ({"max_element_age": True}, ["diffs.E005"]),
        ({"key_prefix": ""}, ["diffs.E006"]),
        ({"key_prefix": "a b"}, ["diffs.E006"]),
        ({"key_prefix": "diffs:*"}, ["diffs.E006"]),
        ({"queue": 5}, ["diffs.E007"]),
        ({"enabled": "yes"}, ["diffs.E008"]),
        ({"raise_errors": 1}, ["diffs.E008"]),
        ({"prune_interval": -1}, ["diffs.E009"]),
        ({"max_diff_bytes": 1.5}, ["diffs.E010"]),
        ({"durability": "maybe"}, ["diffs.E011"]),
        ({"publish_timeout": 0}, ["diffs.E012"]),
        ({"write_max_retries": -1}, ["diffs.E012"]),
        ({"redis": "redis://localhost"}, ["diffs.E003"]),
        ({"redis": {"hots": "x"}}, ["diffs.E003"]),
        ({"redis": {"port": "6379"}}, ["diffs.E004"]),
        ({"redis": {"port": 70000}}, ["diffs.E004"]),
        ({"redis": {"db": -1}}, ["diffs.E004"]),
        ({"redis": {"url": "http://localhost"}}, ["diffs.E004"]),
        ({"redis": {"ssl": "true"}}, ["diffs.E004"]),
        ({"max_element_age": 0, "queue": ""}, ["diffs.E005", "diffs.E007"]),
        ({"feed_limit": 0}, ["diffs.E014"]),
        ({"feed_max_limit": "many"}, ["diffs.E014"]),
        ({"feed_max_wait": -1}, ["diffs.E014"]),
        ({"feed_limit": 50, "feed_max_limit": 10}, ["diffs.E014"]),
        ({"feed_permission": "tests.nowhere.allow"}, ["diffs.E015"]),
        ({"feed_permission": "tests.settings.SECRET_KEY"}, ["diffs.E015"]),
        ({"feed_permission": 5}, ["diffs.E015"]),
    ],
)
def test_bad_setting_is_an_error_with_a_hint(settings, value, expected):
    settings.DIFFS_SETTINGS = value
    errors = check_settings()
    assert ids(errors) == expected
    assert all(error.hint for error in errors)


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
    assert diffs_settings.redis_url == "rediss://:p@h:6380/2"


@every_database
def test_manage_py_check_fails_on_a_bad_setting(settings):
    settings.DIFFS_SETTINGS = {"max_element_age": "forever"}
    with pytest.raises(SystemCheckError, match=r"diffs\.E005"):
        call_command("check")


@every_database
def test_manage_py_check_passes_with_the_test_settings():
    call_command("check")


def test_url_wins_over_host_port_db(settings):
    settings.DIFFS_SETTINGS = {"redis": {"url": "redis://u:p@example:1/3", "host": "ignored"}}
    assert diffs_settings.redis_url == "redis://u:p@example:1/3"


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
