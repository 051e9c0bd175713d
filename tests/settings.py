"""Settings of the test suite. ``DIFFS_TEST_DB=postgres`` runs it on PostgreSQL.

The storage Redis and the broker are the test session's own ``redis-server`` (started by
pytest-redis on a free port); ``conftest.py`` fills in their URLs once it is up.
"""

import os
import sys
import tempfile
from importlib.util import find_spec
from pathlib import Path

import django

# The docs' examples import the quick start's app as a project does (`from polls.models ...`).
sys.path.insert(0, str(Path(__file__).resolve().parent / "docs_project"))

SECRET_KEY = "tests-only"
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "diffs",
    "diffs_tasks",
    "tests.testapp",
    "tests.otherapp",
    "tests.bulkapp",
    "polls",
]
if django.VERSION >= (5, 0):
    INSTALLED_APPS.append("tests.generatedapp")
if find_spec("rest_framework"):  # the drf extra (tests/optional.py)
    INSTALLED_APPS.append("rest_framework")
if find_spec("django_celery_beat"):  # not installable beside Django 6.1 yet (tests/optional.py)
    INSTALLED_APPS.append("django_celery_beat")

if os.environ.get("DIFFS_TEST_DB") == "postgres":
    DATABASES = {
        "default": {
            "ENGINE": "tests.postgres_backend",  # Django's, with a flush that waits less
            "NAME": "test",
            "HOST": os.environ.get("PGHOST", "127.0.0.1"),
            "PORT": os.environ.get("PGPORT", "5432"),
            "USER": os.environ.get("PGUSER", "postgres"),
            "TEST": {"NAME": f"test_diffs_{os.getpid()}"},
            # A test's commit need not wait for the disk: its database is gone afterwards.
            "OPTIONS": {"options": "-c synchronous_commit=off"},
        }
    }
    DATABASES["other"] = {
        **DATABASES["default"], "TEST": {"NAME": f"test_diffs_other_{os.getpid()}"}
    }
else:
    # Test databases in files, as production has them: several threads of the session (the
    # background publisher, the in-process worker, a server's) each use a connection of their
    # own, and a file database makes one wait for another's lock (SQLite's busy timeout). An
    # in-memory database is shared between threads through a shared cache, whose table locks
    # fail at once ("database table is locked") instead of waiting. On tmpfs when there is one:
    # a commit then costs no disk flush.
    _SQLITE_DIR = os.environ.get("DIFFS_TEST_SQLITE_DIR") or (
        "/dev/shm" if os.access("/dev/shm", os.W_OK) else tempfile.gettempdir()
    )

    def _sqlite(alias: str) -> dict:
        # Only the test databases are files (made and removed by the test run); a process
        # started with these settings outside it (a server, a worker) has a database in memory.
        name = os.path.join(_SQLITE_DIR, f"diffs-test-{os.getpid()}-{alias}.sqlite3")
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:", "TEST": {"NAME": name}}

    DATABASES = {
        "default": _sqlite("default"),
        # A second database: the same pk in both is two objects with two histories.
        "other": _sqlite("other"),
    }

ROOT_URLCONF = "tests.urls"
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
STATIC_URL = "/static/"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast test logins

DIFFS_SETTINGS = {"raise_errors": True}

CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
# The test project's own tasks (tests/testapp/tasks.py) go where the session's worker listens.
CELERY_TASK_ROUTES = {"tests.*": {"queue": "diffs"}}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

LOGGING_CONFIG = None

# Uploaded files of the tests (file and image fields) go to a directory of the run's own.
MEDIA_ROOT = os.environ.get("DIFFS_TEST_MEDIA_ROOT") or os.path.join(
    os.environ.get("TMPDIR", "/tmp"), f"diffs-test-media-{os.getpid()}"
)
