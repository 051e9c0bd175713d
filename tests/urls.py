"""The test project's URLs: the admin (with the diffs history pages) and the changes feed."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("diffs/", include("diffs.urls")),
]
