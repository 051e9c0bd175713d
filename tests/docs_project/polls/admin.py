"""The docs' ``polls/admin.py``, as they write it."""

from django.contrib import admin

from diffs.admin import DiffsHistoryMixin

from .models import Question


@admin.register(Question)
class QuestionAdmin(DiffsHistoryMixin, admin.ModelAdmin):
    pass
