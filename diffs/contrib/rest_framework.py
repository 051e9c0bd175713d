"""Django REST framework: the changes of a viewset's objects, ``GET <detail>/changes/``.

Mix :class:`ChangesMixin` into a ``ModelViewSet`` (or any ``GenericViewSet``) of a registered
model::

    class QuestionViewSet(ChangesMixin, viewsets.ModelViewSet):
        queryset = Question.objects.all()
        serializer_class = QuestionSerializer

and the router adds ``GET questions/<pk>/changes/``: the object's diffs, oldest first, behind
the viewset's own authentication, permission classes and ``get_object()`` (a user who may not
see the object gets DRF's 403 or 404). It takes the JSON feed's ``cursor``, ``limit`` and
``delta=1`` parameters and answers in DRF's paginated shape: ``results`` (each diff through
:class:`DiffSerializer`, or ``changes_serializer_class``), ``next`` (the URL of the next page,
carrying its exact cursor; None when nothing more is stored yet), ``cursor`` (to ask again
later for what is stored after this page) and ``more``. It does not wait: follow the feed's
URL with ``?wait=`` or an event stream for that.

Needs the ``drf`` extra (``pip install django-diffs[drf]``); nothing else in django-diffs
imports this module.
"""

from __future__ import annotations

from typing import Any

import redis
from django.db import models
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, ParseError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from ..exceptions import StorageUnavailable
from ..reading.diffset import DiffManager, DiffSet
from ..reading.page import Page
from ..reading.render import delta_as_json
from ..web import cursor
from ..web.feed import BadQuery, Query, parse_query

__all__ = ["ChangesMixin", "DiffSerializer"]


class StorageNotAnswering(APIException):
    """The diffs storage Redis does not answer (503): try again later."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "the diffs storage is not answering; try again later"
    default_code = "diffs_storage_unavailable"


class DiffSerializer(serializers.Serializer):
    """One diff (a :class:`diffs.Diff`) as the JSON feed writes it; subclass to add fields.

    ``context`` is left out of a diff made without a change context, as the feed does.
    """

    id = serializers.CharField(read_only=True)
    model = serializers.CharField(read_only=True)
    pk = serializers.ReadOnlyField()
    timestamp = serializers.FloatField(read_only=True)
    created = serializers.BooleanField(read_only=True)
    deleted = serializers.BooleanField(read_only=True)
    changed_fields = serializers.ListField(child=serializers.CharField(), read_only=True)
    old = serializers.DictField(read_only=True)
    new = serializers.DictField(read_only=True)
    context = serializers.DictField(read_only=True)

    def to_representation(self, instance: Any) -> dict[str, Any]:
        found: dict[str, Any] = super().to_representation(instance)
        if not found.get("context"):
            found.pop("context", None)
        return found


class ChangesMixin:
    """Adds ``GET <detail>/changes/`` to a viewset (see the module's docstring)."""

    #: The serializer of each diff of ``results``.
    changes_serializer_class: type[serializers.BaseSerializer] = DiffSerializer

    @action(detail=True, methods=["get"], url_path="changes", url_name="changes")
    def changes(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Return a page of the object's diffs after ``?cursor=``, oldest first."""
        instance: models.Model = self.get_object()  # type: ignore[attr-defined]
        history = DiffManager(type(instance)).for_instance(instance)
        try:
            query = parse_query(request.query_params, history.label, history.pk)
        except BadQuery as exc:
            raise ParseError(str(exc)) from exc
        try:
            return Response(self._changes_page(request, history, query))
        except (StorageUnavailable, redis.RedisError) as exc:
            raise StorageNotAnswering from exc

    def _changes_page(self, request: Request, history: DiffSet, query: Query) -> dict[str, Any]:
        body: dict[str, Any]
        if query.delta:
            delta, page = history.delta_after(query.after, query.limit)
            body = {"delta": delta_as_json(delta)}
        else:
            page = history.page(query.after, query.limit)
            body = {}
        end = cursor.encode(history.label, history.pk, page.end(query.after))
        body.update(self._links(request, end, page))
        if not query.delta:
            serializer = self.changes_serializer_class(
                page.diffs, many=True, context=self.get_serializer_context())  # type: ignore[attr-defined]
            body["results"] = serializer.data
        return body

    def _links(self, request: Request, end: str, page: Page) -> dict[str, Any]:
        url = request.build_absolute_uri()
        return {"next": replace_query_param(url, "cursor", end) if page.more else None,
                "cursor": end, "more": page.more}
