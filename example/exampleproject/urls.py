"""The example project's URLs: the admin (with each object's Changes page) and the feed."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("diffs/", include("diffs.urls")),
]
