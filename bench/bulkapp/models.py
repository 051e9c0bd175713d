"""The bulk-write benchmark's models: one shape, untracked, django-diffs and simple-history."""

from simple_history.models import HistoricalRecords

import diffs
from bench.shapes import Row


class PlainBulkRow(Row):
    """Untracked, Django's own manager: the baseline every ratio is taken against."""


@diffs.register
class DiffsBulkRow(Row):
    """Recorded by django-diffs, bulk writes included (``diffs.RecordedManager``)."""

    objects = diffs.RecordedManager()


class HistoryBulkRow(Row):
    """Recorded by django-simple-history (``bulk_create_with_history``...)."""

    history = HistoricalRecords()
