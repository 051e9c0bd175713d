"""The recording benchmark's django-pghistory variant: installed on PostgreSQL only (its
triggers are PostgreSQL's)."""

import pghistory

from bench.shapes import Row


@pghistory.track()
class PghRow(Row):
    """Recorded by django-pghistory with its default trackers (insert and update triggers)."""
