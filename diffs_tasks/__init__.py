"""Celery tasks of django-diffs. Add ``"diffs_tasks"`` to ``INSTALLED_APPS`` so that the
project's ``app.autodiscover_tasks()`` finds them."""
