"""Django system checks for ``DIFFS_SETTINGS`` (ids ``diffs.E001``...).

A misconfiguration fails ``manage.py check`` (and every command that runs checks) with a hint,
instead of a traceback at the first save or deep in a worker.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from celery import current_app
from django.conf import settings as django_settings
from django.core.checks import CheckMessage, Error, Warning

from .conf import problems, settings
from .reading.diffset import DiffsDescriptor
from .registry import registrations
from .storage.connection import get_redis


def check_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Return an error for every malformed or unknown key of ``DIFFS_SETTINGS``."""
    raw = getattr(django_settings, "DIFFS_SETTINGS", {})
    return [Error(p.message, hint=p.hint, id=p.check_id) for p in problems(raw)]


def check_registrations(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Return an error for a registered model whose ``diffs`` attribute was taken over."""
    errors: list[CheckMessage] = []
    for registration in registrations():
        if not isinstance(registration.model.__dict__.get("diffs"), DiffsDescriptor):
            errors.append(
                Error(
                    f"{registration.model._meta.label}.diffs is no longer the diffs manager "
                    "(a related_name or attribute named 'diffs' replaced it).",
                    hint="Rename the related_name or attribute that is called 'diffs'.",
                    obj=registration.model,
                    id="diffs.E013",
                )
            )
    return errors


def check_celery_app(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Warn when no project Celery app is loaded: diffs would go to Celery's fallback app."""
    conf = current_app.conf
    if current_app.main in (None, "default") and not conf.broker_url:
        return [
            Warning(
                "No Celery app of the project is loaded, so diffs would be published with "
                "Celery's fallback app (broker amqp://guest@localhost//).",
                hint="Import your Celery app in your project package's __init__.py, as "
                "Celery's Django guide shows: `from .celery import app as celery_app`.",
                id="diffs.W001",
            )
        ]
    scheme = urlsplit(str(conf.broker_url or "")).scheme
    options = conf.broker_transport_options or {}
    if scheme in ("amqp", "pyamqp", "amqps") and not options.get("confirm_publish"):
        return [
            Warning(
                "The AMQP broker is used without publisher confirms: a diff published just "
                "before the connection drops is lost without an error to spool it.",
                hint="Set CELERY_BROKER_TRANSPORT_OPTIONS = {'confirm_publish': True}.",
                id="diffs.W002",
            )
        ]
    return []


def check_redis_reachable(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Return an error when the storage Redis does not answer (run by ``check --deploy``)."""
    if check_settings():
        return []  # the settings errors say what to fix first
    try:
        get_redis().ping()
    except Exception as exc:
        return [
            Error(
                f"The diffs storage Redis at {_redacted(settings.redis_url)!r} does not "
                f"answer: {exc}.",
                hint="Start Redis or correct DIFFS_SETTINGS['redis'].",
                id="diffs.E020",
            )
        ]
    return []


def _redacted(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@")).geturl()
