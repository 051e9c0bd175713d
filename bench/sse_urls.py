from django.urls import include, path

urlpatterns = [path("diffs/", include("diffs.urls"))]
