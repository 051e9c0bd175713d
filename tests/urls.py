"""The test project's URLs: the admin (with the diffs history pages), the changes feed, and a
Django REST framework API where DRF is installed (tests/optional.py)."""

from importlib.util import find_spec

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("diffs/", include("diffs.urls")),
]
if find_spec("rest_framework"):
    urlpatterns.append(path("api/", include("tests.testapp.api")))
