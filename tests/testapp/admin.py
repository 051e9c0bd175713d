"""The test app's admin: registered models with the diffs history page."""

from django.contrib import admin

from diffs.admin import DiffsHistoryMixin

from .models import AllTypes, Category, Choice, HistoryChoice, HistoryPoll, Question


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


@admin.register(Choice)
class ChoiceAdmin(DiffsHistoryMixin, admin.ModelAdmin):
    pass


@admin.register(AllTypes)
class AllTypesAdmin(DiffsHistoryMixin, admin.ModelAdmin):
    pass
