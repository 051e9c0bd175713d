"""The example project's URLs: the admin (with each object's Changes page), the feed, and a
page following changes live (``follow/<app_label.model>/[<pk>/]``)."""

from django.contrib import admin
from django.urls import include, path

from polls import views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("diffs/", include("diffs.urls")),
    path("follow/<str:label>/", views.follow, name="follow-model"),
    path("follow/<str:label>/<path:pk>/", views.follow, name="follow"),
]
