"""Tasks of the test project that record changes: the change context must follow them.

``CELERY_TASK_ROUTES`` (tests/settings.py) sends them to the ``diffs`` queue, the one the
session's worker consumes.
"""

from __future__ import annotations

from celery import shared_task

from tests.testapp.models import Question


@shared_task(name="tests.save_question")
def save_question(text: str) -> int:
    """Create a question; return its pk (a chain passes it on)."""
    return Question.objects.create(question_text=text).pk


@shared_task(name="tests.rename_question")
def rename_question(pk: int, text: str) -> int:
    """Change a question's text; return its pk."""
    question = Question.objects.get(pk=pk)
    question.question_text = text
    question.save()
    return pk
