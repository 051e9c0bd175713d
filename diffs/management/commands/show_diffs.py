"""``manage.py show_diffs app_label.model pk``: an object's diffs as a table, or JSON lines.

``--since`` (a unix time, or an ISO 8601 time; UTC when it names no zone) shows only what came
after it; ``--follow`` then waits for new diffs (woken by the workers' announcements, no
polling) until Ctrl-C.
"""

from __future__ import annotations

import asyncio
import datetime
import json
from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.serializers.json import DjangoJSONEncoder
from redis.exceptions import RedisError

from diffs.conf import diffs_settings
from diffs.exceptions import ConfigurationError
from diffs.reading.diff import Diff
from diffs.reading.diffset import DiffSet
from diffs.reading.page import Position
from diffs.reading.render import HEADER, diff_as_json, table_row
from diffs.registry import registration_for_label
from diffs.storage import notify
from diffs.storage.connection import aclose_async_redis, get_async_redis

#: Diffs read per round trip while following.
FOLLOW_PAGE = 500
#: Seconds a follow sleeps on its subscription before it reads again anyway.
FOLLOW_WAKE = 30.0


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
        parser.add_argument("label", help="the model, as app_label.model (testapp.question)")
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
                start: Position | None = shown[-1].order if shown else (
                    None if since is None else (since, "~")  # "~": after every id of that time
                )
                asyncio.run(follow(diffs, start, emit))
        except RedisError as exc:
            raise CommandError(
                f"The diffs storage Redis did not answer: {exc}. Start Redis or correct "
                "DIFFS_SETTINGS['redis']."
            ) from exc
        except ConfigurationError as exc:
            raise CommandError(str(exc)) from exc
        except KeyboardInterrupt:
            self.stdout.write("")  # Ctrl-C ends a follow: not an error

    def _diffs(self, label: str, pk: str) -> DiffSet:
        registration = registration_for_label(label)
        if registration is None:
            raise CommandError(
                f"{label!r} is not a model registered with diffs; name it as app_label.model "
                "(lower case), as in testapp.question."
            )
        try:
            return registration.model.diffs.get_by_object_id(pk)  # type: ignore[attr-defined,no-any-return]
        except ValueError as exc:
            raise CommandError(str(exc)) from exc

    def _table_line(self, diff: Diff) -> None:
        self.stdout.write(table_row(diff))
        self.stdout.flush()

    def _json_line(self, diff: Diff) -> None:
        self.stdout.write(json.dumps(diff_as_json(diff), cls=DjangoJSONEncoder))
        self.stdout.flush()


async def follow(diffs: DiffSet, after: Position | None, emit: Callable[[Diff], None]) -> None:
    """Emit every diff after ``after`` as it arrives, until cancelled (Ctrl-C)."""
    try:
        async with notify.subscribed(get_async_redis(), diffs_settings.key_prefix) as subscription:
            while True:
                page = await diffs.apage(after, FOLLOW_PAGE)  # subscribed first: none missed
                for diff in page.diffs:
                    emit(diff)
                after = page.end(after)
                if not page.more:
                    await subscription.wait_for(diffs.key, FOLLOW_WAKE)
    finally:
        await aclose_async_redis()
