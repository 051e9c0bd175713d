"""The checks that ask a service: Redis reachable (the deploy check), a periodic task scheduled."""

import pytest

from diffs.checks import check_redis_reachable, check_schedule
from tests.celery_app import app as celery_app


def test_unreachable_redis_is_reported_by_the_deploy_check_without_the_password(settings):
    settings.DIFFS_SETTINGS = {"redis": {"url": "redis://:secret@127.0.0.1:1/0",
                                         "socket_timeout": 0.5}}
    (error,) = check_redis_reachable()
    assert error.id == "diffs.E020"
    assert "secret" not in error.msg
    assert ":***@" in error.msg


def test_reachable_redis_passes_the_deploy_check(redis_server):
    assert check_redis_reachable() == []


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
