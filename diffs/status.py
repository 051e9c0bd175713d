"""One look at the whole pipeline, each part with a verdict: what ``manage.py diffs_status`` says.

Each probe returns a :class:`Finding`: the part's name, whether it is healthy, one line saying
why, and its numbers (the ``--json`` output). A probe never raises: a part that does not answer
is a finding too. Every wait is bounded (the storage's socket timeout, ``timeout`` for the
broker and the workers), so the command serves as a Kubernetes probe or a cron alert as it is.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from celery import current_app
from django.utils import timezone

from .conf import diffs_settings
from .storage import health
from .storage.connection import get_redis, masters
from .storage.keys import BUCKETS, index_key, labels_key
from .storage.scripts import pipeline
from .transport import pending


@dataclass(frozen=True)
class Thresholds:
    """What each verdict allows (the command's options)."""

    max_memory_ratio: float = 0.9
    max_queue: int = 10_000
    max_kept: int = 1_000
    max_kept_age: float = 300.0
    max_prune_age: float | None = None  # None: ten prune intervals, at least ten minutes
    max_write_age: float | None = None  # None: not judged
    timeout: float = 2.0

    def prune_age(self) -> float:
        """Return how old the last prune may be."""
        if self.max_prune_age is not None:
            return self.max_prune_age
        return max(10 * diffs_settings.prune_interval, 600.0)


@dataclass(frozen=True)
class Finding:
    """One part of the pipeline: healthy or not, why, and its numbers."""

    name: str
    ok: bool
    verdict: str
    details: dict[str, Any] = field(default_factory=dict)


def check_all(limits: Thresholds) -> list[Finding]:
    """Return the findings of every part, in the order of the data path."""
    queue = broker(limits)
    if "messages" in queue.details:
        consumers = workers(limits)
    else:  # a broadcast through a broker that does not answer would retry for seconds
        consumers = Finding("workers", False, "not asked: the broker does not answer",
                            {"queue": diffs_settings.queue})
    return [storage(limits), queue, consumers, kept(limits), last_write(limits),
            last_prune(limits)]


def storage(limits: Thresholds) -> Finding:
    """The storage Redis: reachable, memory against ``maxmemory``, eviction, keys per model."""
    try:
        client = get_redis()
        nodes = masters(client)
        memory = [node.info("memory") for node in nodes]
        used = sum(int(info["used_memory"]) for info in memory)
        limit = sum(int(info.get("maxmemory", 0)) for info in memory)
        policies = sorted({str(info.get("maxmemory_policy", "unknown")) for info in memory})
        keys = keys_per_model(client)
    except Exception as exc:
        return Finding("storage", False, f"not reachable: {type(exc).__name__}: {exc}")
    details = {"used_memory": used, "maxmemory": limit, "maxmemory_policy": policies,
               "masters": len(nodes), "keys_per_model": keys}
    problems = []
    if any(policy.startswith("allkeys-") for policy in policies):
        problems.append(f"maxmemory-policy {', '.join(policies)} evicts diffs silently "
                        "(set noeviction)")
    ratio = used / limit if limit else 0.0
    details["memory_ratio"] = round(ratio, 4)
    if limit and ratio > limits.max_memory_ratio:
        problems.append(f"memory {ratio:.0%} of maxmemory (over {limits.max_memory_ratio:.0%})")
    if problems:
        return Finding("storage", False, "; ".join(problems), details)
    room = f"{used:,} of {limit:,} bytes" if limit else f"{used:,} bytes, no maxmemory"
    return Finding("storage", True, f"reachable, {room}, policy {', '.join(policies)}, "
                   f"{sum(keys.values()):,} object keys", details)


def keys_per_model(client: Any) -> dict[str, int]:
    """Return how many object keys each model has, from the prune indexes (no SCAN): every
    object key has an entry in its bucket's index until a prune empties it."""
    prefix = diffs_settings.key_prefix
    pipe = pipeline(client)
    for bucket in range(BUCKETS):
        pipe.smembers(labels_key(prefix, bucket))
    places = [(bucket, label) for bucket, labels in enumerate(pipe.execute())
              for label in sorted(labels)]
    pipe = pipeline(client)
    for bucket, label in places:
        pipe.zcard(index_key(prefix, bucket, label))
    found: dict[str, int] = {}
    for (_, label), count in zip(places, pipe.execute(), strict=True):
        found[label] = found.get(label, 0) + int(count)
    return dict(sorted(found.items()))


def broker(limits: Thresholds) -> Finding:
    """The diffs queue in the broker: how many messages wait (where the transport can say)."""
    queue = diffs_settings.queue
    app = current_app._get_current_object()
    try:
        with app.connection_for_read() as connection:
            connection.ensure_connection(max_retries=0, timeout=limits.timeout)
            try:
                _, messages, _ = connection.default_channel.queue_declare(queue=queue,
                                                                          passive=True)
            except Exception as exc:
                if not _not_found(exc):
                    raise
                messages = 0  # a Redis broker's empty queue is no key; AMQP: not declared yet
    except Exception as exc:
        return Finding("broker", False, f"not reachable: {type(exc).__name__}: {exc}",
                       {"queue": queue})
    details = {"queue": queue, "messages": int(messages)}
    if messages > limits.max_queue:
        return Finding("broker", False, f"{messages:,} messages wait in {queue!r} "
                       f"(over {limits.max_queue:,})", details)
    return Finding("broker", True, f"{messages:,} messages wait in {queue!r}", details)


def _not_found(exc: Exception) -> bool:
    """Return whether a passive ``queue_declare`` failed because the queue does not exist."""
    return getattr(exc, "code", None) == 404 or "NOT_FOUND" in str(exc)


def workers(limits: Thresholds) -> Finding:
    """The workers that consume the diffs queue (Celery's inspect, bounded by ``timeout``)."""
    queue = diffs_settings.queue
    app = current_app._get_current_object()
    try:
        replies = app.control.inspect(timeout=limits.timeout).active_queues() or {}
    except Exception as exc:
        return Finding("workers", False, f"could not ask them: {type(exc).__name__}: {exc}",
                       {"queue": queue})
    consuming = sorted(name for name, queues in replies.items()
                       if any(found.get("name") == queue for found in queues or ()))
    details = {"queue": queue, "consuming": consuming, "answered": sorted(replies)}
    if not consuming:
        return Finding("workers", False, f"no worker consumes {queue!r} ({len(replies)} "
                       f"answered within {limits.timeout}s): start one with -Q {queue}", details)
    return Finding("workers", True, f"{len(consuming)} consume {queue!r}", details)


def kept(limits: Thresholds) -> Finding:
    """The diffs kept in the database (PendingDiff): how many, and the oldest one's age."""
    try:
        rows, oldest = pending.kept()
    except Exception as exc:
        return Finding("kept", False, f"database error: {type(exc).__name__}: {exc}")
    age = (timezone.now() - oldest).total_seconds() if oldest is not None else None
    details = {"rows": rows, "oldest_age": age}
    if rows > limits.max_kept:
        return Finding("kept", False, f"{rows:,} diffs wait in the database "
                       f"(over {limits.max_kept:,})", details)
    if age is not None and age > limits.max_kept_age:
        return Finding("kept", False, f"the oldest kept diff waits for {age:.0f}s "
                       f"(over {limits.max_kept_age:.0f}s)", details)
    return Finding("kept", True, f"{rows:,} diffs wait in the database", details)


def last_write(limits: Thresholds) -> Finding:
    """When a worker last wrote diffs (judged only with ``max_write_age``)."""
    try:
        at = health.last_write(get_redis(), diffs_settings.key_prefix)
    except Exception as exc:
        return Finding("last_write", False, f"not readable: {type(exc).__name__}: {exc}")
    age = None if at is None else max(time.time() - at, 0.0)
    details = {"at": at, "age": age}
    text = "none this week" if age is None else f"{age:.0f}s ago"
    if limits.max_write_age is not None and (age is None or age > limits.max_write_age):
        return Finding("last_write", False, f"{text} (over {limits.max_write_age:.0f}s)",
                       details)
    return Finding("last_write", True, text, details)


def last_prune(limits: Thresholds) -> Finding:
    """When the last full prune ran and what it removed; overdue when older than allowed."""
    try:
        client = get_redis()
        found = health.last_prune(client, diffs_settings.key_prefix)
        anything = found is not None or any(keys_per_model(client).values())
    except Exception as exc:
        return Finding("last_prune", False, f"not readable: {type(exc).__name__}: {exc}")
    allowed = limits.prune_age()
    if found is None:
        if not anything:
            return Finding("last_prune", True, "never, and nothing stored yet")
        return Finding("last_prune", False, "never recorded, yet diffs are stored: is beat "
                       "sending diffs.prune (diffs_tasks.schedule.beat_schedule)?")
    age = max(time.time() - found["at"], 0.0)
    details = {**found, "age": age}
    text = (f"{age:.0f}s ago: {int(found.get('members_removed', 0)):,} diffs removed in "
            f"{found.get('seconds', 0.0):.2f}s")
    if age > allowed:
        return Finding("last_prune", False, f"overdue, {text} (over {allowed:.0f}s)", details)
    return Finding("last_prune", True, text, details)
