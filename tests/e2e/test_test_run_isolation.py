"""A project's own tests never touch its development data (issue 22, item 5).

A small project in the quick start's shape, whose tests do not use the testing kit (except one),
runs its suite twice under pytest (the plugin loads itself) and twice under Django's runner
(``TEST_RUNNER = "diffs.testing.DiffsTestRunner"``; the second time with ``--parallel`` workers
that are spawned, not forked), against a "development" redis-server this
test starts and fills: diffs stored under the normal prefix, a message waiting in the broker's
``diffs`` queue, a key of another application. No worker runs, so a diff published to the
development queue would stay there to be seen. Afterwards every key of both databases is what it
was, byte for byte, and nothing else is there.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis

pytestmark = pytest.mark.slow

FILES = {
    "devproj/__init__.py": """
from .celery import app as celery_app

__all__ = ["celery_app"]
""",
    "devproj/celery.py": """
from celery import Celery

app = Celery("devproj")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
""",
    "devproj/settings.py": """
import multiprocessing
import os
from pathlib import Path

if os.environ.get("START_METHOD"):  # how the test makes Django's --parallel spawn its workers
    multiprocessing.set_start_method(os.environ["START_METHOD"], force=True)

SECRET_KEY = "a user's project"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "diffs", "diffs_tasks",
                  "polls"]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3",
                         "NAME": Path(__file__).parent.parent / "db.sqlite3"}}
DIFFS_SETTINGS = {"redis": {"url": os.environ["DEV_REDIS"] + "/0"}}
CELERY_BROKER_URL = os.environ["DEV_REDIS"] + "/1"
TEST_RUNNER = "diffs.testing.DiffsTestRunner"
SILENCED_SYSTEM_CHECKS = ["diffs.W003"]  # no beat schedule in this small project
""",
    "polls/__init__.py": "",
    "polls/models.py": """
from django.db import models

import diffs


@diffs.register
class Question(models.Model):
    question_text = models.CharField(max_length=200)
""",
    "polls/run_checks.py": """
import redis
from celery import current_app
from django.conf import settings

from diffs.conf import diffs_settings
from diffs.storage.connection import get_redis


def assert_run_names():
    assert diffs_settings.key_prefix.startswith("diffs-testrun-"), diffs_settings.key_prefix
    assert diffs_settings.queue.startswith("diffs-testrun-"), diffs_settings.queue


def run_keys():
    return get_redis().keys(f"{diffs_settings.key_prefix}:*")


def run_queue_length():
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    try:
        return client.llen(diffs_settings.queue)
    finally:
        client.close()


class eager:
    def __enter__(self):
        current_app.conf.task_always_eager = True

    def __exit__(self, *exc_info):
        current_app.conf.task_always_eager = False
""",
    # pytest, with pytest-django: the user adds nothing for the run's names.
    "polls/test_questions.py": """
import pytest

import diffs
from diffs.testing import assert_diff_recorded
from polls.models import Question
from polls.run_checks import assert_run_names, eager, run_keys, run_queue_length


@pytest.mark.django_db(transaction=True)
def test_a_committed_save_goes_to_the_runs_queue():
    assert_run_names()
    question = Question.objects.create(question_text="from a test")
    assert diffs.flush(timeout=30)
    assert question.pk == 1  # the pk of the development question
    assert run_queue_length() == 1
    assert len(question.diffs) == 0  # no worker reads the run's queue


@pytest.mark.django_db(transaction=True)
def test_eager_writes_go_under_the_runs_prefix():
    with eager():
        question = Question.objects.create(question_text="eager")
    assert [d.created for d in question.diffs] == [True]
    assert run_keys()


@pytest.mark.django_db
def test_no_development_diff_is_read():
    assert len(Question.diffs.get_by_object_id(1)) == 0


@pytest.mark.diffs_configured_storage
def test_a_test_that_opts_out_reads_development_data():
    assert len(Question.diffs.get_by_object_id(1)) == 2


def test_the_kit_inside_the_run(diffs_isolated):
    question = Question.objects.create(question_text="isolated")
    assert_diff_recorded(question, created=True)
""",
    # Django's runner: TEST_RUNNER in the settings.
    "polls/tests.py": """
from django.test import TestCase, TransactionTestCase

import diffs
from diffs.testing import configured_storage
from polls.models import Question
from polls.run_checks import assert_run_names, eager, run_keys, run_queue_length


class CommittingTests(TransactionTestCase):
    def test_a_committed_save_goes_to_the_runs_queue(self):
        assert_run_names()
        question = Question.objects.create(question_text="from a test")
        self.assertTrue(diffs.flush(timeout=30))
        self.assertEqual(run_queue_length(), 1)
        self.assertEqual(len(question.diffs), 0)

    def test_eager_writes_go_under_the_runs_prefix(self):
        with eager():
            question = Question.objects.create(question_text="eager")
        self.assertEqual([d.created for d in question.diffs], [True])
        self.assertTrue(run_keys())


class ReadingTests(TestCase):
    def test_no_development_diff_is_read(self):
        self.assertEqual(len(Question.diffs.get_by_object_id(1)), 0)

    @configured_storage()
    def test_a_test_that_opts_out_reads_development_data(self):
        self.assertEqual(len(Question.diffs.get_by_object_id(1)), 2)
""",
}

#: Development data: two diffs of question 1, stored by eager mode as a worker would.
DEVELOPMENT_DATA = """
from celery import current_app
from polls.models import Question

current_app.conf.task_always_eager = True
question = Question.objects.create(question_text="development")
question.question_text = "development, changed"
question.save()
print(len(question.diffs))
"""


@pytest.fixture
def development(servers):
    """Return the URL of a started redis-server standing for the development Redis."""
    server = servers("development", persistent=False)
    return f"redis://127.0.0.1:{server.port}"


def _run(argv: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    run = subprocess.run(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, f"{argv} failed:\n{run.stdout}\n{run.stderr}"
    return run


def _everything(url: str) -> dict[tuple[int, bytes], bytes]:
    """Return every key of databases 0 and 1 with its serialized value (``DUMP``)."""
    found = {}
    for db in (0, 1):
        client = redis.Redis.from_url(f"{url}/{db}")
        found.update({(db, key): client.dump(key) for key in client.keys("*")})
        client.close()
    return found


@pytest.mark.timeout(1200)  # six Django start-ups on a busy machine
def test_a_projects_tests_leave_development_data_untouched_and_nothing_behind(tmp_path,
                                                                              development):
    for path, code in FILES.items():
        (tmp_path / path).parent.mkdir(exist_ok=True)
        (tmp_path / path).write_text(code.lstrip())
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("DJANGO_", "DIFFS_", "PYTEST_"))}
    env.update(DEV_REDIS=development, DJANGO_SETTINGS_MODULE="devproj.settings",
               PYTHONPATH=str(tmp_path))
    django = [sys.executable, "-m", "django"]
    _run([*django, "makemigrations", "polls", "-v", "0"], tmp_path, env)
    _run([*django, "migrate", "-v", "0"], tmp_path, env)
    stored = _run([*django, "shell", "-c", DEVELOPMENT_DATA], tmp_path, env).stdout
    assert stored.splitlines()[-1] == "2"
    storage, broker = (redis.Redis.from_url(f"{development}/{db}") for db in (0, 1))
    broker.lpush("diffs", "a message waiting for the development worker")
    storage.set("another-app:session", "kept")
    before = _everything(development)
    assert any(b"polls.question:1" in key for _, key in before)

    pytest_run = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir",
                  str(tmp_path), "polls/test_questions.py"]
    for _ in range(2):
        assert "5 passed" in _run(pytest_run, tmp_path, env).stdout
        assert _everything(development) == before
    # Once in one process, once in two workers started afresh (as on macOS, or Python 3.14).
    for options, more_env in (([], {}), (["--parallel", "2"], {"START_METHOD": "spawn"})):
        ran = _run([*django, "test", "polls", *options], tmp_path, {**env, **more_env})
        assert "Ran 4 tests" in ran.stderr
        assert _everything(development) == before
    storage.close()
    broker.close()
