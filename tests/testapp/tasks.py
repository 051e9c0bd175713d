"""Tasks of the test project that record changes: the change context must follow them.

``CELERY_TASK_ROUTES`` (tests/settings.py) sends them to the ``diffs`` queue, the one the
session's worker consumes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from celery import shared_task
from django.db import OperationalError

from tests.testapp.models import Question

T = TypeVar("T")


def _patiently(write: Callable[[], T], attempts: int = 50) -> T:
    """Run ``write``, again while SQLite says a table is locked.

    The session's worker runs in a thread of the test process, on the same in-memory SQLite
    database, whose shared cache locks whole tables while the test's thread reads them: a
    project's real worker has a database of its own.
    """
    for _ in range(attempts - 1):
        try:
            return write()
        except OperationalError as exc:
            if "locked" not in str(exc):
                raise
            time.sleep(0.05)
    return write()


@shared_task(name="tests.save_question")
def save_question(text: str) -> int:
    """Create a question; return its pk (a chain passes it on)."""
    return _patiently(lambda: Question.objects.create(question_text=text).pk)


@shared_task(name="tests.rename_question")
def rename_question(pk: int, text: str) -> int:
    """Change a question's text; return its pk."""

    def rename() -> int:
        question = Question.objects.get(pk=pk)
        question.question_text = text
        question.save()
        return pk

    return _patiently(rename)
