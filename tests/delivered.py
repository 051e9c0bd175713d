"""A fixture for integration tests: each commit's diffs are stored in this process by the
worker's own code (validation, storage), so they are readable right after the commit: no
broker, no worker, no waiting. Import it into a test module to use it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis

from diffs import wire
from diffs.storage.writer import write_batch
from diffs.transport import sink


@pytest.fixture
def delivered(storage: redis.Redis) -> Iterator[redis.Redis]:
    """Store each committed transaction's diffs at once; return the storage client."""

    def store(diffs: list[Any], outbox: Any = None) -> None:
        write_batch(wire.dumps(wire.batch(diffs, outbox)))

    with sink.replaced(store):
        yield storage
