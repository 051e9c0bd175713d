"""The bulk-write benchmark's models: one shape, untracked, django-diffs and simple-history."""

from django.db import models
from simple_history.models import HistoricalRecords

import diffs


class Row(models.Model):
    """The shape every variant shares: a name and two integers."""

    name = models.CharField(max_length=50)
    counter = models.IntegerField(default=0)
    score = models.IntegerField(default=0)

    class Meta:
        abstract = True


class PlainBulkRow(Row):
    """Untracked, Django's own manager: the baseline every ratio is taken against."""


@diffs.register
class DiffsBulkRow(Row):
    """Recorded by django-diffs, bulk writes included (``diffs.RecordedManager``)."""

    objects = diffs.RecordedManager()


class HistoryBulkRow(Row):
    """Recorded by django-simple-history (``bulk_create_with_history``...)."""

    history = HistoricalRecords()
