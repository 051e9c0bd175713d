"""The change context follows work into Celery tasks: published with it, run inside it.

A task message published while a :func:`diffs.context` block is active (``delay``,
``apply_async``, each message of a chain or group, a task a task publishes) carries the
resolved context in its headers (``diffs_context``), and the worker runs the task inside it:
the diffs a task records name the actor of the request that started it. The block is entered
at ``task_prerun`` and left at ``task_postrun``, so a worker never keeps one task's context for
the next. A header is checked like a diff's context (nothing from a message is trusted); a bad
one is logged and the task runs without it.

In eager mode (``task_always_eager``) a task runs in the caller, still inside its block, and
publishes no message: nothing is added or entered twice. ``diffs.disabled()`` does not follow a
task: it covers the code inside its block only. The library's own tasks (``diffs.write``,
``diffs.resend``, ``diffs.prune``) never carry a context: diffs carry their own.
"""

from __future__ import annotations

import logging
from contextvars import Token
from typing import Any

from celery.signals import before_task_publish, task_postrun, task_prerun

from .. import wire
from ..conf import diffs_settings
from ..transport.task_names import PRUNE_TASK, RESEND_TASK, WRITE_TASK
from . import context

logger = logging.getLogger("diffs")

#: The message header holding the context.
HEADER = "diffs_context"
#: The library's own tasks: they carry diffs, whose contexts travel inside them.
OWN_TASKS = frozenset({WRITE_TASK, RESEND_TASK, PRUNE_TASK})

#: The blocks entered for tasks running now, by task id (prerun and postrun share no frame).
_entered: dict[str, Token[Any]] = {}


def connect() -> None:
    """Connect the Celery signal receivers (``DiffsConfig.ready()``)."""
    before_task_publish.connect(add_header, weak=False, dispatch_uid="diffs.context.publish")
    task_prerun.connect(enter_task, weak=False, dispatch_uid="diffs.context.prerun")
    task_postrun.connect(leave_task, weak=False, dispatch_uid="diffs.context.postrun")


def add_header(sender: Any = None, headers: dict[str, Any] | None = None, **kwargs: Any) -> None:
    """Put the current context in the headers of a task message about to be published."""
    if headers is None or sender in OWN_TASKS:
        return
    try:
        found = context.current()
    except Exception:
        if diffs_settings.raise_errors:
            raise
        logger.exception("diffs: the change context of task %s could not be read; it is "
                         "published without one", sender)
        return
    if found:
        headers[HEADER] = found


def enter_task(task_id: str | None = None, task: Any = None, **kwargs: Any) -> None:
    """Enter the context a task's message carries, if it carries one (a worker)."""
    found = getattr(getattr(task, "request", None), HEADER, None)
    if found is None or task_id is None:
        return
    try:
        wire.check_context(found)
    except wire.InvalidPayload as exc:
        logger.error("diffs: task %s %s carries a bad change context and runs without it: %s",
                     getattr(task, "name", "?"), task_id, exc)
        return
    _entered[task_id] = context.enter(found)


def leave_task(task_id: str | None = None, **kwargs: Any) -> None:
    """Leave the context :func:`enter_task` entered for the task."""
    token = _entered.pop(task_id, None) if task_id is not None else None
    if token is not None:
        context.leave(token)
