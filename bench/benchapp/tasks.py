"""The ingest benchmark's floor: a task that does what the write task does before it stores."""

from __future__ import annotations

from celery import shared_task

from diffs.storage import writer


@shared_task(name="bench.parse_only", ignore_result=True, serializer="json")
def parse_only(batch: str) -> int:
    """Parse a batch's JSON text and check every diff, as ``diffs.write`` does; store nothing."""
    return len(writer.check(writer.load(batch)).good)
