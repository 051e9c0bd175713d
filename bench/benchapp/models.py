"""Three models of the same shape: untracked, recorded by django-diffs, and the naive design."""

from dirtyfields import DirtyFieldsMixin
from django.db import models

import diffs


class Row(models.Model):
    """The shape every variant shares: a name and two integers."""

    name = models.CharField(max_length=50)
    counter = models.IntegerField(default=0)
    score = models.IntegerField(default=0)

    class Meta:
        abstract = True


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
