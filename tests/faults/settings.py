"""Settings of the processes that fault tests start (web clients, workers, beat).

Everything variable comes from the environment the test sets: the shared SQLite file, the
storage Redis, the broker, and a key prefix and queue of the test's own.
"""

import json
import os

from tests.settings import *  # noqa: F403

if os.environ.get("FAULT_PG_DB"):
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": os.environ["FAULT_PG_DB"],
            "HOST": os.environ.get("PGHOST", "127.0.0.1"),
            "PORT": os.environ.get("PGPORT", "5432"),
            "USER": os.environ.get("PGUSER", "postgres"),
        }
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ["FAULT_DB"],
            # WAL is set on the file by the harness: Django < 5.1 has no init_command for SQLite.
            "OPTIONS": {"timeout": 30},
        }
    }

# A worker of an older deploy: without the apps named here (comma-separated).
_WITHOUT = set(filter(None, os.environ.get("FAULT_WITHOUT_APPS", "").split(",")))
INSTALLED_APPS = [app for app in INSTALLED_APPS if app not in _WITHOUT]  # noqa: F405

DIFFS_SETTINGS = {
    "redis": {"url": os.environ["FAULT_STORAGE_URL"], "socket_timeout": 2},
    "key_prefix": os.environ["FAULT_PREFIX"],
    "queue": os.environ["FAULT_QUEUE"],
    "raise_errors": False,
    "publish_timeout": 1.0,
    "write_max_retries": 20,
    "write_retry_backoff_max": 1,
    "outbox_resend_after": 5,
    "resend_interval": 2,
    "durability": os.environ.get("FAULT_DURABILITY", "spool"),
    "publish": os.environ.get("FAULT_PUBLISH", "background"),
    # Whatever a test wants to try on top, as JSON (null stands for an unset environment variable).
    **json.loads(os.environ.get("FAULT_DIFFS_SETTINGS", "{}")),
}

# A web process of a scenario serves these URLs (runserver); tests.urls by default.
ROOT_URLCONF = os.environ.get("FAULT_URLCONF", ROOT_URLCONF)  # noqa: F405
ALLOWED_HOSTS = ["127.0.0.1"]

CELERY_BROKER_URL = os.environ["FAULT_BROKER_URL"]
CELERY_BROKER_CONNECTION_TIMEOUT = 1
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": int(os.environ.get("FAULT_VISIBILITY_TIMEOUT", "3600")),
    # Redis broker: sweep for a dead worker's unacknowledged tasks every second, not every 100.
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
    # A worker killed while it holds the restore lock would otherwise block restores for 5 min.
    "unacked_mutex_expire": 10,
    # AMQP: without publisher confirms a publish "succeeds" once it is in the socket buffer.
    "confirm_publish": True,
}
# 1 keeps what a killed worker held small; a scenario where each message crosses a slow hop
# (the RabbitMQ proxy) takes more per round trip.
CELERY_WORKER_PREFETCH_MULTIPLIER = int(os.environ.get("FAULT_PREFETCH", "1"))
