"""Settings of the ``celery beat`` subprocesses of tests/e2e/test_beat.py.

The test suite's settings, with a 1-second prune interval and the broker the test names. With
``DIFFS_TEST_BEAT_DB`` set, django-celery-beat's tables are on that SQLite file.
"""

import os

from tests.settings import *  # noqa: F403
from tests.settings import DIFFS_SETTINGS

DIFFS_SETTINGS = {**DIFFS_SETTINGS, "prune_interval": 1}
CELERY_BROKER_URL = os.environ.get("DIFFS_TEST_BROKER_URL")

if os.environ.get("DIFFS_TEST_BEAT_DB"):
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ["DIFFS_TEST_BEAT_DB"],
        }
    }
