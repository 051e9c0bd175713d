"""Settings of ``bench/bulk.py``: the bench's own, plus simple-history and the bulk models."""

from bench.settings import *  # noqa: F403

INSTALLED_APPS = [  # simple-history's history_user needs the auth app
    *INSTALLED_APPS, "django.contrib.auth", "simple_history", "bench.bulkapp",  # noqa: F405
]
