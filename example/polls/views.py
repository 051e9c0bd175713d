"""A page that follows changes live: the browser's own ``EventSource`` on the changes feed."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse


@login_required(login_url="/admin/login/")
def follow(request: HttpRequest, label: str, pk: str | None = None) -> HttpResponse:
    """Show the changes of one object (``pk``), or of a whole model, as they are stored."""
    feed = reverse("diffs:feed", args=[label, pk]) if pk else reverse("diffs:model_feed",
                                                                        args=[label])
    return render(request, "polls/follow.html", {"feed": feed, "label": label, "pk": pk})
