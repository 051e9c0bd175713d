"""What the storage remembers of the pipeline's health: the last write and the last prune.

``manage.py diffs_status`` reads them to tell a stopped worker or a prune that no longer runs.
A worker notes its writes at most once a second (one ``SET`` more per second, not per batch).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict
from typing import Any

from .connection import Client
from .keys import last_write_key, pruned_key

#: Seconds between two notes of the same process's writes.
NOTE_EVERY = 1.0
#: How long the notes live without a new one (a week): a storage nobody writes to forgets.
NOTE_TTL = 7 * 24 * 3600

#: When (``time.monotonic()``) this process last noted a write.
_noted_at = -math.inf


def note_write(client: Client, prefix: str) -> bool:
    """Record that diffs were written now, unless this process did within ``NOTE_EVERY``."""
    global _noted_at
    ticks = time.monotonic()
    if ticks - _noted_at < NOTE_EVERY:
        return False
    _noted_at = ticks
    client.set(last_write_key(prefix), repr(time.time()), ex=NOTE_TTL)
    return True


def note_prune(client: Client, prefix: str, result: Any, now: float | None = None) -> None:
    """Record a prune's result (a ``PruneResult``) and when it ended."""
    fields = {name: repr(value) for name, value in asdict(result).items() if name != "dry_run"}
    key = pruned_key(prefix)
    client.hset(key, mapping={"at": repr(time.time() if now is None else now), **fields})
    client.expire(key, NOTE_TTL)


def last_write(client: Client, prefix: str) -> float | None:
    """Return the unix time diffs were last written (None: not noted this week)."""
    found = client.get(last_write_key(prefix))
    return None if found is None else float(found)


def last_prune(client: Client, prefix: str) -> dict[str, float] | None:
    """Return the last prune's ``at`` (unix time) and counts, or None."""
    found = client.hgetall(pruned_key(prefix))
    return {name: float(value) for name, value in found.items()} if found else None
