"""The example's admin: each question and choice has a Changes page (DiffsHistoryMixin)."""

from django.contrib import admin

from diffs.admin import DiffsHistoryMixin

from .models import Choice, Question


class ChoiceInline(admin.TabularInline):
    model = Choice
    extra = 1


@admin.register(Question)
class QuestionAdmin(DiffsHistoryMixin, admin.ModelAdmin):
    list_display = ["question_text", "pub_date"]
    inlines = [ChoiceInline]


@admin.register(Choice)
class ChoiceAdmin(DiffsHistoryMixin, admin.ModelAdmin):
    list_display = ["choice_text", "question", "votes"]
