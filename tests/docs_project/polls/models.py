"""The docs' ``polls/models.py``: every model the docs define, as they write it."""

from django.db import models
from django.utils import timezone

import diffs


@diffs.register
class Question(models.Model):
    question_text = models.CharField(max_length=200)
    pub_date = models.DateTimeField("date published", default=timezone.now)


@diffs.register
class Choice(models.Model):
    question = models.ForeignKey(Question, on_delete=models.CASCADE)
    choice_text = models.CharField(max_length=200)
    votes = models.IntegerField(default=0)

    def get_diff_parent(self):
        return Question(pk=self.question_id)  # only the pk is needed: no query


class OpenQuestion(Question):
    class Meta:
        proxy = True


@diffs.register(exclude=["password"])
class Voter(models.Model):
    username = models.CharField(max_length=50)
    password = models.CharField(max_length=128)


@diffs.register
class Note(models.Model):
    text = models.TextField()

    def serialize_diff(self, dirty_fields):
        return {"fields": dirty_fields}


@diffs.register(read_old_values=True)
class Tally(models.Model):
    name = models.CharField(max_length=50)
    count = models.IntegerField(default=0)


class Tag(models.Model):
    name = models.CharField(max_length=100)

    def __str__(self):
        return self.name


@diffs.register
class Survey(models.Model):
    title = models.CharField(max_length=200)
    tags = models.ManyToManyField(Tag, related_name="surveys")


@diffs.register
class Answer(models.Model):
    question = models.ForeignKey(Question, on_delete=models.CASCADE)
    text = models.CharField(max_length=200)
    votes = models.IntegerField(default=0)

    objects = diffs.RecordedManager()

    class Meta:
        base_manager_name = "objects"  # so that SET_NULL cascades onto answers are recorded

    def get_diff_parent(self):
        return Question(pk=self.question_id)
