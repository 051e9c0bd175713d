"""The model shape every benchmark variant shares, as an abstract model (no app of its own).

The recording benchmark (``bench.benchapp``) and the bulk-write benchmark (``bench.bulkapp``)
run in projects of their own, so each app declares its concrete models over this one shape.
"""

from django.db import models


class Row(models.Model):
    """The shape every variant shares: a name and two integers."""

    name = models.CharField(max_length=50)
    counter = models.IntegerField(default=0)
    score = models.IntegerField(default=0)

    class Meta:
        abstract = True
