"""Django system checks for ``DIFFS_SETTINGS`` (ids ``diffs.E001``...).

A misconfiguration fails ``manage.py check`` (and every command that runs checks) with a hint,
instead of a traceback at the first save or deep in a worker.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from celery import current_app
from django.apps import apps
from django.conf import settings as django_settings
from django.core.checks import CheckMessage, Error, Warning
from django.db import DatabaseError, router

from .conf import diffs_settings, problems
from .reading.diffset import DiffsDescriptor
from .reading.outage import storage_name
from .registry import PARENT_HOOK, registrations
from .storage.connection import get_redis, maxmemory_policies
from .transport.background import thread_blocker
from .transport.task_names import PRUNE_TASK, RESEND_TASK


def check_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Return an error for every malformed or unknown key of ``DIFFS_SETTINGS``."""
    raw = getattr(django_settings, "DIFFS_SETTINGS", {})
    return [Error(p.message, hint=p.hint, id=p.check_id) for p in problems(raw)]


#: A name the first django-diffs README used for the parent hook in one example; only
#: ``get_diff_parent`` is called (a method of that generic name may well mean something else).
OTHER_PARENT_HOOK = "get_parent_object"


def check_registrations(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Return an error for a registered model whose ``diffs`` attribute was taken over, and a
    warning for one whose parent hook has a name that is not called."""
    errors: list[CheckMessage] = []
    for registration in registrations():
        model = registration.model
        if hasattr(model, OTHER_PARENT_HOOK) and not hasattr(model, PARENT_HOOK):
            errors.append(
                Warning(
                    f"{model._meta.label} defines {OTHER_PARENT_HOOK}(), which django-diffs "
                    f"does not call: its diffs are not rolled up to a parent.",
                    hint=f"Rename the method {PARENT_HOOK}() (or add {PARENT_HOOK}() returning "
                    "the parent instance, or None).",
                    obj=model,
                    id="diffs.W006",
                )
            )
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


def check_schedule(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Warn when nothing schedules ``diffs.prune``: old diffs would never be pruned.

    Scheduled means: an entry of the project Celery app's ``beat_schedule`` (the README's
    ``beat_schedule()`` line), or an enabled django-celery-beat ``PeriodicTask`` (looked up only
    when the check may use the database, as ``migrate`` and ``check --database`` let it). Kept
    diffs drain without beat (the workers send them again), so a missing ``diffs.resend`` entry
    alone is no problem; it is named when both are missing.
    """
    if current_app.main in (None, "default") and not current_app.conf.broker_url:
        return []  # diffs.W001 says what to fix first
    entries = current_app.conf.beat_schedule or {}
    scheduled = {entry.get("task") for entry in entries.values() if isinstance(entry, dict)}
    scheduled |= _periodic_tasks(kwargs.get("databases"))
    if PRUNE_TASK in scheduled:
        return []
    missing = "diffs.prune" if RESEND_TASK in scheduled else "diffs.prune nor diffs.resend"
    return [
        Warning(
            f"Neither Celery beat nor django-celery-beat schedules {missing}: old diffs are "
            "never pruned (keys only expire once nobody writes to them for max_element_age).",
            hint="Add the entries in your Celery module: `app.conf.beat_schedule = "
            "{**app.conf.beat_schedule, **diffs_tasks.schedule.beat_schedule()}`, and run "
            "`celery beat`; or add the periodic tasks in django-celery-beat's admin.",
            id="diffs.W003",
        )
    ]


def _periodic_tasks(databases: Any) -> set[str]:
    """Return the tasks of django-celery-beat's enabled ``PeriodicTask`` rows, if it is used."""
    if not apps.is_installed("django_celery_beat"):
        return set()
    model = apps.get_model("django_celery_beat", "PeriodicTask")
    if not databases or router.db_for_read(model) not in databases:
        return {PRUNE_TASK, RESEND_TASK}  # may not look: assume they are there
    try:
        return set(model.objects.filter(enabled=True, task__in=[PRUNE_TASK, RESEND_TASK])
                   .values_list("task", flat=True))
    except DatabaseError:  # no table yet (before migrate), or no database: cannot tell
        return {PRUNE_TASK, RESEND_TASK}


def check_publisher(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Warn when ``publish`` is ``background`` where no thread can run (it falls back)."""
    if diffs_settings.publish != "background":
        return []
    blocked = thread_blocker()
    if blocked is None:
        return []
    return [
        Warning(
            f"DIFFS_SETTINGS['publish'] is 'background', but {blocked}: every commit "
            "publishes its diffs itself, as with 'on_commit'.",
            hint="Start uWSGI with --enable-threads (and --py-call-uwsgi-fork-hooks), or set "
            "DIFFS_SETTINGS['publish'] = 'on_commit'.",
            id="diffs.W004",
        )
    ]


def check_redis_reachable(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Return an error when the storage Redis does not answer (run by ``check --deploy``)."""
    if check_settings():
        return []  # the settings errors say what to fix first
    try:
        get_redis().ping()
    except Exception as exc:
        return [
            Error(
                f"The diffs storage Redis at {storage_name()!r} "
                f"does not answer: {exc}.",
                hint="Start Redis or correct DIFFS_SETTINGS['redis'].",
                id="diffs.E020",
            )
        ]
    return []


#: The ``maxmemory-policy`` values that evict any key, diffs included, when memory runs out.
EVICTING_POLICIES = ("allkeys-lru", "allkeys-lfu", "allkeys-random")


def check_eviction_policy(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Warn when the storage may evict diffs silently (run by ``check --deploy``).

    Under an ``allkeys-*`` policy a full Redis deletes object keys to make room: diffs go
    without an error anywhere. ``noeviction`` makes writes fail instead (the write task then
    retries and keeps the diffs), ``volatile-*`` evicts only keys with a TTL, which every object
    key has, but prefers the ones closest to expiring. Managed services that refuse ``CONFIG``
    are skipped quietly, as is a storage that does not answer (``diffs.E020`` says so).
    """
    if check_settings():
        return []
    try:
        policies = maxmemory_policies(get_redis())
    except Exception:
        return []
    evicting = sorted({policy for policy in policies if policy in EVICTING_POLICIES})
    if not evicting:
        return []
    return [
        Warning(
            f"The diffs storage's maxmemory-policy is {', '.join(evicting)}: when Redis is full "
            "it deletes keys of diffs without an error.",
            hint="Set maxmemory-policy noeviction (writes then fail and are retried and kept) "
            "or a volatile-* policy, on every master of the storage.",
            id="diffs.W005",
        )
    ]

