"""The seed README's models."""

from django.db import models
from django.utils import timezone

import diffs


@diffs.register(model_feed=True)  # GET diffs/polls.question/: every question's changes
class Question(models.Model):
    question_text = models.CharField(max_length=200)
    pub_date = models.DateTimeField("date published", default=timezone.now)

    def __str__(self):
        return self.question_text


@diffs.register
class Choice(models.Model):
    question = models.ForeignKey(Question, on_delete=models.CASCADE)
    choice_text = models.CharField(max_length=200)
    votes = models.IntegerField(default=0)

    def __str__(self):
        return self.choice_text

    def get_diff_parent(self):
        # No query: the parent only needs its pk.
        return Question(id=self.question_id)
