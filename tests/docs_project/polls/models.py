"""The docs' ``polls/models.py``: every model the docs define, as they write it."""

from django.db import models
from django.utils import timezone

import diffs


@diffs.register
class Question(models.Model):
    question_text = models.CharField(max_length=200)
    pub_date = models.DateTimeField("date published", default=timezone.now)
