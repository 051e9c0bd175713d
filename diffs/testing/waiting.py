"""``wait_for()``: wait until a Celery worker has written an object's diffs.

Recording is asynchronous. A commit hands its diffs to this process's background publisher,
the publisher hands them to the broker, and a worker writes them to Redis a moment later, so a
script that reads ``obj.diffs`` right after ``save()`` may find it short. ``wait_for`` first
flushes this process's publisher (the wait then does not include ``publish_interval``), then
reads the object's diffs until it holds as many as asked for.

Inside :func:`diffs.testing.isolated` and with Celery's eager mode the diffs are written
before ``save()`` returns, so ``wait_for`` returns at once.
"""

from __future__ import annotations

import time

from django.db import models

from ..conf import diffs_settings
from ..exceptions import InvalidOption
from ..reading.diff import Diff
from ..reading.diffset import DiffManager, DiffSet
from ..transport.runtime import flush

#: Seconds between two reads of the object's diffs while waiting.
POLL_INTERVAL = 0.05


def wait_for(
    target: models.Model | DiffSet, count: int = 1, *, timeout: float = 30.0
) -> list[Diff]:
    """Wait until ``target`` holds at least ``count`` diffs; return them, oldest first.

    ``target`` is a saved instance of a registered model, or a ``DiffSet`` (such as
    ``Question.diffs.get_by_object_id(pk)`` for a deleted object). ``count`` counts every diff
    of the object, the ones written before this call included. Raises ``TimeoutError`` when
    fewer came within ``timeout`` seconds; its message says what to look at.
    """
    _check(count, timeout)
    diff_set = target if isinstance(target, DiffSet) else _diffs_of(target)
    deadline = time.monotonic() + timeout
    handed_over = flush(timeout)
    while True:
        found = list(diff_set)
        if len(found) >= count:
            return found
        if time.monotonic() >= deadline:
            raise TimeoutError(_explain(diff_set, len(found), count, timeout, handed_over))
        time.sleep(POLL_INTERVAL)


def _check(count: int, timeout: float) -> None:
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise InvalidOption(f"wait_for(count={count!r}): give the number of diffs to wait for, "
                            "a positive int.")
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
        raise InvalidOption(f"wait_for(timeout={timeout!r}): give a positive number of seconds.")


def _diffs_of(instance: models.Model) -> DiffSet:
    if not isinstance(instance, models.Model):
        raise InvalidOption(
            f"wait_for() needs a saved instance of a registered model or a DiffSet, not "
            f"{type(instance).__name__}."
        )
    return DiffManager(type(instance)).for_instance(instance)


def _explain(diff_set: DiffSet, found: int, count: int, timeout: float, handed: bool) -> str:
    where = f"{diff_set.label} pk={diff_set.pk!r}"
    if not handed:
        return (f"{where} holds {found} of {count} diffs after {timeout:g} s, and this process "
                "could not hand its diffs to the broker in that time: is the broker up "
                "(CELERY_BROKER_URL)? diffs.stats() counts what was sent and kept.")
    return (f"{where} holds {found} of {count} diffs after {timeout:g} s: is a Celery worker "
            f"consuming the {diffs_settings.queue!r} queue (celery -A proj worker -Q "
            f"{diffs_settings.queue},celery), and writing to the Redis this process reads?")
