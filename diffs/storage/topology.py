"""Where the storage is: the ``redis`` block of ``DIFFS_SETTINGS`` read as one server, a Redis
Cluster or a Sentinel's master (:class:`StorageConfig`), and its rules.

A storage location never falls back. Any problem in the block (an unknown key such as ``urll``,
a malformed ``cluster`` or ``sentinel``, both at once, a value of the wrong type) makes
:func:`configured` raise :class:`~diffs.ConfigurationError` naming the key and the fix, before
any connection is made: a worker that connected to ``localhost:6379`` instead would write diffs
into whatever Redis listens there. Writes keep their diffs in the database meanwhile, as in any
storage outage. Only a ``DIFFS_SETTINGS`` without a ``redis`` key uses the default block.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from ..conf import diffs_settings
from ..conf.rules import (
    NO_DEFAULT,
    Invalid,
    Problem,
    Rule,
    flag,
    name,
    non_negative_int,
    optional_string,
    port,
    positive_number,
    unknown_key,
)
from ..conf.snapshot import NO_FALLBACK
from ..exceptions import ConfigurationError

logger = logging.getLogger("diffs")

WHERE = "DIFFS_SETTINGS['redis']"


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
        """Return where the storage is, for messages (the URL may hold a password)."""
        if self.kind == "cluster":
            return "cluster " + (self.url or ", ".join(f"{h}:{p}" for h, p in self.nodes))
        if self.kind == "sentinel":
            return f"sentinel master {self.service_name!r} of " + ", ".join(
                f"{h}:{p}" for h, p in self.nodes)
        return self.url


# -- the rules of the block's keys -----------------------------------------------------------------


def redis_url(value: Any) -> str:
    """A ``redis://``, ``rediss://`` or ``unix://`` URL."""
    if isinstance(value, str):
        try:
            scheme = urlsplit(value).scheme
        except ValueError as exc:  # such as an unclosed IPv6 bracket
            raise Invalid(str(exc)) from exc
        if scheme in ("redis", "rediss", "unix"):
            return value
    raise Invalid


def _host_port(value: Any) -> tuple[str, int]:
    host, number = value
    return name(host), port(number)


def cluster(value: Any) -> tuple[str, tuple[tuple[str, int], ...]]:
    """``{"startup_nodes": [{"host": h, "port": p}, ...]}`` or ``{"url": "redis://h:p"}``:
    the URL ("" when nodes are named) and the nodes."""
    if not isinstance(value, dict) or len(value) != 1:
        raise Invalid
    if "url" in value:
        url = redis_url(value["url"])
        if url.startswith("unix:"):
            raise Invalid("a cluster has no unix socket URL")
        return url, ()
    nodes = value.get("startup_nodes")
    if not isinstance(nodes, list) or not nodes or not all(
        isinstance(node, dict) and set(node) == {"host", "port"} for node in nodes
    ):
        raise Invalid
    return "", tuple(_host_port((node["host"], node["port"])) for node in nodes)


SENTINEL_KEYS = {"sentinels", "service_name", "sentinel_password", "sentinel_username"}


def sentinel(value: Any) -> dict[str, Any]:
    """``{"sentinels": [[host, port], ...], "service_name": "mymaster", ...}``, parsed."""
    if not isinstance(value, dict) or not set(value) <= SENTINEL_KEYS:
        raise Invalid
    sentinels = value.get("sentinels")
    if not isinstance(sentinels, list) or not sentinels or not all(
        isinstance(s, (list, tuple)) and len(s) == 2 for s in sentinels
    ):
        raise Invalid
    return {
        "nodes": tuple(_host_port(s) for s in sentinels),
        "service_name": name(value.get("service_name")),
        "sentinel_password": optional_string(value.get("sentinel_password")),
        "sentinel_username": optional_string(value.get("sentinel_username")),
    }


#: Each key of the block: its default (None: none) and its rule, with a check id of its own.
KEYS: dict[str, tuple[Any, Rule[Any]]] = {
    "url": (None, Rule(redis_url, "a redis://, rediss:// or unix:// URL", "diffs.E203")),
    "host": ("localhost", Rule(name, "a host name", "diffs.E204")),
    "port": (6379, Rule(port, "a TCP port number", "diffs.E205")),
    "db": (0, Rule(non_negative_int, "an int >= 0", "diffs.E206")),
    "password": (None, Rule(optional_string, "a string or None", "diffs.E207")),
    "username": (None, Rule(optional_string, "a string or None", "diffs.E208")),
    "ssl": (False, Rule(flag, "True or False", "diffs.E209")),
    "socket_timeout": (5.0, Rule(positive_number, "a positive number of seconds",
                                 "diffs.E210")),
    "cluster": (None, Rule(
        cluster,
        "{'startup_nodes': [{'host': ..., 'port': ...}, ...]} or {'url': 'redis://host:port'}",
        "diffs.E211",
    )),
    "sentinel": (None, Rule(
        sentinel,
        "{'sentinels': [[host, port], ...], 'service_name': 'mymaster'} (optionally "
        "'sentinel_password', 'sentinel_username')",
        "diffs.E212",
    )),
}

#: The keys of the block that name one server; a cluster or a sentinel takes none.
SERVER_KEYS = ("url", "host", "port")


def parse(block: dict[str, Any]) -> tuple[dict[str, Any], list[Problem]]:
    """Return the block's values (defaults filled in) and everything wrong with it."""
    found = [unknown_key(WHERE, key, list(KEYS), "diffs.E201")
             for key in sorted(set(block) - set(KEYS), key=str)]
    values = {key: default for key, (default, _) in KEYS.items()}
    for key, (default, rule) in KEYS.items():
        if key in block:
            try:
                values[key] = rule.parse(block[key])
            except Invalid as error:
                found.append(rule.problem(f"{WHERE}[{key!r}]", block[key], error,
                                          NO_DEFAULT if default is None else default))
    found += _kinds(block)
    return values, [Problem(p.check_id, p.message, p.hint, NO_FALLBACK) for p in found]


def _kinds(block: dict[str, Any]) -> list[Problem]:
    """Return a problem when the block names more than one kind of storage."""
    kinds = [kind for kind in ("cluster", "sentinel") if kind in block]
    if len(kinds) > 1:
        return [Problem("diffs.E202", f"{WHERE} names both a cluster and a sentinel.",
                        "Keep one of 'cluster' and 'sentinel'.")]
    extra = [key for key in SERVER_KEYS if key in block]
    if kinds and kinds[0] == "cluster" and block.get("db", 0) != 0:
        extra.append("db")
    if kinds and extra:
        return [Problem(
            "diffs.E202", f"{WHERE} names a {kinds[0]} and also {', '.join(extra)}.",
            f"Remove {', '.join(extra)}: the {kinds[0]} settings name the servers (a cluster "
            "has only db 0).",
        )]
    return []


def problems(block: Any) -> list[Problem]:
    """Return everything wrong with a ``redis`` block (a block that is not a dict is
    ``diffs.conf``'s problem, ``diffs.E200``)."""
    return parse(block)[1] if isinstance(block, dict) else []


def storage_config(block: Any) -> StorageConfig:
    """Return where a ``redis`` block says the storage is; raise ConfigurationError if wrong."""
    if not isinstance(block, dict):
        raise ConfigurationError(f"{WHERE} must be a dict, not {type(block).__name__}.")
    values, found = parse(block)
    if found:
        raise ConfigurationError(" ".join(str(problem) for problem in found) + " " + NO_FALLBACK)
    common: dict[str, Any] = {
        "socket_timeout": values["socket_timeout"],
        "password": values["password"],
        "username": values["username"],
        "ssl": values["ssl"],
    }
    if values["cluster"] is not None:
        url, nodes = values["cluster"]
        return StorageConfig("cluster", url=url, nodes=nodes, **common)
    if values["sentinel"] is not None:
        return StorageConfig("sentinel", db=values["db"], **values["sentinel"], **common)
    return StorageConfig("server", url=server_url(values),
                         socket_timeout=values["socket_timeout"])


def server_url(values: dict[str, Any]) -> str:
    """Return the URL of one server: ``url`` when given, else built from host, port, db..."""
    if values["url"]:
        return str(values["url"])
    scheme = "rediss" if values["ssl"] else "redis"
    auth = ""
    if values["password"]:
        user = quote(values["username"] or "", safe="")
        auth = f"{user}:{quote(values['password'], safe='')}@"
    return f"{scheme}://{auth}{values['host']}:{values['port']}/{values['db']}"


_resolved: tuple[object, StorageConfig] | None = None


def configured() -> StorageConfig:
    """Return where the storage is, as ``DIFFS_SETTINGS`` says now.

    Raises :class:`~diffs.ConfigurationError` naming each problem and its fix when the settings
    do not name a storage; nothing falls back. Parsed once per snapshot of the settings (the
    snapshot keeps the block object until the settings change).
    """
    global _resolved
    block = diffs_settings.redis  # raises when DIFFS_SETTINGS itself is not a dict
    last = _resolved
    if last is not None and last[0] is block:
        return last[1]
    config = storage_config(block)
    _resolved = (block, config)
    return config


def report() -> None:
    """Log what is wrong with the storage settings (at start-up: no check runs in a worker)."""
    try:
        block = diffs_settings.redis
    except ConfigurationError:
        return  # the settings snapshot logged it
    for problem in problems(block):
        logger.error("diffs: %s %s", problem, problem.outcome)
