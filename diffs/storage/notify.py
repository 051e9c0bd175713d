"""Waking readers when diffs arrive: the worker announces the keys it wrote, readers wait.

After a write adds members, the worker publishes the object keys it wrote (parents included)
as one JSON array on the prefix's channel (:func:`diffs.storage.keys.written_channel`). A
reader that waits for new diffs of one key subscribes first, then reads once more (so a write
that landed in between is not missed), then sleeps on the subscription: no polling of Redis.

The announcement is best effort. It is sent after the write, outside the write's script, so a
worker that dies in between stores the diffs without waking anyone: a waiting reader then
answers when its wait runs out, as it does when nothing arrives. A failed announcement is
logged and never fails the write.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

import redis
import redis.asyncio

from ..wire import CheckedDiff, dumps
from .connection import is_cluster
from .keys import object_key, written_channel

logger = logging.getLogger("diffs")

#: Seconds to wait for Redis to confirm a subscription.
CONFIRM_TIMEOUT = 5.0


def written_keys(prefix: str, diffs: Iterable[CheckedDiff]) -> list[str]:
    """Return the object keys a write of ``diffs`` adds to (each diff's and its parents')."""
    found = set()
    for diff in diffs:
        found.add(object_key(prefix, diff.label, diff.pk, diff.database))
        found.update(object_key(prefix, label, pk, diff.database) for label, pk in diff.parents)
    return sorted(found)


def announce(client: redis.Redis, prefix: str, diffs: Iterable[CheckedDiff]) -> None:
    """Publish the keys a write of ``diffs`` added to; log, never raise, when Redis refuses."""
    announce_keys(client, prefix, written_keys(prefix, diffs))


def announce_keys(client: redis.Redis, prefix: str, keys: list[str]) -> None:
    """Publish ``keys``, the object keys a write added to (each once); log, never raise."""
    if not keys:
        return
    try:
        client.publish(written_channel(prefix), dumps(sorted(keys)))
    except redis.RedisError as exc:
        logger.warning("diffs: stored the diffs but could not wake waiting readers: %s", exc)


class Subscription:
    """An open subscription to the written-keys channel (see :func:`subscribed`)."""

    def __init__(self, pubsub: redis.asyncio.client.PubSub) -> None:
        self.pubsub = pubsub

    async def wait_for(self, key: str, timeout: float) -> bool:
        """Return True once a write to ``key`` is announced, False after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            message = await self.pubsub.get_message(ignore_subscribe_messages=True, timeout=left)
            if message is not None and key in keys_of(message):
                return True
        return False

    async def next_keys(self, timeout: float) -> list[str] | None:
        """Return the keys of the next announcement, or None when none came within ``timeout``.

        Raises :class:`Interrupted` when redis-py re-made the subscription by itself after
        losing its connection (announcements in between are lost), and what redis-py raises
        when it could not.
        """
        message = await self.pubsub.get_message(timeout=timeout)
        if message is not None and message.get("type") == "subscribe":
            raise Interrupted("the subscription was lost and made again")
        return None if message is None else keys_of(message)


class Interrupted(redis.ConnectionError):
    """A subscription lost its connection: what was announced meanwhile did not reach it."""


@asynccontextmanager
async def subscribed(client: redis.asyncio.Redis, prefix: str) -> AsyncIterator[Subscription]:
    """Subscribe to the prefix's written-keys channel; return once Redis confirmed it.

    Holds one connection of ``client``'s pool while open, and no thread.
    """
    if is_cluster(client):
        # Classic PUBLISH reaches every node of a cluster: the subscription may use any one,
        # once the client knows the nodes (its pubsub does not load them by itself).
        await client.initialize()
    pubsub = client.pubsub()
    try:
        await pubsub.subscribe(written_channel(prefix))
        # Redis' confirmation: from here on no announcement is missed.
        if await pubsub.get_message(timeout=CONFIRM_TIMEOUT) is None:
            raise redis.TimeoutError(f"Redis did not confirm the subscription to {prefix}")
        yield Subscription(pubsub)
    finally:
        await pubsub.aclose()


def keys_of(message: dict[str, Any]) -> list[str]:
    """Return the keys an announcement names ([] for anything that is not one)."""
    if message.get("type") != "message":
        return []
    try:
        keys = json.loads(message["data"])
    except (TypeError, ValueError):
        return []
    return [key for key in keys if isinstance(key, str)] if isinstance(keys, list) else []
