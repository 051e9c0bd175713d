"""The one table of django-diffs: diffs waiting to reach Redis.

Rows get there three ways. With the default ``spool`` durability, a batch the broker refused is
written here (one row per diff, after the commit, in a short transaction of its own). With
``outbox`` durability every diff is written here in the same transaction as the change. And a
worker keeps here what the storage would not take after its retries, and the diffs of models it
does not know yet (``waiting_for``). Either way a row is deleted only by a worker, after the diff
is in Redis, and rows nobody has confirmed are sent again by the ``diffs.resend`` task.
"""

from __future__ import annotations

from django.db import models


class PendingDiff(models.Model):
    """One diff not yet confirmed as stored in Redis."""

    diff_id = models.CharField(max_length=16, db_index=True)
    payload = models.TextField(help_text="The diff as JSON, in the task payload's format.")
    created = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(
        null=True, db_index=True, help_text="Last time it was handed to the broker; empty: never."
    )
    waiting_for = models.CharField(
        max_length=200, blank=True, default="", db_index=True,
        help_text="The models a worker did not know when it kept this diff; empty: none.",
    )

    class Meta:
        ordering = ["id"]
        verbose_name = "pending diff"

    def __str__(self) -> str:
        return f"pending diff {self.diff_id}"
