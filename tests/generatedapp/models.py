"""A registered model with a database-computed ``GeneratedField`` (Django >= 5.0)."""

from django.db import models

import diffs


@diffs.register
class Generated(models.Model):
    base = models.IntegerField(default=0)
    doubled = models.GeneratedField(
        expression=models.F("base") * 2, output_field=models.IntegerField(), db_persist=True
    )
