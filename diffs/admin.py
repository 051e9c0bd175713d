"""``DiffsHistoryMixin``: a "Changes" page in the Django admin for a registered model.

    from django.contrib import admin
    from diffs.admin import DiffsHistoryMixin

    @admin.register(Question)
    class QuestionAdmin(DiffsHistoryMixin, admin.ModelAdmin):
        pass

The change form gets a "Changes" link next to "History"; the page lists the object's diffs
(and its children's), newest first: when, who, what kind of change, each field old -> new.
It needs the model's view permission, like the admin's own history page.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from .registry import get_registration
from .web.history import NewestFirst, rows

_Base: Any = admin.ModelAdmin  # for type checkers only: the mixin goes before a ModelAdmin


class DiffsHistoryMixin(_Base):
    """Adds the "Changes" link and page to a ``ModelAdmin`` of a registered model."""

    #: Diffs per page of the history.
    diffs_per_page = 50
    #: The template of the page (it extends ``admin/base_site.html``).
    diffs_history_template = "diffs/admin/history.html"
    change_form_template = "diffs/admin/change_form.html"

    def get_urls(self) -> list[URLPattern]:
        """Return the admin's URLs with ``<pk>/changes/`` first."""
        opts = self.model._meta
        return [
            path(
                "<path:object_id>/changes/",
                self.admin_site.admin_view(self.diffs_history_view),
                name=f"{opts.app_label}_{opts.model_name}_diffs",
            ),
            *super().get_urls(),
        ]

    def render_change_form(
        self, request: HttpRequest, context: dict[str, Any], *args: Any, **kwargs: Any
    ) -> HttpResponse:
        """Add the "Changes" link's address to the change form of a saved object."""
        original = context.get("original")
        if original is not None and original.pk is not None:
            context["diffs_history_url"] = self._history_url(original.pk)
        return super().render_change_form(request, context, *args, **kwargs)  # type: ignore[no-any-return]

    def _history_url(self, pk: Any) -> str:
        opts = self.model._meta
        return reverse(
            f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_diffs",
            args=[quote(pk)],
        )

    def diffs_history_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Show the object's diffs, newest first, a page at a time."""
        model = self.model
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404(f"No {model._meta.verbose_name} with the key {object_id!r}.")
        if not self.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        diffs = model.diffs.for_instance(obj)
        label = get_registration(model).label
        paginator = Paginator(NewestFirst(diffs), self.diffs_per_page)
        page = paginator.get_page(request.GET.get("p"))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Changes: {obj}",
            "subtitle": None,
            "object": obj,
            "opts": model._meta,
            "module_name": str(model._meta.verbose_name_plural).capitalize(),
            "rows": rows(list(page.object_list), label, diffs.pk, diffs.using),
            "page_obj": page,
            "page_range": paginator.get_elided_page_range(page.number),
            "page_var": "p",
            "preserved_filters": self.get_preserved_filters(request),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.diffs_history_template, context)
