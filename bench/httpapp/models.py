"""The HTTP benchmark's models, one shape: untracked, django-diffs and django-pghistory."""

import pghistory

import diffs
from bench.shapes import Row


class PlainHttpRow(Row):
    """Untracked: the baseline every ratio is taken against."""


@diffs.register
class DiffsHttpRow(Row):
    """Recorded by django-diffs with its default settings (``publish="background"``)."""


@pghistory.track()
class PghHttpRow(Row):
    """Recorded by django-pghistory with its default trackers (insert and update triggers)."""
