"""URLs of the web process that tests/e2e/test_metrics_processes.py starts: a save, a scrape.

A project exposes the default registry its own way (django-prometheus, or a view like
``metrics`` below); the diffs_* metrics are in it.
"""

from django.http import HttpRequest, HttpResponse
from django.urls import path
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

import diffs
from tests.testapp.models import Question


def save(request: HttpRequest, count: int) -> HttpResponse:
    """Create ``count`` questions (one transaction each), then hand their diffs to the broker."""
    for n in range(count):
        Question.objects.create(question_text=f"metrics {n}")
    diffs.flush(timeout=10)
    return HttpResponse("saved")


def metrics(request: HttpRequest) -> HttpResponse:
    """The default registry in the exposition format."""
    return HttpResponse(generate_latest(), content_type=CONTENT_TYPE_LATEST)


urlpatterns = [
    path("save/<int:count>", save),
    path("metrics", metrics),
]
