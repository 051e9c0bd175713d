"""The settings of django-diffs: each key of ``DIFFS_SETTINGS`` declared once, read from a snapshot.

Each key is one :class:`~diffs.conf.snapshot.Setting` on :class:`Settings`: its default, its
rule (:mod:`diffs.conf.rules`: a function that returns the value as the code uses it), what a
valid value is (the hint of its error) and a system-check id of its own, so
``SILENCED_SYSTEM_CHECKS`` can silence one key.

The values live in the ``diffs_settings`` instance's ``__dict__`` (the snapshot): a read is a
plain attribute lookup. ``DiffsConfig.ready()`` builds the snapshot, and Django's
``setting_changed`` signal builds it again whenever ``DIFFS_SETTINGS`` changes
(``override_settings``, pytest-django's ``settings`` fixture); a read before either builds it.
Assigning ``settings.DIFFS_SETTINGS`` at run time sends no signal and is not seen, as Django's
documentation warns for every setting.

A value its rule refuses reads as its key's default, and the build logs one error naming the
key, the value and the fix: WSGI and ASGI servers, shells and workers run no system checks, and
``save()`` must not fail because of a setting. :mod:`diffs.checks` reports the same problems as
system-check errors. The ``redis`` block is the exception: it is kept as written for
:mod:`diffs.storage.topology`, and never falls back, because a storage location that falls back
sends diffs somewhere else.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from django.conf import settings as django_settings

from .rules import (
    Problem,
    block,
    database_names,
    dotted_callable,
    flag,
    is_key_segment,
    metrics_port,
    name,
    non_negative_int,
    non_negative_number,
    one_of,
    positive_int,
    positive_number,
    safe_prefix,
)
from .snapshot import Setting, Snapshot, SnapshotSettings

DURABILITY_MODES = ("spool", "outbox", "none")
PUBLISH_MODES = ("background", "on_commit")

#: The default redis block: localhost:6379, database 0. A default, not a fallback:
#: it is used only when ``DIFFS_SETTINGS`` has no ``redis`` key at all.
DEFAULT_REDIS: dict[str, Any] = {"host": "localhost", "port": 6379, "db": 0}


def _django_value() -> Any:
    return getattr(django_settings, "DIFFS_SETTINGS", {})


class Settings(SnapshotSettings):
    """The settings of django-diffs, with the defaults filled in (``diffs_settings.<key>``).

    ``source`` returns the value of ``DIFFS_SETTINGS``: Django's setting, unless a test of the
    rules gives its own.
    """

    #: Where diffs are stored, as written (the storage topology reads it); never falls back.
    redis = Setting(
        DEFAULT_REDIS, block,
        "a dict: {'url': 'redis://host:6379/0'}, {'host': ..., 'port': ..., 'db': ...}, "
        "{'cluster': ...} or {'sentinel': ...}",
        "diffs.E200", falls_back=False,
    )
    #: How many seconds a diff lives before pruning removes it.
    max_element_age = Setting(3600, positive_int, "a positive int of seconds", "diffs.E101")
    #: The prefix of every Redis key this library writes.
    key_prefix = Setting(
        "diffs", safe_prefix,
        "a non-empty string without spaces, ':', '@', braces or glob characters", "diffs.E102",
    )
    #: The Celery queue the write tasks are sent to.
    queue = Setting("diffs", name, "a non-empty Celery queue name", "diffs.E103")
    #: Whether changes are recorded at all.
    enabled = Setting(True, flag, "True or False", "diffs.E104")
    #: Whether recording errors raise (tests) instead of being logged (production).
    raise_errors = Setting(False, flag, "True or False", "diffs.E105")
    #: The largest encoded diff accepted, in bytes.
    max_diff_bytes = Setting(512 * 1024, positive_int, "a positive int of bytes", "diffs.E106")
    #: The beat interval of the pruning task, in seconds.
    prune_interval = Setting(60, positive_number, "a positive number of seconds", "diffs.E107")
    #: How often kept diffs are sent again (beat, or the workers), in seconds.
    resend_interval = Setting(30, positive_number, "a positive number of seconds", "diffs.E108")
    #: What happens to a diff the broker refuses: ``spool``, ``outbox`` or ``none``.
    durability = Setting(
        "spool", one_of(*DURABILITY_MODES), f"one of {DURABILITY_MODES}", "diffs.E109"
    )
    #: How long a publish waits for the broker before keeping the batch, in seconds.
    publish_timeout = Setting(1.0, positive_number, "a positive number of seconds", "diffs.E110")
    #: How committed diffs are published: ``background`` or ``on_commit``.
    publish = Setting(
        "background", one_of(*PUBLISH_MODES), f"one of {PUBLISH_MODES}", "diffs.E111"
    )
    #: How many waiting diffs make the background publisher send at once.
    publish_batch_size = Setting(500, positive_int, "a positive int of diffs", "diffs.E112")
    #: The longest a diff waits for the background publisher, in seconds. 0.1: a message
    #: costs a web process about as much as ten diffs, and a worker more; at a few hundred
    #: saves a second 0.02 s gathered some 7 diffs per message, 0.1 s some 27 (bench-e2e).
    publish_interval = Setting(
        0.1, positive_number, "a positive number of seconds", "diffs.E113"
    )
    #: How many diffs wait for the background publisher at most.
    publish_queue_size = Setting(10_000, positive_int, "a positive int of diffs", "diffs.E114")
    #: After how many seconds an unconfirmed outbox row is sent again.
    outbox_resend_after = Setting(60, positive_int, "a positive int of seconds", "diffs.E115")
    #: How often a write task retries while the storage refuses it.
    write_max_retries = Setting(8, non_negative_int, "an int >= 0", "diffs.E116")
    #: The longest wait between two write retries, in seconds.
    write_retry_backoff_max = Setting(
        300, positive_int, "a positive int of seconds", "diffs.E117"
    )
    #: How many diffs of models a worker does not know it keeps, at most.
    max_unknown_label_diffs = Setting(10_000, non_negative_int, "an int >= 0", "diffs.E118")
    #: Whether one transaction's saves of an object become one diff (``register(squash=)``
    #: decides for one model).
    squash = Setting(False, flag, "True or False", "diffs.E126")
    #: The names database aliases take in keys (``{"replica": "r"}``).
    database_keys = Setting(
        {}, database_names,
        "a dict from database alias to a short name of letters, digits, '-' and '_'",
        "diffs.E119",
    )
    #: How many diffs a feed page holds when the request names no ``limit``.
    feed_limit = Setting(
        100, positive_int, "a positive int of diffs, at most feed_max_limit", "diffs.E120",
        at_most="feed_max_limit",
    )
    #: The largest ``limit`` a feed request may ask for.
    feed_max_limit = Setting(1000, positive_int, "a positive int of diffs", "diffs.E121")
    #: The longest ``wait`` (seconds) a feed request may hold its connection.
    feed_max_wait = Setting(30, non_negative_number, "a number of seconds >= 0", "diffs.E122")
    #: The feed's ``(request, model, pk) -> bool``, imported, or None (the view permission).
    feed_permission = Setting(
        None, dotted_callable,
        "None or the dotted path of a callable (request, model, pk) -> bool", "diffs.E123",
    )
    #: Seconds between the comments a quiet Server-Sent Events stream sends (keep-alive).
    feed_sse_heartbeat = Setting(
        15, positive_number, "a positive number of seconds", "diffs.E140"
    )
    #: Seconds a Server-Sent Events stream lasts before it ends with ``retry:`` (the client
    #: reconnects and resumes): bounds what one stream holds, a thread under WSGI.
    feed_sse_max_duration = Setting(
        300, positive_number, "a positive number of seconds", "diffs.E141"
    )
    #: The feeds' ``(request, model, pks) -> allowed pks``, imported, or None (no filter).
    feed_filter = Setting(
        None, dotted_callable,
        "None or the dotted path of a callable (request, model, pks) -> the pks it may see",
        "diffs.E125",
    )
    #: The middleware's ``(request) -> dict`` of the change context, imported, or None.
    request_context = Setting(
        None, dotted_callable,
        "None or the dotted path of a callable (request) -> dict of the change context",
        "diffs.E124",
    )
    #: The port a worker serves its Prometheus metrics on (prefork: each pool process on this
    #: port plus its index), or None (not served).
    metrics_port = Setting(
        None, metrics_port, "None or a TCP port (1-65535), with prometheus-client installed",
        "diffs.E150",
    )
    #: How many replicas must acknowledge a write (``WAIT``) before the write task succeeds.
    storage_replicas = Setting(0, non_negative_int, "an int >= 0 of replicas", "diffs.E151")
    #: How long a write waits for those acknowledgements, in seconds.
    storage_replicas_timeout = Setting(
        1.0, positive_number, "a positive number of seconds", "diffs.E152",
    )

    #: ``database_key(alias)``: the name database ``alias`` takes in keys; "" (none) for
    #: ``default``. Each database of ``DATABASES`` has histories of its own: the same pk saved
    #: in two of them is two objects. An alias that cannot be part of a key (spaces, ``:``...)
    #: and is not mapped in ``database_keys`` takes a stable name made from its hash. A lookup
    #: in a dict of the snapshot (C code, no Python call), as it runs on every save.
    database_key: Snapshot[Callable[[str], str]] = Snapshot()

    def __init__(self, source: Callable[[], Any] = _django_value) -> None:
        super().__init__(source)

    @classmethod
    def read(cls, raw: Any) -> tuple[dict[str, Any], dict[str, Problem], list[Problem]]:
        """Return the snapshot of ``raw``, with the database names ``database_keys`` maps."""
        values, refused, found = super().read(raw)
        names = DatabaseNames({"default": "", **values["database_keys"]})
        values["database_key"] = names.__getitem__
        return values, refused, found


class DatabaseNames(dict[str, str]):
    """The names ``database_keys`` maps, and those of other aliases as they are asked for."""

    def __missing__(self, alias: str) -> str:
        found = self[alias] = unmapped_database_name(alias)
        return found


def unmapped_database_name(alias: str) -> str:
    """Return the name an alias ``database_keys`` does not map takes in keys."""
    if is_key_segment(alias):
        return alias
    return "db-" + hashlib.sha256(alias.encode()).hexdigest()[:12]


def problems(raw: Any) -> list[Problem]:
    """Return everything wrong with ``raw`` (the value of ``settings.DIFFS_SETTINGS``) that
    this module checks: every key but the contents of the ``redis`` block."""
    return Settings.read(raw)[2]


def reload_on_change(*, setting: str, **kwargs: Any) -> None:
    """Build the snapshot again when ``DIFFS_SETTINGS`` changes (Django's ``setting_changed``)."""
    if setting == "DIFFS_SETTINGS":
        diffs_settings.reload()


#: The settings of django-diffs (``diffs_settings.publish``...); named apart from Django's.
diffs_settings = Settings()
