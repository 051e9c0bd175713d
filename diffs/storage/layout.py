"""Moving keys written before the bucketed layout into it (``manage.py migrate_diffs_keys``).

Versions before Redis Cluster support kept an object's diffs in ``<prefix>:<label>:<pk>`` and
one prune index ``<prefix>:~due``; the bucketed layout (:mod:`diffs.storage.keys`) does not
read them. The move copies each old key's members, scores unchanged, into its new key (and its
bucket's index, with a TTL of the model's max age), then deletes the old key. Each step is
idempotent (the same members again are no change), so a move that stops half way is finished
by running it again, and it may run while workers write to the new keys.

Old keys existed only on one server (the earlier versions did not run on a cluster), but the
scan goes over every master, so it also runs after the storage became a cluster by copying
the data over (e.g. ``redis-cli --cluster import``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..conf import settings
from ..registry import max_age_for
from . import store
from .connection import Client, get_redis, masters
from .keys import legacy_index_key, parse_legacy_key

#: Old keys moved per round trip group.
BATCH = 200


@dataclass(frozen=True)
class LayoutMove:
    """What a move did (or, for a dry run, would do)."""

    keys: int = 0
    members: int = 0
    dry_run: bool = False


def move_legacy_keys(
    *,
    dry_run: bool = False,
    client: Client | None = None,
    prefix: str | None = None,
    progress: Callable[[LayoutMove], None] | None = None,
) -> LayoutMove:
    """Move every key of the layout before buckets into the bucketed one; return the counts."""
    client = client if client is not None else get_redis()
    prefix = prefix if prefix is not None else settings.key_prefix
    keys = members = 0
    for master in masters(client):
        found: list[str] = []
        for key in master.scan_iter(match=f"{prefix}:*", count=1000, _type="zset"):
            if parse_legacy_key(prefix, key) is not None:
                found.append(key)
            if len(found) == BATCH:
                members += _move(master, client, prefix, found, dry_run)
                keys += len(found)
                found = []
                if progress is not None:
                    progress(LayoutMove(keys, members, dry_run))
        members += _move(master, client, prefix, found, dry_run)
        keys += len(found)
        if not dry_run:
            master.delete(legacy_index_key(prefix))
    return LayoutMove(keys, members, dry_run)


def delete_prefix(prefix: str, client: Client | None = None) -> int:
    """Delete every key under ``prefix:`` on every master (a test's own prefix, say); return
    how many went. A SCAN: for a prefix of its own, never for the production one while live."""
    client = client if client is not None else get_redis()
    deleted = 0
    for master in masters(client):
        pipe = master.pipeline(transaction=False)
        for key in master.scan_iter(match=f"{prefix}:*", count=1000):
            pipe.unlink(key)  # one key per command: a cluster node refuses keys of two slots
        deleted += sum(pipe.execute())
    return deleted


def _move(master: Client, client: Client, prefix: str, keys: list[str], dry_run: bool) -> int:
    """Copy ``keys`` (old layout, all on ``master``) to their new keys, then delete them."""
    if not keys:
        return 0
    pipe = master.pipeline(transaction=False)
    for key in keys:
        pipe.zrange(key, 0, -1, withscores=True)
    objects = {}
    for key, pairs in zip(keys, pipe.execute(), strict=True):
        parsed = parse_legacy_key(prefix, key)
        if parsed is not None:
            label, name = parsed
            objects[name] = (label, pairs)
    if not dry_run:
        store.write_members(client, prefix, objects, max_age_for)
        master.delete(*keys)
    return sum(len(pairs) for _, pairs in objects.values())
