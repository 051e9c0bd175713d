"""The test app's admin: registered models with the diffs history page."""

from django.contrib import admin

from diffs.admin import DiffsHistoryMixin

from .models import Category, HistoryChoice, HistoryPoll, Question


@admin.register(Question)
class QuestionAdmin(DiffsHistoryMixin, admin.ModelAdmin):
    pass


@admin.register(HistoryPoll)
class HistoryPollAdmin(DiffsHistoryMixin, admin.ModelAdmin):
    pass


@admin.register(HistoryChoice)
class HistoryChoiceAdmin(DiffsHistoryMixin, admin.ModelAdmin):
    pass


admin.site.register(Category)
