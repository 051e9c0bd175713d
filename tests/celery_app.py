"""The test project's Celery app, configured the way the docs' Getting started tells users to."""

from celery import Celery

app = Celery("tests")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
