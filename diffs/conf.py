"""The one place where ``DIFFS_SETTINGS`` is read, and the rules every key must follow.

Every property reads the Django setting on each access (a dict lookup once Django has cached
the attribute), so ``override_settings`` works everywhere and nothing is frozen at import time.

A value its rule refuses never reaches the code that uses it: the property returns the default
for that key and logs one error naming the key, the value and the fix. So a bad setting under
WSGI, ASGI, a shell or a worker (where no system check runs) degrades to the default instead of
making a save raise; ``DiffsConfig.ready()`` logs every problem once at start-up, and
:mod:`diffs.checks` turns the same :func:`problems` into system-check errors.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from django.conf import settings as django_settings
from django.utils.module_loading import import_string

logger = logging.getLogger("diffs")

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
    "publish": "background",
    "publish_batch_size": 500,
    "publish_interval": 0.02,
    "publish_queue_size": 10_000,
    "write_max_retries": 8,
    "write_retry_backoff_max": 300,
    "outbox_resend_after": 60,
    "max_unknown_label_diffs": 10_000,
    "database_keys": {},
    "feed_limit": 100,
    "feed_max_limit": 1000,
    "feed_max_wait": 30,
    "feed_permission": None,
    "request_context": None,
}

REDIS_DEFAULTS: dict[str, Any] = {"socket_timeout": 5.0}

DURABILITY_MODES = ("spool", "outbox", "none")
PUBLISH_MODES = ("background", "on_commit")


# -- the rules ----------------------------------------------------------------------------------


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
        and not any(c.isspace() or c in "*?[]\\:{}@" for c in value)
    )


def _name(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def key_segment(value: Any) -> bool:
    """Return whether ``value`` may name a database in a Redis key (``diffs:app.model@<it>:pk``)."""
    return (
        isinstance(value, str) and 0 < len(value) <= 64
        and all((c.isalnum() and c.isascii()) or c in "-_" for c in value)
    )


def _database_keys(value: Any) -> bool:
    return isinstance(value, dict) and all(
        isinstance(alias, str) and key_segment(segment) for alias, segment in value.items()
    )


def _optional_string(value: Any) -> bool:
    return value is None or isinstance(value, str)


def _redis_url(value: Any) -> bool:
    return isinstance(value, str) and urlsplit(value).scheme in ("redis", "rediss", "unix")


def _host_port(host: Any, port: Any) -> bool:
    return _name(host) and type(port) is int and 0 < port < 65536


def _cluster(value: Any) -> bool:
    """``{"startup_nodes": [{"host": h, "port": p}, ...]}`` or ``{"url": "redis://h:p"}``."""
    if not isinstance(value, dict) or len(value) != 1:
        return False
    if "url" in value:
        return isinstance(value["url"], str) and urlsplit(value["url"]).scheme in (
            "redis", "rediss")
    nodes = value.get("startup_nodes")
    return isinstance(nodes, list) and bool(nodes) and all(
        isinstance(node, dict) and set(node) == {"host", "port"}
        and _host_port(node["host"], node["port"]) for node in nodes
    )


SENTINEL_KEYS = {"sentinels", "service_name", "sentinel_password", "sentinel_username"}


def _sentinel(value: Any) -> bool:
    """``{"sentinels": [[host, port], ...], "service_name": "mymaster", ...}``."""
    if not isinstance(value, dict) or not set(value) <= SENTINEL_KEYS:
        return False
    sentinels = value.get("sentinels")
    return (
        isinstance(sentinels, list) and bool(sentinels)
        and all(isinstance(s, (list, tuple)) and len(s) == 2 and _host_port(*s)
                for s in sentinels)
        and _name(value.get("service_name"))
        and _optional_string(value.get("sentinel_password"))
        and _optional_string(value.get("sentinel_username"))
    )


@dataclass(frozen=True)
class Rule:
    """What a key must hold: the check id that reports it, the test, what a valid value is."""

    check_id: str
    valid: Callable[[Any], bool]
    expected: str


RULES: dict[str, Rule] = {
    "max_element_age": Rule("diffs.E005", _positive_int, "a positive int of seconds"),
    "key_prefix": Rule(
        "diffs.E006", _prefix, "a non-empty string without spaces, ':', '@', braces or glob "
        "characters"
    ),
    "queue": Rule("diffs.E007", _name, "a non-empty Celery queue name"),
    "enabled": Rule("diffs.E008", _flag, "True or False"),
    "raise_errors": Rule("diffs.E008", _flag, "True or False"),
    "prune_interval": Rule("diffs.E009", _positive_number, "a positive number of seconds"),
    "resend_interval": Rule("diffs.E009", _positive_number, "a positive number of seconds"),
    "max_diff_bytes": Rule("diffs.E010", _positive_int, "a positive int of bytes"),
    "durability": Rule(
        "diffs.E011", lambda v: v in DURABILITY_MODES, f"one of {DURABILITY_MODES}"
    ),
    "publish_timeout": Rule("diffs.E012", _positive_number, "a positive number of seconds"),
    "publish": Rule("diffs.E018", lambda v: v in PUBLISH_MODES, f"one of {PUBLISH_MODES}"),
    "publish_batch_size": Rule("diffs.E019", _positive_int, "a positive int of diffs"),
    "publish_interval": Rule("diffs.E019", _positive_number, "a positive number of seconds"),
    "publish_queue_size": Rule("diffs.E019", _positive_int, "a positive int of diffs"),
    "write_max_retries": Rule("diffs.E012", _non_negative_int, "an int >= 0"),
    "write_retry_backoff_max": Rule("diffs.E012", _positive_int, "a positive int of seconds"),
    "outbox_resend_after": Rule("diffs.E012", _positive_int, "a positive int of seconds"),
    "max_unknown_label_diffs": Rule("diffs.E012", _non_negative_int, "an int >= 0"),
    "feed_limit": Rule("diffs.E014", _positive_int, "a positive int of diffs"),
    "feed_max_limit": Rule("diffs.E014", _positive_int, "a positive int of diffs"),
    "feed_max_wait": Rule("diffs.E014", _non_negative_number, "a number of seconds >= 0"),
    "feed_permission": Rule(
        "diffs.E015", _callable_path,
        "None or the dotted path of a callable (request, model, pk) -> bool",
    ),
    "request_context": Rule(
        "diffs.E017", _callable_path,
        "None or the dotted path of a callable (request) -> dict of the change context",
    ),
    "database_keys": Rule(
        "diffs.E016", _database_keys,
        "a dict from database alias to a short name of letters, digits, '-' and '_'",
    ),
}

REDIS_RULES: dict[str, Rule] = {
    "host": Rule("diffs.E004", _name, "a host name"),
    "port": Rule("diffs.E004", lambda v: type(v) is int and 0 < v < 65536, "a TCP port number"),
    "db": Rule("diffs.E004", _non_negative_int, "an int >= 0"),
    "password": Rule("diffs.E004", _optional_string, "a string or None"),
    "username": Rule("diffs.E004", _optional_string, "a string or None"),
    "ssl": Rule("diffs.E004", _flag, "True or False"),
    "socket_timeout": Rule("diffs.E004", _positive_number, "a positive number of seconds"),
    "url": Rule("diffs.E004", _redis_url, "a redis://, rediss:// or unix:// URL"),
    "cluster": Rule(
        "diffs.E021", _cluster,
        "{'startup_nodes': [{'host': ..., 'port': ...}, ...]} or {'url': 'redis://host:port'}",
    ),
    "sentinel": Rule(
        "diffs.E022", _sentinel,
        "{'sentinels': [[host, port], ...], 'service_name': 'mymaster'} (optionally "
        "'sentinel_password', 'sentinel_username')",
    ),
}

#: The keys of the ``redis`` block that name one server; a cluster or a sentinel takes none.
SERVER_KEYS = ("url", "host", "port")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with ``DIFFS_SETTINGS``, as a system check and a log line report it."""

    check_id: str
    message: str
    hint: str


def problems(raw: Any) -> list[Problem]:
    """Return everything wrong with ``raw`` (the value of ``settings.DIFFS_SETTINGS``)."""
    if not isinstance(raw, dict):
        return [Problem(
            "diffs.E001", f"DIFFS_SETTINGS must be a dict, not {type(raw).__name__}.",
            "Set DIFFS_SETTINGS = {'redis': {'url': 'redis://...'}, ...} or remove it.",
        )]
    found = _check_dict("DIFFS_SETTINGS", raw, DEFAULTS, "diffs.E002", RULES)
    found += _feed_limits(raw)
    block = raw.get("redis", {})
    if not isinstance(block, dict):
        return [*found, Problem(
            "diffs.E003", f"DIFFS_SETTINGS['redis'] must be a dict, not {type(block).__name__}.",
            "Use {'url': 'redis://host:6379/0'} or {'host': ..., 'port': ..., 'db': ...}.",
        )]
    return found + _check_dict("DIFFS_SETTINGS['redis']", block, REDIS_RULES, "diffs.E003",
                               REDIS_RULES) + _storage_kinds(block)


def _storage_kinds(block: dict[str, Any]) -> list[Problem]:
    """Return a problem when the ``redis`` block names more than one kind of storage."""
    kinds = [kind for kind in ("cluster", "sentinel") if kind in block]
    if len(kinds) > 1:
        return [Problem("diffs.E023", "DIFFS_SETTINGS['redis'] names both a cluster and a "
                        "sentinel.", "Keep one of 'cluster' and 'sentinel'.")]
    extra = [key for key in SERVER_KEYS if key in block]
    if kinds and kinds[0] == "cluster" and block.get("db", 0) != 0:
        extra.append("db")
    if kinds and extra:
        return [Problem(
            "diffs.E023",
            f"DIFFS_SETTINGS['redis'] names a {kinds[0]} and also {', '.join(extra)}.",
            f"Remove {', '.join(extra)}: the {kinds[0]} settings name the servers (a cluster "
            "has only db 0).",
        )]
    return []


def _feed_limits(raw: dict[str, Any]) -> list[Problem]:
    """Return a problem when the default feed page size is over the largest one allowed."""
    limit = raw.get("feed_limit", DEFAULTS["feed_limit"])
    most = raw.get("feed_max_limit", DEFAULTS["feed_max_limit"])
    if _positive_int(limit) and _positive_int(most) and limit > most:
        return [Problem("diffs.E014",
                        f"DIFFS_SETTINGS['feed_limit'] ({limit}) is over feed_max_limit ({most}).",
                        "Lower feed_limit or raise feed_max_limit.")]
    return []


def _check_dict(
    name: str, values: dict[str, Any], known: Any, unknown_id: str, rules: dict[str, Rule]
) -> list[Problem]:
    found = [
        Problem(unknown_id, f"{name} has an unknown key {key!r}.",
                f"Valid keys: {', '.join(sorted(known))}.")
        for key in sorted(set(values) - set(known))
    ]
    for key, rule in rules.items():
        if key in values and not rule.valid(values[key]):
            found.append(Problem(rule.check_id, f"{name}[{key!r}] is {values[key]!r}.",
                                 f"Set it to {rule.expected}{_or_default(name, key)}."))
    return found


def _or_default(name: str, key: str) -> str:
    if name == "DIFFS_SETTINGS" and key in DEFAULTS:
        return f", or remove it for the default {DEFAULTS[key]!r}"
    return ""


_reported: set[tuple[str, str]] = set()


def report(problem: Problem) -> None:
    """Log ``problem`` once per process (the property that meets it falls back to the default)."""
    marker = (problem.check_id, problem.message)
    if marker not in _reported:
        _reported.add(marker)
        logger.error("diffs: %s %s Using the default instead. (%s)", problem.message,
                     problem.hint, problem.check_id)


def report_all() -> None:
    """Log every problem of the current ``DIFFS_SETTINGS``, once (``DiffsConfig.ready()``)."""
    for problem in problems(getattr(django_settings, "DIFFS_SETTINGS", {})):
        report(problem)


_ABSENT = object()
_read_cached = object.__getattribute__


@dataclass(frozen=True)
class StorageConfig:
    """Where the storage is: ``kind`` "server" (``url``), "cluster" (``url`` or ``nodes``) or
    "sentinel" (``nodes`` are the sentinels, ``service_name`` the master's name)."""

    kind: str
    url: str = ""
    nodes: tuple[tuple[str, int], ...] = ()
    service_name: str = ""
    db: int = 0
    socket_timeout: float = 5.0
    password: str | None = None
    username: str | None = None
    ssl: bool = False
    sentinel_password: str | None = None
    sentinel_username: str | None = None

    def describe(self) -> str:
        """Return where the storage is, for messages (no password)."""
        if self.kind == "cluster":
            return "cluster " + (self.url or ", ".join(f"{h}:{p}" for h, p in self.nodes))
        if self.kind == "sentinel":
            return f"sentinel master {self.service_name!r} of " + ", ".join(
                f"{h}:{p}" for h, p in self.nodes)
        return self.url


class Settings:
    """Typed, lazily read view of ``settings.DIFFS_SETTINGS`` with the defaults filled in."""

    @property
    def raw(self) -> dict[str, Any]:
        """Return the user's ``DIFFS_SETTINGS`` (an empty dict when unset or not a dict)."""
        try:
            # Django caches a setting read once in the LazySettings instance's __dict__ (and
            # clears it when settings change): reading it there skips LazyObject's Python-level
            # __getattribute__, the largest part of what a setting costs on every save.
            value = _read_cached(django_settings, "DIFFS_SETTINGS")
        except AttributeError:  # not read yet, or changed since: the usual, caching lookup
            value = getattr(django_settings, "DIFFS_SETTINGS", None)
        return value if isinstance(value, dict) else {}

    def _get(self, key: str) -> Any:
        value = self.raw.get(key, _ABSENT)
        if value is _ABSENT:
            return DEFAULTS[key]
        rule = RULES.get(key)
        if rule is not None and not rule.valid(value):
            report(Problem(rule.check_id, f"DIFFS_SETTINGS[{key!r}] is {value!r}.",
                           f"Set it to {rule.expected}."))
            return DEFAULTS[key]
        return value

    @property
    def redis(self) -> dict[str, Any]:
        """Return the valid keys of the ``redis`` block merged over the defaults."""
        configured = self.raw.get("redis")
        merged = {**DEFAULTS["redis"], **REDIS_DEFAULTS}
        if not isinstance(configured, dict):
            return merged
        for key, value in configured.items():
            rule = REDIS_RULES.get(key)
            if rule is not None and rule.valid(value):
                merged[key] = value
            elif rule is not None:
                report(Problem(rule.check_id, f"DIFFS_SETTINGS['redis'][{key!r}] is {value!r}.",
                               f"Set it to {rule.expected}."))
        return merged

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
    def storage(self) -> StorageConfig:
        """Return which storage to connect to: one server, a cluster or a Sentinel's master."""
        conf = self.raw.get("redis")
        for problem in _storage_kinds(conf if isinstance(conf, dict) else {}):
            report(problem)  # then the cluster wins over the sentinel, both over one server
        merged = self.redis
        common: dict[str, Any] = {
            "socket_timeout": float(merged["socket_timeout"]),
            "password": merged.get("password"),
            "username": merged.get("username"),
            "ssl": bool(merged.get("ssl")),
        }
        if "cluster" in merged:
            cluster = merged["cluster"]
            nodes = tuple((n["host"], n["port"]) for n in cluster.get("startup_nodes", ()))
            return StorageConfig("cluster", url=cluster.get("url", ""), nodes=nodes, **common)
        if "sentinel" in merged:
            sentinel = merged["sentinel"]
            return StorageConfig(
                "sentinel", nodes=tuple((h, p) for h, p in sentinel["sentinels"]),
                service_name=sentinel["service_name"], db=int(merged["db"]),
                sentinel_password=sentinel.get("sentinel_password"),
                sentinel_username=sentinel.get("sentinel_username"), **common,
            )
        return StorageConfig("server", url=self.redis_url,
                             socket_timeout=common["socket_timeout"])

    @property
    def redis_socket_timeout(self) -> float:
        """Return the socket timeout for storage Redis commands, in seconds."""
        return float(self.redis["socket_timeout"])

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
        """Return how often kept diffs are sent again (beat, or the workers), in seconds."""
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
    def publish(self) -> str:
        """Return how committed diffs are published: ``background`` or ``on_commit``."""
        return str(self._get("publish"))

    @property
    def publish_batch_size(self) -> int:
        """Return how many waiting diffs make the background publisher send at once."""
        return int(self._get("publish_batch_size"))

    @property
    def publish_interval(self) -> float:
        """Return the longest a diff waits for the background publisher, in seconds."""
        return float(self._get("publish_interval"))

    @property
    def publish_queue_size(self) -> int:
        """Return how many diffs wait for the background publisher at most."""
        return int(self._get("publish_queue_size"))

    @property
    def write_max_retries(self) -> int:
        """Return how often a write task retries while the storage refuses it."""
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
    def max_unknown_label_diffs(self) -> int:
        """Return how many diffs of models a worker does not know it keeps, at most."""
        return int(self._get("max_unknown_label_diffs"))

    @property
    def database_keys(self) -> dict[str, str]:
        """Return the names the database aliases take in keys (``{"replica": "r"}``)."""
        return dict(self._get("database_keys"))

    def database_key(self, alias: str) -> str:
        """Return the name database ``alias`` takes in keys; "" (none) for ``default``.

        Each database of ``DATABASES`` has histories of its own: the same pk saved in two of
        them is two objects. An alias that cannot be part of a key (spaces, ``:``...) and is not
        mapped in ``database_keys`` takes a stable name made from its hash.
        """
        mapped = self._get("database_keys").get(alias)  # no copy: this runs on every save
        if mapped is not None:
            return mapped
        if alias == "default":
            return ""
        if key_segment(alias):
            return alias
        return "db-" + hashlib.sha256(alias.encode()).hexdigest()[:12]

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

    @property
    def request_context(self) -> str | None:
        """Return the dotted path of the middleware's ``(request) -> dict``, or None."""
        value = self._get("request_context")
        return None if value is None else str(value)


#: The settings of django-diffs (``diffs_settings.publish``...); named apart from Django's.
diffs_settings = Settings()
