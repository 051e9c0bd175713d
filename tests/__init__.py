"""The test project. Like a Django project's package, it imports its Celery app, so that
every process using its settings (web clients and workers alike) publishes through it."""

from tests.celery_app import app as celery_app

__all__ = ["celery_app"]
