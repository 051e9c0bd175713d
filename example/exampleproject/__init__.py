"""The example project. Importing its Celery app here makes shared tasks bind to it."""

from .celery import app as celery_app

__all__ = ["celery_app"]
