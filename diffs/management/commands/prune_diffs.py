"""``manage.py prune_diffs``: prune old diffs now, in this process (the beat task's twin)."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from redis.exceptions import RedisError

from diffs.exceptions import ConfigurationError
from diffs.storage.pruning import PruneResult, prune

#: Seconds between two redraws of the progress line.
PROGRESS_EVERY = 0.2


class Command(BaseCommand):
    help = (
        "Remove the diffs older than their model's max_element_age (or --max-age) from Redis, "
        "and the keys left empty."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--max-age",
            type=int,
            metavar="SECONDS",
            help="Prune diffs older than this for every model, instead of each model's "
            "max_element_age (0 removes them all).",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Count what would be removed; change nothing.",
        )

    def handle(self, *args: Any, max_age: int | None, dry_run: bool, **options: Any) -> None:
        if max_age is not None and max_age < 0:
            raise CommandError(f"--max-age must be 0 or more seconds, not {max_age}.")
        line = _ProgressLine(self) if self.stdout.isatty() else None
        try:
            result = prune(max_age=max_age, dry_run=dry_run, progress=line)
        except RedisError as exc:
            raise CommandError(
                f"Pruning failed, the diffs storage Redis did not answer: {exc}. "
                "Start Redis or correct DIFFS_SETTINGS['redis'], then run prune_diffs again."
            ) from exc
        except ConfigurationError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            if line is not None:
                line.close()
        self.stdout.write(summary(result))


def summary(result: PruneResult) -> str:
    """Return the one-line summary printed at the end of a run."""
    removed, deleted = (
        ("would be removed", "would be deleted") if result.dry_run else ("removed", "deleted")
    )
    text = (
        f"{result.keys_scanned} keys scanned, {result.members_removed} members {removed}, "
        f"{result.keys_deleted} keys {deleted} in {result.seconds:.2f} seconds"
    )
    return f"Dry run: {text}; nothing was changed." if result.dry_run else f"Pruned: {text}."


class _ProgressLine:
    """Redraws one line with the running totals, at most every ``PROGRESS_EVERY`` seconds."""

    def __init__(self, command: BaseCommand) -> None:
        self.stdout = command.stdout
        self.drawn_at = 0.0
        self.drawn = False

    def __call__(self, totals: PruneResult) -> None:
        now = time.monotonic()
        if now - self.drawn_at < PROGRESS_EVERY:
            return
        self.drawn_at = now
        self.drawn = True
        self.stdout.write(
            f"\r{totals.keys_scanned} keys scanned, {totals.members_removed} members, "
            f"{totals.seconds:.1f}s",
            ending="",
        )
        self.stdout.flush()

    def close(self) -> None:
        if self.drawn:
            self.stdout.write("\r\033[K", ending="")
