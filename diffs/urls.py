"""The changes feed's URL: ``path("diffs/", include("diffs.urls"))`` in the project's urls.

``GET diffs/<app_label.model>/<pk>/`` and ``GET diffs/<app_label.model>/`` (see
:mod:`diffs.web.feed`); the pk may hold anything the model's pk field accepts, ``/`` included.
"""

from __future__ import annotations

from django.urls import path

from .web import feed

app_name = "diffs"

urlpatterns = [
    path("<str:label>/", feed.model_changes, name="model_feed"),
    path("<str:label>/<path:pk>/", feed.changes, name="feed"),
]
