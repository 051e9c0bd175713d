"""Django system checks for ``DIFFS_SETTINGS`` (ids ``diffs.E001``...).

A misconfiguration fails ``manage.py check`` (and every command that runs checks) with a hint,
instead of a traceback at the first save or deep in a worker.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from celery import current_app
from django.conf import settings as django_settings
from django.core.checks import CheckMessage, Error, Warning
from django.utils.module_loading import import_string

from .conf import DEFAULTS, DURABILITY_MODES, REDIS_KEYS, settings
from .reading.diffset import DiffsDescriptor
from .registry import registrations
from .storage.connection import get_redis


def _positive_int(value: Any) -> bool:
    return type(value) is int and value > 0


def _non_negative_int(value: Any) -> bool:
    return type(value) is int and value >= 0


def _positive_number(value: Any) -> bool:
    return type(value) in (int, float) and value > 0


def _non_negative_number(value: Any) -> bool:
    return type(value) in (int, float) and value >= 0


def _callable_path(value: Any) -> bool:
    if value is None:
        return True
    if not isinstance(value, str):
        return False
    try:
        return callable(import_string(value))
    except ImportError:
        return False


def _flag(value: Any) -> bool:
    return type(value) is bool


def _prefix(value: Any) -> bool:
    return (
        isinstance(value, str) and bool(value)
        and not any(c.isspace() or c in "*?[]\\:" for c in value)
    )


def _name(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


#: key -> (check id, predicate, what a valid value is)
_TOP_LEVEL: dict[str, tuple[str, Callable[[Any], bool], str]] = {
    "max_element_age": ("diffs.E005", _positive_int, "a positive int of seconds"),
    "key_prefix": (
        "diffs.E006", _prefix, "a non-empty string without spaces, ':' or glob characters"
    ),
    "queue": ("diffs.E007", _name, "a non-empty Celery queue name"),
    "enabled": ("diffs.E008", _flag, "True or False"),
    "raise_errors": ("diffs.E008", _flag, "True or False"),
    "prune_interval": ("diffs.E009", _positive_number, "a positive number of seconds"),
    "resend_interval": ("diffs.E009", _positive_number, "a positive number of seconds"),
    "max_diff_bytes": ("diffs.E010", _positive_int, "a positive int of bytes"),
    "durability": ("diffs.E011", lambda v: v in DURABILITY_MODES, f"one of {DURABILITY_MODES}"),
    "publish_timeout": ("diffs.E012", _positive_number, "a positive number of seconds"),
    "write_max_retries": ("diffs.E012", _non_negative_int, "an int >= 0"),
    "write_retry_backoff_max": ("diffs.E012", _positive_int, "a positive int of seconds"),
    "outbox_resend_after": ("diffs.E012", _positive_int, "a positive int of seconds"),
    "feed_limit": ("diffs.E014", _positive_int, "a positive int of diffs"),
    "feed_max_limit": ("diffs.E014", _positive_int, "a positive int of diffs"),
    "feed_max_wait": ("diffs.E014", _non_negative_number, "a number of seconds >= 0"),
    "feed_permission": (
        "diffs.E015", _callable_path,
        "None or the dotted path of a callable (request, model, pk) -> bool",
    ),
}

_REDIS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "host": (_name, "a host name"),
    "port": (lambda v: type(v) is int and 0 < v < 65536, "a TCP port number"),
    "db": (_non_negative_int, "an int >= 0"),
    "password": (lambda v: v is None or isinstance(v, str), "a string or None"),
    "username": (lambda v: v is None or isinstance(v, str), "a string or None"),
    "ssl": (_flag, "True or False"),
    "socket_timeout": (_positive_number, "a positive number of seconds"),
    "url": (
        lambda v: isinstance(v, str) and urlsplit(v).scheme in ("redis", "rediss", "unix"),
        "a redis://, rediss:// or unix:// URL",
    ),
}


def check_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Return an error for every malformed or unknown key of ``DIFFS_SETTINGS``."""
    raw = getattr(django_settings, "DIFFS_SETTINGS", {})
    if not isinstance(raw, dict):
        return [
            Error(
                f"DIFFS_SETTINGS must be a dict, not {type(raw).__name__}.",
                hint="Set DIFFS_SETTINGS = {'redis': {'url': 'redis://...'}, ...} or remove it.",
                id="diffs.E001",
            )
        ]
    top_level = {
        key: (check_id, valid, f"{expected}, or remove it for the default {DEFAULTS[key]!r}")
        for key, (check_id, valid, expected) in _TOP_LEVEL.items()
    }
    errors = _check_dict("DIFFS_SETTINGS", raw, set(DEFAULTS), "diffs.E002", top_level)
    errors += _check_feed_limits(raw)
    conf = raw.get("redis", {})
    if not isinstance(conf, dict):
        return [
            *errors,
            Error(
                f"DIFFS_SETTINGS['redis'] must be a dict, not {type(conf).__name__}.",
                hint="Use {'url': 'redis://host:6379/0'} or {'host': ..., 'port': ..., 'db': ...}.",
                id="diffs.E003",
            ),
        ]
    redis = {key: ("diffs.E004", valid, expected) for key, (valid, expected) in _REDIS.items()}
    return errors + _check_dict("DIFFS_SETTINGS['redis']", conf, REDIS_KEYS, "diffs.E003", redis)


def _check_feed_limits(raw: dict[str, Any]) -> list[CheckMessage]:
    """Return an error when the default page size is over the largest one allowed."""
    limit, most = raw.get("feed_limit", DEFAULTS["feed_limit"]), raw.get(
        "feed_max_limit", DEFAULTS["feed_max_limit"]
    )
    if _positive_int(limit) and _positive_int(most) and limit > most:
        return [
            Error(
                f"DIFFS_SETTINGS['feed_limit'] ({limit}) is over feed_max_limit ({most}).",
                hint="Lower feed_limit or raise feed_max_limit.",
                id="diffs.E014",
            )
        ]
    return []


def _check_dict(
    name: str,
    values: dict[str, Any],
    known: set[str] | frozenset[str],
    unknown_id: str,
    rules: dict[str, tuple[str, Callable[[Any], bool], str]],
) -> list[CheckMessage]:
    """Return errors for the unknown keys of ``values`` and the values their rules refuse."""
    errors: list[CheckMessage] = [
        Error(
            f"{name} has an unknown key {key!r}.",
            hint=f"Valid keys: {', '.join(sorted(known))}.",
            id=unknown_id,
        )
        for key in sorted(set(values) - known)
    ]
    for key, (check_id, valid, expected) in rules.items():
        if key in values and not valid(values[key]):
            errors.append(
                Error(f"{name}[{key!r}] is {values[key]!r}.", hint=f"Set it to {expected}.",
                      id=check_id)
            )
    return errors


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
