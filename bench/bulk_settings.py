"""Settings of ``bench/bulk.py``: the bench's own, plus simple-history and the bulk models."""

from bench.settings import *  # noqa: F403

# simple-history's history_user needs the auth app (bench.settings may already install both).
INSTALLED_APPS = [
    *INSTALLED_APPS,  # noqa: F405
    *(app for app in ("django.contrib.auth", "simple_history")
      if app not in INSTALLED_APPS),  # noqa: F405
    "bench.bulkapp",
]
