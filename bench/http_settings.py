"""Settings of ``bench/http_load.py``: a lean project on the bench's own PostgreSQL and Redis.

``BENCH_PG_PORT`` names the private PostgreSQL server the bench started on 127.0.0.1 (database
``BENCH_PG_NAME``), ``BENCH_REDIS_URL`` its redis-server (db 0 storage, db 1 broker). No
middleware: the three variants run the same request path, and none records a request context.
"""

import os

from bench.settings import (  # noqa: F401  (the bench project's Celery settings, as they are)
    CELERY_ACCEPT_CONTENT,
    CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP,
    CELERY_TASK_IGNORE_RESULT,
    CELERY_TASK_SERIALIZER,
    CELERY_WORKER_HIJACK_ROOT_LOGGER,
    LOGGING_CONFIG,
)

SECRET_KEY = "bench-only"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
ROOT_URLCONF = "bench.httpapp.urls"
MIDDLEWARE: list[str] = []

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "pgtrigger",
    "pghistory",
    "diffs",
    "diffs_tasks",
    "bench.httpapp",
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ.get("BENCH_PG_NAME", "bench_http"),
        "HOST": "127.0.0.1",
        "PORT": os.environ.get("BENCH_PG_PORT", "5432"),
        "USER": "postgres",
        "CONN_MAX_AGE": None,  # one connection per web process, as a production site keeps
    }
}

_REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:0")
DIFFS_SETTINGS = {"redis": {"url": f"{_REDIS}/0"}}
if os.environ.get("BENCH_HTTP_PUBLISH_INTERVAL"):  # an experiment: the publisher's interval
    DIFFS_SETTINGS["publish_interval"] = float(os.environ["BENCH_HTTP_PUBLISH_INTERVAL"])

CELERY_BROKER_URL = f"{_REDIS}/1"
