"""The test project's Celery app, configured the way the docs tell users to: Getting started's
``proj/celery.py`` and the Pruning page's beat schedule (without it ``manage.py check`` warns,
diffs.W003, wherever django-celery-beat is not installed, as beside Django 6.1)."""

from celery import Celery

from diffs_tasks.schedule import beat_schedule

app = Celery("tests")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.conf.beat_schedule = {**app.conf.beat_schedule, **beat_schedule()}
