"""The naive design, as the reference: dirtyfields, ``django.core.serializers``, a task per save.

Its messages go to a queue of their own that no worker consumes; the bench counts and drops them.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.core import serializers
from django.db import transaction
from django.db.models.signals import post_save

from .models import NaiveRow

NAIVE_QUEUE = "bench-naive"


@shared_task(name="bench.naive_write", ignore_result=True)
def naive_write(data: str) -> None:
    """Stand-in for a write task; never consumed."""


def record(sender: type[NaiveRow], instance: NaiveRow, created: bool, **kwargs: Any) -> None:
    """Serialize the dirty fields and send them once the transaction commits."""
    dirty = list(instance.get_dirty_fields())
    data = serializers.serialize("json", [instance], fields=dirty)
    transaction.on_commit(
        lambda: naive_write.apply_async(args=(data,), queue=NAIVE_QUEUE, serializer="json")
    )


post_save.connect(record, sender=NaiveRow, dispatch_uid="bench-naive")
