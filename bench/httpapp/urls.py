from django.urls import path

from . import views

urlpatterns = [
    path("save/<str:variant>/", views.save),
    path("stats/", views.stats),
]
