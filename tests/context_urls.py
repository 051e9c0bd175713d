"""URLs of the change-context tests (``tests/context_views.py``)."""

from django.urls import path

from tests import context_views

urlpatterns = [
    path("save/", context_views.save),
    path("login-then-save/", context_views.login_then_save),
    path("authenticate-late/", context_views.authenticate_late),
    path("save-async/", context_views.save_async),
    path("start-task/", context_views.start_task),
]
