from django.db import models

import diffs


@diffs.register
class Item(models.Model):
    """Same class name as testapp.Item: both must record under their own labels."""

    label = models.CharField(max_length=50)
