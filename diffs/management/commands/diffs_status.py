"""``manage.py diffs_status``: the pipeline's health in one look; exit status 0 when healthy.

Storage, broker, workers, kept diffs, last write and last prune, each with a verdict
(:mod:`diffs.status`). Unhealthy parts make it fail (exit status 1) with their reasons, so it
serves as a Kubernetes probe or a cron alert; ``--json`` prints every number for a script.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from diffs import status


class Command(BaseCommand):
    help = ("Check the diffs pipeline (storage, broker, workers, kept diffs, last write and "
            "prune); exit non-zero with the reasons when a part is unhealthy.")

    def add_arguments(self, parser: CommandParser) -> None:
        defaults = status.Thresholds()
        parser.add_argument("--json", action="store_true", help="Print the findings as JSON.")
        parser.add_argument("--timeout", type=float, default=defaults.timeout,
                            help="Seconds to wait for the broker and the workers' replies.")
        parser.add_argument("--max-memory-ratio", type=float,
                            default=defaults.max_memory_ratio,
                            help="Unhealthy above this share of the storage's maxmemory.")
        parser.add_argument("--max-queue", type=int, default=defaults.max_queue,
                            help="Unhealthy with more messages waiting in the diffs queue.")
        parser.add_argument("--max-kept", type=int, default=defaults.max_kept,
                            help="Unhealthy with more diffs kept in the database.")
        parser.add_argument("--max-kept-age", type=float, default=defaults.max_kept_age,
                            help="Unhealthy when the oldest kept diff is older (seconds).")
        parser.add_argument("--max-prune-age", type=float, default=None,
                            help="Unhealthy when the last prune is older (seconds; default "
                            "ten prune intervals, at least 600).")
        parser.add_argument("--max-write-age", type=float, default=None,
                            help="Unhealthy when no worker wrote for longer (seconds; "
                            "default: not judged, a quiet site writes nothing).")

    def handle(self, *args: Any, **options: Any) -> None:
        limits = status.Thresholds(
            max_memory_ratio=options["max_memory_ratio"], max_queue=options["max_queue"],
            max_kept=options["max_kept"], max_kept_age=options["max_kept_age"],
            max_prune_age=options["max_prune_age"], max_write_age=options["max_write_age"],
            timeout=options["timeout"],
        )
        findings = status.check_all(limits)
        healthy = all(finding.ok for finding in findings)
        if options["json"]:
            self.stdout.write(json.dumps(
                {"healthy": healthy, "checks": {f.name: asdict(f) for f in findings}},
                default=str))
        else:
            for finding in findings:
                mark = "ok  " if finding.ok else "FAIL"
                self.stdout.write(f"{mark} {finding.name:<11} {finding.verdict}")
        if not healthy:
            raise CommandError("unhealthy: " + "; ".join(
                f"{f.name}: {f.verdict}" for f in findings if not f.ok))
