"""Views of the change-context tests: each saves a Question and answers with what it saved.

``DiffsContextMiddleware`` runs around them (``tests/context_urls.py``, and the real servers of
``tests/context_server_settings.py``). Importing this module loads the test Celery app, so a
server that serves these views publishes to the test session's broker.
"""

from __future__ import annotations

from django.contrib.auth import login
from django.contrib.auth.models import User
from django.http import HttpRequest, JsonResponse

from tests.celery_app import app as celery_app
from tests.testapp.models import Question
from tests.testapp.tasks import save_question

__all__ = ["celery_app"]


def _user(request: HttpRequest) -> User:
    user, _ = User.objects.get_or_create(username=request.GET.get("user", "someone"))
    return user


def save(request: HttpRequest, rest: str = "") -> JsonResponse:
    """Save one question as whoever the request is (any path under ``save/``)."""
    question = Question.objects.create(question_text=request.GET.get("text", "saved"))
    return JsonResponse({"pk": question.pk})


def login_then_save(request: HttpRequest) -> JsonResponse:
    """Save before and after logging a user in, in the same request."""
    before = Question.objects.create(question_text="before login")
    user = _user(request)
    login(request, user)
    after = Question.objects.create(question_text="after login")
    return JsonResponse({"before": before.pk, "after": after.pk, "user": user.pk})


def authenticate_late(request: HttpRequest) -> JsonResponse:
    """Set ``request.user`` in the view, as Django REST framework's authentication does."""
    user = _user(request)
    request.user = user
    question = Question.objects.create(question_text="token auth")
    return JsonResponse({"pk": question.pk, "user": user.pk})


async def save_async(request: HttpRequest) -> JsonResponse:
    """Save from an async view (the ORM's async API)."""
    question = await Question.objects.acreate(question_text="async")
    return JsonResponse({"pk": question.pk})


def start_task(request: HttpRequest) -> JsonResponse:
    """Publish a task that saves a question, as a view handing work to Celery does."""
    user = _user(request)
    request.user = user
    save_question.delay(request.GET.get("text", "from a task"))
    return JsonResponse({"user": user.pk})


async def start_task_async(request: HttpRequest) -> JsonResponse:
    """Publish a task straight from an async view, before anything read ``request.user``."""
    save_question.delay(request.GET.get("text", "from an async view"))
    return JsonResponse({})


def tenant_context(request: HttpRequest) -> dict[str, object]:
    """A ``request_context`` callable: the tenant from a header, the actor read at the save."""
    return {"tenant": request.headers.get("X-Tenant", "none"),
            "actor": lambda: getattr(getattr(request, "user", None), "pk", None)}


def broken_context(request: HttpRequest) -> dict[str, object]:
    """A ``request_context`` callable that raises."""
    raise RuntimeError("the tenant service is down")
