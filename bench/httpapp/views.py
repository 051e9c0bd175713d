"""The view under load: change two fields of random rows and save them; and the publisher's
counters of the process that answers."""

from __future__ import annotations

import json
import os
import random

from django.db import transaction
from django.http import HttpRequest, HttpResponse

import diffs

from .models import DiffsHttpRow, PghHttpRow, PlainHttpRow

#: Rows per table; each save picks one at random.
ROWS = 1000
MODELS = {"plain": PlainHttpRow, "diffs": DiffsHttpRow, "pghistory": PghHttpRow}


def save(request: HttpRequest, variant: str) -> HttpResponse:
    """Load a random row, change two fields, save; ``?n=5``: five of them in one transaction."""
    model = MODELS[variant]
    saves = int(request.GET.get("n", "1"))
    if saves == 1:
        _change(model, random.randint(1, ROWS))
    else:
        with transaction.atomic():
            # In pk order, as every request locks them: concurrent requests wait, never deadlock.
            for pk in sorted(random.sample(range(1, ROWS + 1), saves)):
                _change(model, pk)
    return HttpResponse(b"ok", content_type="text/plain")


def _change(model: type[PlainHttpRow], pk: int) -> None:
    row = model.objects.get(pk=pk)
    row.counter += 1
    # A value of its own, so that every UPDATE changes the row even when another request
    # saved the same row in between (pghistory's trigger skips an UPDATE that changes nothing).
    score = row.score
    while score == row.score:
        score = random.getrandbits(31)
    row.score = score
    row.save()


def stats(request: HttpRequest) -> HttpResponse:
    """Return this process's id and its background publisher's counters."""
    return HttpResponse(json.dumps({"pid": os.getpid(), "stats": diffs.stats()}),
                        content_type="application/json")
