"""Models of one shape: untracked, recorded by django-diffs, the naive design and the peers."""

from auditlog.registry import auditlog
from dirtyfields import DirtyFieldsMixin
from django.db import models
from simple_history.models import HistoricalRecords

import diffs
from bench.shapes import Row


class PlainRow(Row):
    """Untracked: the baseline every ratio is taken against."""


@diffs.register
class DiffsRow(Row):
    """Recorded by django-diffs with its default settings."""


@diffs.register
class OutboxRow(Row):
    """Recorded by django-diffs in ``durability="outbox"`` mode (see ``OutboxRecorder``)."""


class NaiveRow(DirtyFieldsMixin, Row):
    """Recorded the naive way (see ``naive.py``): serializers and ``apply_async`` per save."""


class FloorRow(Row):
    """Untracked; the ``floor`` variant pushes one bare message per commit after saving it."""


class Parent(models.Model):
    """What the ingest benchmark's diffs roll up to."""

    name = models.CharField(max_length=50)


@diffs.register(read_old_values=True)
class ReadOldRow(Row):
    """Recorded by django-diffs with ``read_old_values=True``: one SELECT before each save."""


@diffs.register
class BackgroundRow(Row):
    """Recorded by django-diffs with ``publish="background"`` (once the setting exists)."""


@diffs.register
class AloneRow(Row):
    """Recorded by django-diffs, its diffs dropped instead of published: the recording alone."""


class HistoryRow(Row):
    """Recorded by django-simple-history (one historical row per save)."""

    history = HistoricalRecords()


class AuditRow(Row):
    """Recorded by django-auditlog (one ``LogEntry`` per save)."""


auditlog.register(AuditRow)


@diffs.register(model_feed=True)
class FeedRow(Row):
    """Recorded by django-diffs with ``model_feed=True``: each diff also goes to its feed."""
