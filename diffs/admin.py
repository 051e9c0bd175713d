"""``DiffsHistoryMixin``: a "Changes" page in the Django admin for a registered model.

    from django.contrib import admin
    from diffs.admin import DiffsHistoryMixin

    @admin.register(Question)
    class QuestionAdmin(DiffsHistoryMixin, admin.ModelAdmin):
        pass

The change form gets a "Changes" link next to "History"; the page lists the object's diffs
(and its children's), newest first: when, who, what kind of change, each field old -> new, as
the admin shows fields and values. It needs the model's view permission, like the admin's own
history page. A deleted object's page still answers while its history is kept (the
changelist's "Deleted" link lists what was deleted in the admin). Nothing here answers a 500:
a model that is not registered fails ``manage.py check`` (``diffs.E101``) and its page says
so; a storage that does not answer is a 503 page in the admin's look.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.models import DELETION, LogEntry
from django.contrib.admin.options import get_content_type_for_model
from django.contrib.admin.utils import quote, unquote
from django.core import checks
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import router
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, URLPattern, path, reverse
from django.utils.text import capfirst

from .exceptions import ConfigurationError, NotRegistered, StorageUnavailable
from .reading.delta import DeletedObject
from .reading.diffset import DiffSet
from .registry import Registration, get_registration, is_registered, registration_for_label
from .web.history import NewestFirst, rows

_Base: Any = admin.ModelAdmin  # for type checkers only: the mixin goes before a ModelAdmin


class DiffsHistoryMixin(_Base):
    """Adds the "Changes" link and page to a ``ModelAdmin`` of a registered model."""

    #: Diffs per page of the history.
    diffs_per_page = 50
    #: Whether the Changes page answers for an object that no longer exists (with the model's
    #: view permission). Set it False where ``get_queryset`` hides rows from some staff.
    diffs_deleted_history = True
    #: The templates of the pages (they extend ``admin/base_site.html``).
    diffs_history_template = "diffs/admin/history.html"
    diffs_deleted_template = "diffs/admin/deleted.html"
    diffs_problem_template = "diffs/admin/problem.html"
    change_form_template = "diffs/admin/change_form.html"
    change_list_template = "diffs/admin/change_list.html"

    def check(self, **kwargs: Any) -> list[checks.CheckMessage]:
        """Return the admin's checks, and an error if the model is not registered with diffs."""
        found: list[checks.CheckMessage] = [*super().check(**kwargs)]
        if not is_registered(self.model):
            found.append(checks.Error(
                f"{type(self).__name__} uses DiffsHistoryMixin, but {self.model._meta.label} "
                "is not registered with diffs: its Changes page would have nothing to show.",
                hint=f"Decorate {self.model.__name__} with @diffs.register, or take "
                f"DiffsHistoryMixin out of {type(self).__name__}'s bases.",
                obj=type(self),
                id="diffs.E101",
            ))
        return found

    def get_urls(self) -> list[URLPattern]:
        """Return the admin's URLs with ``deleted/`` and ``<pk>/changes/`` first."""
        opts = self.model._meta
        view = self.admin_site.admin_view
        return [
            path("deleted/", view(self.diffs_deleted_view),
                 name=f"{opts.app_label}_{opts.model_name}_diffs_deleted"),
            path("<path:object_id>/changes/", view(self.diffs_history_view),
                 name=f"{opts.app_label}_{opts.model_name}_diffs"),
            *super().get_urls(),
        ]

    def render_change_form(
        self, request: HttpRequest, context: dict[str, Any], *args: Any, **kwargs: Any
    ) -> HttpResponse:
        """Add the "Changes" link's address to the change form of a saved object."""
        original = context.get("original")
        if original is not None and original.pk is not None and is_registered(self.model):
            context["diffs_history_url"] = self._url("diffs", quote(original.pk))
        return super().render_change_form(request, context, *args, **kwargs)  # type: ignore[no-any-return]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """Add the "Deleted" link's address to the changelist."""
        if self.diffs_deleted_history and is_registered(self.model):
            extra_context = {**(extra_context or {}),
                             "diffs_deleted_url": self._url("diffs_deleted")}
        return super().changelist_view(request, extra_context)  # type: ignore[no-any-return]

    def _url(self, view: str, *args: Any) -> str:
        opts = self.model._meta
        return reverse(f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_{view}",
                       args=args)

    def diffs_history_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Show the object's diffs (a deleted object's too), newest first, a page at a time."""
        registration = self._registration(request)
        if isinstance(registration, HttpResponse):
            return registration
        subject, diffs = self._subject(request, unquote(object_id))
        try:
            paginator = Paginator(NewestFirst(diffs), self.diffs_per_page)
            if isinstance(subject, DeletedObject) and not paginator.count:
                raise Http404(f"No {self.model._meta.verbose_name} with the key {object_id!r}, "
                              "and no changes of one are kept.")
            page = paginator.get_page(request.GET.get("p"))
            shown = rows(list(page.object_list), registration.label, diffs.pk, diffs.using,
                         empty=self.get_empty_value_display(), link=self._link)
        except (StorageUnavailable, ConfigurationError) as exc:
            return self._problem(request, f"Changes: {subject}", str(exc), status=503)
        return TemplateResponse(request, self.diffs_history_template, {
            **self._context(request, f"Changes: {subject}"),
            "object": subject,
            "deleted": isinstance(subject, DeletedObject),
            "rows": shown,
            "page_obj": page,
            "page_range": paginator.get_elided_page_range(page.number),
            "page_var": "p",
        })

    def _subject(self, request: HttpRequest, key: str) -> tuple[Any, DiffSet]:
        """Return the object (a ``DeletedObject`` if it is gone) and its diffs; raise 404 or
        403 as the admin's own pages do."""
        model = self.model
        obj = self.get_object(request, key)
        if obj is not None:
            if not self.has_view_or_change_permission(request, obj):
                raise PermissionDenied
            return obj, model.diffs.for_instance(obj)
        missing = Http404(f"No {model._meta.verbose_name} with the key {key!r}.")
        try:
            pk = model._meta.pk.to_python(key)  # type: ignore[union-attr]
        except ValidationError:
            raise missing from None
        using = router.db_for_read(model)
        # Hidden from this user by get_queryset, or still there: not a deleted object.
        if pk is None or not self.diffs_deleted_history or (
            model._base_manager.using(using).filter(pk=pk).exists()
        ):
            raise missing
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        return DeletedObject(model, pk), model.diffs.using(using).get_by_object_id(pk)

    def _link(self, label: str, pk: Any) -> str | None:
        """Return the Changes page of another registered object in this admin site, or None."""
        registration = registration_for_label(label)
        if registration is None:
            return None
        opts = registration.model._meta
        try:
            return reverse(f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_diffs",
                           args=[quote(pk)])
        except NoReverseMatch:  # no ModelAdmin with this mixin for that model
            return None

    def diffs_deleted_view(self, request: HttpRequest) -> HttpResponse:
        """List the objects deleted in the admin, each linking to its Changes page; ``?pk=``
        opens the Changes page of any deleted object (deleted elsewhere, say)."""
        registration = self._registration(request)
        if isinstance(registration, HttpResponse):
            return registration
        if not self.diffs_deleted_history:
            raise Http404("The Changes pages of deleted objects are switched off.")
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        key = request.GET.get("pk", "").strip()
        if key:
            return HttpResponseRedirect(self._url("diffs", quote(key)))
        entries = (
            LogEntry.objects.filter(content_type=get_content_type_for_model(self.model),
                                    action_flag=DELETION)
            .select_related("user").order_by("-action_time")[: self.diffs_per_page]
        )
        plural = self.model._meta.verbose_name_plural
        return TemplateResponse(request, self.diffs_deleted_template, {
            **self._context(request, f"Deleted {plural}"),
            "entries": [(entry, self._url("diffs", quote(entry.object_id))) for entry in entries],
        })

    def _registration(self, request: HttpRequest) -> Registration | HttpResponse:
        """Return the model's registration, or the page saying it has none (no 500)."""
        try:
            return get_registration(self.model)
        except NotRegistered:
            pass
        return self._problem(
            request, "Changes",
            f"{self.model._meta.label} is not registered with diffs, so no changes of it are "
            "recorded. Decorate the model with @diffs.register (manage.py check reports this "
            "as diffs.E101).", status=404)

    def _context(self, request: HttpRequest, title: str) -> dict[str, Any]:
        request.current_app = self.admin_site.name
        return {
            **self.admin_site.each_context(request),
            "title": title,
            "subtitle": None,
            "opts": self.model._meta,
            "module_name": str(capfirst(self.model._meta.verbose_name_plural)),
            "preserved_filters": self.get_preserved_filters(request),
        }

    def _problem(self, request: HttpRequest, title: str, message: str, *, status: int
                 ) -> HttpResponse:
        """Return a page in the admin's look that says what is wrong."""
        return TemplateResponse(request, self.diffs_problem_template,
                                {**self._context(request, title), "message": message},
                                status=status)
