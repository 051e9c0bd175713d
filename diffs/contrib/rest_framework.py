"""Django REST framework: the changes of a viewset's objects, ``GET <detail>/changes/``.

Mix :class:`ChangesMixin` into a ``ModelViewSet`` (or any ``GenericViewSet``) of a registered
model::

    class QuestionViewSet(ChangesMixin, viewsets.ModelViewSet):
        queryset = Question.objects.all()
        serializer_class = QuestionSerializer

and the router adds ``GET questions/<pk>/changes/``: the object's diffs, in the order they were
stored, behind the viewset's own authentication, permission classes and ``get_object()`` (a
user who may not see the object gets DRF's 403 or 404). For a model registered with
``model_feed=True`` it adds ``GET questions/changes/`` too: the model's feed, showing only the
diffs of objects in the viewset's ``filter_queryset(get_queryset())`` (DRF's own way of saying
what a user may see; override :meth:`ChangesMixin.visible_pks` to decide otherwise). A deleted
object is in no queryset, so its delete is not shown there by default.

Both take the JSON feed's ``cursor``, ``limit`` and ``fields`` parameters (``delta=1`` on the
object's) and answer in DRF's paginated shape: ``results`` (each diff through
:class:`DiffSerializer`, or ``changes_serializer_class``), ``next`` (the URL of the next page,
carrying its exact cursor; None when nothing more is stored yet), ``cursor`` (to ask again
later for what is stored after this page) and ``more``. They do not wait: follow the feed's
URL with ``?wait=`` or an event stream for that.

Needs the ``drf`` extra (``pip install django-diffs[drf]``); nothing else in django-diffs
imports this module.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import redis
from django.db import models, router
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, NotFound, ParseError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from ..exceptions import StorageUnavailable
from ..reading.diff import Diff
from ..reading.diffset import DiffManager
from ..reading.filtering import changed_any, filtered_page
from ..reading.modelfeed import ModelFeed
from ..reading.page import Page, Position
from ..reading.render import delta_as_json
from ..registry import get_registration
from ..web import cursor
from ..web.feed import BadQuery, Query, parse_query
from ..wire import encode_pk

__all__ = ["ChangesMixin", "DiffSerializer"]

T = TypeVar("T")


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
        """Return a page of the object's diffs after ``?cursor=``, in the order stored."""
        instance: models.Model = self.get_object()  # type: ignore[attr-defined]
        history = DiffManager(type(instance)).for_instance(instance)
        query = self._query(request, history.label, history.pk, type(instance))
        if query.delta:
            if query.fields is not None:
                raise ParseError("delta cannot be combined with fields")
            delta, page = self._storage(lambda: history.delta_after(query.after, query.limit))
            return Response({"delta": delta_as_json(delta),
                             **self._links(request, history.label, history.pk, query, page)})
        return self._page(request, history.label, history.pk, query, history.page, None)

    @action(detail=False, methods=["get"], url_path="changes", url_name="model-changes")
    def model_changes(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Return a page of the model feed's diffs the user may see, after ``?cursor=``."""
        model = self.get_queryset().model  # type: ignore[attr-defined]
        registration = get_registration(model)
        if not registration.model_feed:
            raise NotFound(f"{registration.label} keeps no model feed (model_feed=True)")
        query = self._query(request, registration.label, None, model)
        if query.delta:
            raise ParseError("delta is not available on a model feed")
        feed = ModelFeed(registration.label, using=router.db_for_read(model))
        return self._page(request, registration.label, None, query, feed.page, self.visible_pks)

    def visible_pks(self, pks: list[Any]) -> set[Any]:
        """Return which of ``pks`` the request may see the diffs of (model feed): those in
        ``filter_queryset(get_queryset())``; called once per read of the feed."""
        queryset = self.filter_queryset(self.get_queryset())  # type: ignore[attr-defined]
        return set(queryset.filter(pk__in=pks).values_list("pk", flat=True))

    def _query(self, request: Request, label: str, pk: int | str | None,
               model: type[models.Model]) -> Query:
        try:
            return parse_query(request.query_params, label, pk, model)
        except BadQuery as exc:
            raise ParseError(str(exc)) from exc

    def _page(
        self, request: Request, label: str, pk: int | str | None, query: Query,
        read: Callable[[Position | None, int], Page],
        visible: Callable[[list[Any]], set[Any]] | None,
    ) -> Response:
        keep = _keep(query.fields, visible)
        page = self._storage(lambda: read(query.after, query.limit) if keep is None
                             else filtered_page(read, query.after, query.limit, keep))
        serializer = self.changes_serializer_class(
            page.diffs, many=True, context=self.get_serializer_context())  # type: ignore[attr-defined]
        return Response({**self._links(request, label, pk, query, page),
                         "results": serializer.data})

    @staticmethod
    def _storage(read: Callable[[], T]) -> T:
        try:
            return read()
        except (StorageUnavailable, redis.RedisError) as exc:
            raise StorageNotAnswering from exc

    @staticmethod
    def _links(request: Request, label: str, pk: int | str | None, query: Query,
               page: Page) -> dict[str, Any]:
        end = cursor.encode(label, pk, page.end(query.after))
        url = request.build_absolute_uri()
        return {"next": replace_query_param(url, "cursor", end) if page.more else None,
                "cursor": end, "more": page.more}


def _keep(
    fields: frozenset[str] | None, visible: Callable[[list[Any]], set[Any]] | None
) -> Callable[[list[Diff]], list[Diff]] | None:
    """Return the filter of a page: ``?fields=``, then the objects ``visible`` allows."""
    if fields is None and visible is None:
        return None
    by_fields = None if fields is None else changed_any(fields)

    def keep(diffs: list[Diff]) -> list[Diff]:
        if by_fields is not None:
            diffs = by_fields(diffs)
        if visible is not None and diffs:
            allowed = {encode_pk(pk) for pk in visible(list(dict.fromkeys(d.pk for d in diffs)))}
            diffs = [d for d in diffs if d.pk in allowed]
        return diffs

    return keep
