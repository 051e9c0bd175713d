"""The model of ``bench/sse.py``: its feeds are served; no table is ever made (the bench writes
diffs with the worker's code, it saves no row)."""

from django.db import models

import diffs


@diffs.register(model_feed=True)
class Item(models.Model):
    name = models.CharField(max_length=100)
