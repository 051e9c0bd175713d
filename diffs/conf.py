"""The one place where ``DIFFS_SETTINGS`` is read.

Every property reads the Django setting on each access (a dict lookup once Django has cached
the attribute), so ``override_settings`` works everywhere and nothing is frozen at import time.
Validation lives in :mod:`diffs.checks`; properties here assume sane values and fall back to the
defaults for missing keys.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from django.conf import settings as django_settings

#: The documented defaults. ``redis`` host/port/db come from the original django-diffs README.
DEFAULTS: dict[str, Any] = {
    "redis": {"host": "localhost", "port": 6379, "db": 0},
    "max_element_age": 60 * 60,
    "key_prefix": "diffs",
    "queue": "diffs",
    "enabled": True,
    "prune_interval": 60,
    "resend_interval": 30,
    "raise_errors": False,
    "max_diff_bytes": 512 * 1024,
    "durability": "spool",
    "publish_timeout": 1.0,
    "write_max_retries": 8,
    "write_retry_backoff_max": 300,
    "outbox_resend_after": 60,
    "feed_limit": 100,
    "feed_max_limit": 1000,
    "feed_max_wait": 30,
    "feed_permission": None,
}

#: Keys allowed inside ``DIFFS_SETTINGS["redis"]``.
REDIS_KEYS = frozenset(
    {"url", "host", "port", "db", "password", "username", "ssl", "socket_timeout"}
)

DURABILITY_MODES = ("spool", "outbox", "none")


class Settings:
    """Typed, lazily read view of ``settings.DIFFS_SETTINGS`` with the defaults filled in."""

    @property
    def raw(self) -> dict[str, Any]:
        """Return the user's ``DIFFS_SETTINGS`` (an empty dict when unset)."""
        value = getattr(django_settings, "DIFFS_SETTINGS", None)
        return value if isinstance(value, dict) else {}

    def _get(self, key: str) -> Any:
        return self.raw.get(key, DEFAULTS[key])

    @property
    def redis(self) -> dict[str, Any]:
        """Return the ``redis`` block merged over the defaults."""
        configured = self.raw.get("redis")
        return {**DEFAULTS["redis"], **(configured if isinstance(configured, dict) else {})}

    @property
    def redis_url(self) -> str:
        """Return the storage Redis URL; ``redis.url`` wins over host/port/db."""
        conf = self.redis
        if conf.get("url"):
            return str(conf["url"])
        scheme = "rediss" if conf.get("ssl") else "redis"
        auth = ""
        if conf.get("password"):
            user = quote(str(conf.get("username") or ""), safe="")
            auth = f"{user}:{quote(str(conf['password']), safe='')}@"
        return f"{scheme}://{auth}{conf['host']}:{conf['port']}/{conf['db']}"

    @property
    def redis_socket_timeout(self) -> float:
        """Return the socket timeout for storage Redis commands, in seconds."""
        return float(self.redis.get("socket_timeout", 5.0))

    @property
    def max_element_age(self) -> int:
        """Return how many seconds a diff lives before pruning removes it."""
        return int(self._get("max_element_age"))

    @property
    def key_prefix(self) -> str:
        """Return the prefix of every Redis key this library writes."""
        return str(self._get("key_prefix"))

    @property
    def queue(self) -> str:
        """Return the Celery queue the write tasks are sent to."""
        return str(self._get("queue"))

    @property
    def enabled(self) -> bool:
        """Return whether changes are recorded at all."""
        return bool(self._get("enabled"))

    @property
    def prune_interval(self) -> float:
        """Return the beat interval of the pruning task, in seconds."""
        return float(self._get("prune_interval"))

    @property
    def resend_interval(self) -> float:
        """Return the beat interval of the task that resends kept diffs, in seconds."""
        return float(self._get("resend_interval"))

    @property
    def raise_errors(self) -> bool:
        """Return whether recording errors raise (tests) instead of being logged (production)."""
        return bool(self._get("raise_errors"))

    @property
    def max_diff_bytes(self) -> int:
        """Return the largest encoded diff accepted, in bytes."""
        return int(self._get("max_diff_bytes"))

    @property
    def durability(self) -> str:
        """Return the durability mode: ``spool``, ``outbox`` or ``none``."""
        return str(self._get("durability"))

    @property
    def publish_timeout(self) -> float:
        """Return how long the web process waits for the broker before spooling, in seconds."""
        return float(self._get("publish_timeout"))

    @property
    def write_max_retries(self) -> int:
        """Return how often a write task retries while the storage Redis is unreachable."""
        return int(self._get("write_max_retries"))

    @property
    def write_retry_backoff_max(self) -> int:
        """Return the longest wait between two write retries, in seconds."""
        return int(self._get("write_retry_backoff_max"))

    @property
    def outbox_resend_after(self) -> int:
        """Return after how many seconds an unacknowledged outbox row is sent again."""
        return int(self._get("outbox_resend_after"))

    @property
    def feed_limit(self) -> int:
        """Return how many diffs a feed page holds when the request names no ``limit``."""
        return int(self._get("feed_limit"))

    @property
    def feed_max_limit(self) -> int:
        """Return the largest ``limit`` a feed request may ask for."""
        return int(self._get("feed_max_limit"))

    @property
    def feed_max_wait(self) -> float:
        """Return the longest ``wait`` (seconds) a feed request may hold its connection."""
        return float(self._get("feed_max_wait"))

    @property
    def feed_permission(self) -> str | None:
        """Return the dotted path of the feed's ``(request, model, pk) -> bool``, or None."""
        value = self._get("feed_permission")
        return None if value is None else str(value)


settings = Settings()
