"""The Celery app the beat tests run: the test project's app plus the prune entry, added the
one-line way the docs' Pruning page tells projects to."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.beat_settings")

from diffs_tasks.schedule import beat_schedule
from tests.celery_app import app

app.conf.beat_schedule = {**app.conf.beat_schedule, **beat_schedule()}
