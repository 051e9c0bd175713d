"""What reading django-diffs' settings costs: one read, and the Python calls per recorded save.

Times ``diffs_settings.publish``, ``diffs_settings.database_key(alias)`` and a callable setting
(best of many ``timeit`` runs), then counts the Python calls into ``diffs/conf`` that one
recorded save makes (a profile hook, so the count does not depend on the machine's load) and
times that save. No broker and no storage: the committed diffs go to a sink that drops them.
Runs on any checkout (``cd <checkout> && python bench/settings_reads.py``), so two can be
compared; SQLite in memory.
"""

from __future__ import annotations

import os
import sys
import timeit
from pathlib import Path
from typing import Any

ROOT = Path.cwd()
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import transaction  # noqa: E402

from bench.benchapp.models import DiffsRow  # noqa: E402
from diffs.conf import diffs_settings  # noqa: E402
from diffs.transport import sink  # noqa: E402

READS = {
    "diffs_settings.publish": lambda: diffs_settings.publish,
    "diffs_settings.database_key('default')": lambda: diffs_settings.database_key("default"),
    "diffs_settings.database_key('other')": lambda: diffs_settings.database_key("other"),
    "diffs_settings.feed_permission": lambda: diffs_settings.feed_permission,
}
CONF = (str(ROOT / "diffs" / "conf.py"), str(ROOT / "diffs" / "conf") + os.sep)


def best_ns(read: Any, number: int = 200_000, repeat: int = 15) -> float:
    """Return the best time of one call of ``read`` in ns (the empty lambda's cost included)."""
    return min(timeit.repeat(read, number=number, repeat=repeat)) / number * 1e9


def main() -> None:
    call_command("migrate", verbosity=0, run_syncdb=True)
    empty = best_ns(lambda: None)
    for label, read in READS.items():
        print(f"{label:42} {best_ns(read) - empty:7.1f} ns")
    calls = []

    def profile(frame: Any, event: str, arg: Any) -> None:
        if event == "call" and frame.f_code.co_filename.startswith(CONF):
            calls.append(frame.f_code.co_name)

    with sink.replaced(lambda diffs, outbox: None):
        row = DiffsRow.objects.create()

        def save() -> None:
            with transaction.atomic():
                row.counter += 1
                row.save()

        save()
        sys.setprofile(profile)
        save()
        sys.setprofile(None)
        print(f"Python calls into diffs/conf per recorded save: {len(calls)} {sorted(set(calls))}")
        per = min(timeit.repeat(save, number=2000, repeat=9)) / 2000 * 1e6
        print(f"one recorded save in its own transaction: {per:.1f} us")


if __name__ == "__main__":
    main()
