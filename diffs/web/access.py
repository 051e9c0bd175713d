"""Who may read a feed: the model's ``view`` permission, or the project's callable.

``DIFFS_SETTINGS["feed_permission"]`` names a callable ``(request, model, pk) -> bool`` that
decides instead (``pk`` is None for the model's feed; the admin's history page keeps the
admin's own rule). Which objects of a model's feed a request sees is ``feed_filter``'s
(:func:`diffs.web.feed.keeper`).
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.http import HttpRequest

from ..conf import diffs_settings


def view_permission(model: type[models.Model]) -> str:
    """Return the name of a model's ``view`` permission (``app_label.view_model``)."""
    return f"{model._meta.app_label}.view_{model._meta.model_name}"


def may_read(request: HttpRequest, model: type[models.Model], pk: Any) -> bool:
    """Return whether the request may read the diffs of ``model``'s object ``pk`` (None: of
    every object, the model's feed)."""
    decide = diffs_settings.feed_permission
    if decide is not None:
        return bool(decide(request, model, pk))
    user = getattr(request, "user", None)
    return user is not None and bool(user.has_perm(view_permission(model)))
