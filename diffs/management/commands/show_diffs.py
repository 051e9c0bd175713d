"""``manage.py show_diffs app_label.model pk``: an object's diffs as a table, or JSON lines.

The model is named as ``polls.question`` or ``polls.Question`` (Django's ``_meta.label``), a
proxy as itself (its concrete model's history). ``--since`` (a unix time, or an ISO 8601 time;
UTC when it names no zone) shows only what came after it; ``--follow`` then waits for new diffs
(woken by the workers' announcements, no polling) until Ctrl-C or SIGTERM.

While following, the command handles SIGINT and SIGTERM itself, through the event loop: a stop
ends the wait, closes the subscription and exits 0 wherever the loop was. Left to Python, a
SIGINT that the command inherited as ignored (a background job of a shell script, a CI
runner's step) would never stop it, and a SIGTERM to a command running as a container's PID 1
would be ignored.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.serializers.json import DjangoJSONEncoder

from diffs.conf import diffs_settings
from diffs.exceptions import ConfigurationError, StorageUnavailable
from diffs.reading.diff import Diff
from diffs.reading.diffset import DiffSet
from diffs.reading.outage import STORAGE_ERRORS, unavailable
from diffs.reading.page import Position
from diffs.reading.render import HEADER, diff_as_json, table_row
from diffs.registry import Registration, get_registration, is_registered, registrations
from diffs.storage import notify
from diffs.storage.connection import aclose_async_redis, get_async_redis

#: Diffs read per round trip while following.
FOLLOW_PAGE = 500
#: Seconds a follow sleeps on its subscription before it reads again anyway.
FOLLOW_WAKE = 30.0
#: The signals that end a follow cleanly.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def parse_since(text: str) -> float:
    """Return the unix time ``--since`` names; raise CommandError for anything else."""
    try:
        return float(text)
    except ValueError:
        pass
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise CommandError(
            f"--since {text!r} is neither a unix time nor an ISO 8601 time "
            "(2026-01-31T12:00:00+00:00)."
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment.timestamp()


class Command(BaseCommand):
    help = "Show the diffs of one object (and its children), oldest first."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "label", help="the model, as app_label.model (polls.question or polls.Question)"
        )
        parser.add_argument("pk", help="the object's primary key")
        parser.add_argument("--since", help="only diffs after this unix or ISO 8601 time")
        parser.add_argument("--json", action="store_true", help="one JSON object per line")
        parser.add_argument(
            "--follow", action="store_true", help="then wait for new diffs until Ctrl-C"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        diffs = self._diffs(options["label"], options["pk"])
        since = None if options["since"] is None else parse_since(options["since"])
        emit = self._json_line if options["json"] else self._table_line
        if not options["json"]:
            self.stdout.write(HEADER)
        try:
            shown = list(diffs if since is None else diffs.since(since))
            for diff in shown:
                emit(diff)
            if options["follow"]:
                # Follow from the last one stored (shown in change order, a late one may be
                # shown earlier than it was stored).
                start: Position | None = max(d.arrival for d in shown) if shown else (
                    None if since is None else (since, "~")  # "~": after every id of that time
                )
                asyncio.run(follow(diffs, start, emit))
                self.stdout.write("")  # stopped by a signal: end the line a ^C began
        except (StorageUnavailable, ConfigurationError) as exc:
            raise CommandError(str(exc)) from exc
        except STORAGE_ERRORS as exc:  # the follow's subscription
            raise CommandError(str(unavailable(exc))) from exc
        except KeyboardInterrupt:
            self.stdout.write("")  # Ctrl-C before the follow began: not an error

    def _diffs(self, label: str, pk: str) -> DiffSet:
        registration = registration_for(label)
        try:
            # ``diffs`` is added to the class by register(), unknown to its type.
            return registration.model.diffs.get_by_object_id(pk)  # type: ignore[attr-defined]
        except ValueError as exc:
            raise CommandError(str(exc)) from exc

    def _table_line(self, diff: Diff) -> None:
        self.stdout.write(table_row(diff))
        self.stdout.flush()

    def _json_line(self, diff: Diff) -> None:
        self.stdout.write(json.dumps(diff_as_json(diff), cls=DjangoJSONEncoder))
        self.stdout.flush()


def registration_for(label: str) -> Registration:
    """Return the registration ``label`` names (``polls.question``, ``polls.Question``, or a
    proxy's label); raise CommandError listing the registered models otherwise."""
    try:
        model = apps.get_model(label)
    except (LookupError, ValueError):
        model = None
    if model is not None and is_registered(model):
        return get_registration(model)
    known = sorted(registration.model._meta.label for registration in registrations())
    raise CommandError(
        f"{label!r} is not a model registered with diffs. Name one as app_label.model "
        f"(either case): {', '.join(known) or 'none is registered'}."
    )


async def follow(diffs: DiffSet, after: Position | None, emit: Callable[[Diff], None]) -> None:
    """Emit every diff after ``after`` as it arrives, until SIGINT (Ctrl-C) or SIGTERM."""
    task = asyncio.current_task()
    try:
        with stopped_by_signals(task.cancel if task is not None else lambda: None) as stopped:
            try:
                await _follow(diffs, after, emit)
            except asyncio.CancelledError:
                if not stopped():
                    raise
                if task is not None and hasattr(task, "uncancel"):  # Python >= 3.11
                    task.uncancel()  # the stop is handled here: later awaits run as usual
    finally:
        await aclose_async_redis()


async def _follow(diffs: DiffSet, after: Position | None, emit: Callable[[Diff], None]) -> None:
    async with notify.subscribed(get_async_redis(), diffs_settings.key_prefix) as subscription:
        while True:
            page = await diffs.apage(after, FOLLOW_PAGE)  # subscribed first: none missed
            for diff in page.diffs:
                emit(diff)
            after = page.end(after)
            if not page.more:
                await subscription.wait_for(diffs.key, FOLLOW_WAKE)


@contextmanager
def stopped_by_signals(stop: Callable[[], Any]) -> Iterator[Callable[[], bool]]:
    """Call ``stop`` on SIGINT or SIGTERM (whatever their handling was) inside the block, and
    give a function saying whether one came; the former handling is back after the block.

    Handled by the running loop (``add_signal_handler``), so the loop wakes whichever thread the
    signal reaches. Where the loop cannot handle signals (not the main thread, Windows), the
    block leaves them as they are.
    """
    loop = asyncio.get_running_loop()
    came: list[int] = []

    def on_signal(number: int) -> None:
        came.append(number)
        stop()

    installed = []
    for number in STOP_SIGNALS:
        former = signal.getsignal(number)
        try:
            loop.add_signal_handler(number, on_signal, number)
        except (ValueError, RuntimeError, NotImplementedError):
            continue
        installed.append((number, former))
    try:
        yield lambda: bool(came)
    finally:
        for number, former in installed:
            loop.remove_signal_handler(number)
            if former is not None:
                signal.signal(number, former)
