"""URLs of the change-context tests: their views (tests/context_views.py), admin and feed."""

from django.contrib import admin
from django.urls import include, path

from tests import context_views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("diffs/", include("diffs.urls")),
    path("save/", context_views.save),
    path("save/<path:rest>", context_views.save),
    path("login-then-save/", context_views.login_then_save),
    path("authenticate-late/", context_views.authenticate_late),
    path("save-async/", context_views.save_async),
    path("start-task/", context_views.start_task),
    path("start-task-async/", context_views.start_task_async),
]
