"""The project owns its Celery app; django-diffs' tasks bind to it through autodiscovery."""

import os

from celery import Celery

from diffs_tasks.schedule import beat_schedule

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "exampleproject.settings")

app = Celery("exampleproject")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.conf.beat_schedule = {**app.conf.beat_schedule, **beat_schedule()}
