"""What squashing saves: ``python bench/squash.py``.

A request that saves one object four times in one transaction (``ATOMIC_REQUESTS``), each save
changing the name and the counter, with and without the ``squash`` setting: how many diffs the
commit hands to the publisher and how many bytes of task message (the batch's JSON) they make.
SQLite in memory; nothing is published (the sink only collects). Prints one JSON object.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

SAVES = 4


def main() -> dict[str, Any]:
    import django

    django.setup()
    from django.db import transaction
    from django.test.utils import override_settings

    from bench.benchapp.models import DiffsRow
    from bench.harness import create_tables
    from diffs import wire
    from diffs.transport import sink

    create_tables()
    results = {}
    for squash in (False, True):
        batches: list[list[wire.DiffPayload]] = []
        with override_settings(DIFFS_SETTINGS={"squash": squash}), sink.replaced(
            lambda diffs, outbox, batches=batches: batches.append(diffs)
        ):
            row = DiffsRow.objects.create(name="start", counter=0)
            row = DiffsRow.objects.get(pk=row.pk)
            batches.clear()
            with transaction.atomic():
                for n in range(1, SAVES + 1):
                    row.name = f"step {n}"
                    row.counter = n
                    row.save()
        [diffs] = batches
        results["squash" if squash else "one diff per save"] = {
            "diffs": len(diffs), "bytes": len(wire.dumps(wire.batch(diffs)).encode()),
        }
    return results


if __name__ == "__main__":
    print(json.dumps(main()))
