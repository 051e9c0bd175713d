"""``manage.py migrate_diffs_keys``: move diffs stored by versions before the bucketed layout."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from redis.exceptions import RedisError

from diffs.storage.layout import move_legacy_keys


class Command(BaseCommand):
    help = (
        "Move the diffs that versions before Redis Cluster support stored (<prefix>:<label>:<pk>"
        " keys and the <prefix>:~due index) into the bucketed key layout. Safe to run again and "
        "while workers write."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true",
                            help="Count the old keys and their diffs; change nothing.")

    def handle(self, *args: Any, dry_run: bool, **options: Any) -> None:
        try:
            result = move_legacy_keys(dry_run=dry_run)
        except RedisError as exc:
            raise CommandError(
                f"Moving the keys failed, the diffs storage Redis did not answer: {exc}. "
                "Run migrate_diffs_keys again once it does: what was moved stays moved."
            ) from exc
        if dry_run:
            self.stdout.write(f"Dry run: {result.keys} old keys with {result.members} diffs "
                              "would be moved; nothing was changed.")
        else:
            self.stdout.write(f"Moved {result.keys} old keys with {result.members} diffs into "
                              "the bucketed layout.")
