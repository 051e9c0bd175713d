"""The HTTP benchmark's WSGI application, with the project's Celery app loaded (as a project's
``__init__.py`` does), so django-diffs publishes through it."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.http_settings")

from django.core.wsgi import get_wsgi_application

import bench.celery_app  # noqa: F401  (django.setup() and the project's Celery app)

application = get_wsgi_application()
