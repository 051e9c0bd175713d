"""What recording deletes costs: ``QuerySet.delete()`` of 10,000 rows, registered or not.

Django deletes the rows of a model without delete signals with one ``DELETE`` and never loads
them. A registered model has a ``post_delete`` receiver, so Django loads every row, deletes
them in batches and sends a signal per row, and django-diffs builds a diff per row and
publishes one task for the transaction. This compares, on SQLite and PostgreSQL:

* ``Plain`` -- not registered (the fast delete);
* ``Plain`` with a ``post_delete`` receiver that does nothing (what losing the fast path costs);
* ``Item`` -- the same shape, registered, with recording switched off (adds loading the
  dirty-field state of each row);
* ``Item`` -- registered and recording (the whole cost, a real broker included).

The broker is a private ``redis-server`` on a unix socket, started and stopped here; nothing
consumes the queue, so the time is the web process's alone. Run: ``python bench/delete_cost.py``
(``--rows``, ``--repeat``, ``--db sqlite|postgres``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def start_broker(workdir: str) -> tuple[str, subprocess.Popen[bytes]]:
    """Start a redis-server listening only on a unix socket; return its URL and process."""
    import redis

    executable = shutil.which("redis-server")
    if executable is None:
        sys.exit("redis-server is not installed (`make redis-server` installs it).")
    socket = str(Path(workdir) / "redis.sock")
    process = subprocess.Popen(
        [executable, "--port", "0", "--unixsocket", socket, "--save", "", "--dir", workdir],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            if redis.Redis(unix_socket_path=socket).ping():
                return f"redis+socket://{socket}", process
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                process.kill()
                sys.exit("redis-server did not start")
            time.sleep(0.05)


def ignore(**kwargs: object) -> None:
    """A receiver that does nothing: its mere presence turns the fast delete off."""


def measure(rows: int, repeat: int, broker_url: str) -> None:
    """Print the median time and query count of deleting ``rows`` rows in each case."""
    import django

    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    django.setup()
    from django.db import connection
    from django.db.models.signals import post_delete
    from django.test.utils import CaptureQueriesContext, override_settings

    from tests.celery_app import app
    from tests.testapp.models import Item, Plain

    app.conf.broker_url = broker_url
    old_name = connection.creation.create_test_db(verbosity=0, serialize=False)
    cases = [
        ("not registered (Plain)", Plain, True),
        ("Plain + no-op post_delete", Plain, True),
        ("registered, recording off", Item, False),
        ("registered, recording (Item)", Item, True),
    ]
    try:
        print(f"{connection.vendor}: QuerySet.delete() of {rows:,} rows, median of {repeat}")
        baseline = None
        for title, model, enabled in cases:
            if "no-op" in title:
                post_delete.connect(ignore, sender=Plain, dispatch_uid="bench-no-op")
            times, queries = [], 0
            for _ in range(repeat):
                model.objects.bulk_create(model(name=f"row {i}") for i in range(rows))
                with override_settings(DIFFS_SETTINGS={"enabled": enabled}), \
                        CaptureQueriesContext(connection) as captured:
                    start = time.perf_counter()
                    deleted, _ = model.objects.all().delete()
                    times.append(time.perf_counter() - start)
                assert deleted == rows, deleted
                queries = len(captured.captured_queries)
            post_delete.disconnect(sender=Plain, dispatch_uid="bench-no-op")
            median = statistics.median(times)
            baseline = baseline or median
            print(
                f"  {title:<30} {median * 1000:9.1f} ms  {median / rows * 1e6:6.1f} µs/row  "
                f"x{median / baseline:6.1f}  {queries} queries"
            )
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--db", choices=["sqlite", "postgres"])
    args = parser.parse_args()
    if args.db is None:  # one process per database: Django's settings are fixed per process
        for db in ("sqlite", "postgres"):
            subprocess.run(
                [sys.executable, __file__, "--db", db, "--rows", str(args.rows),
                 "--repeat", str(args.repeat)],
                check=True,
            )
        return
    os.environ["DIFFS_TEST_DB"] = args.db
    workdir = tempfile.mkdtemp(prefix="diffs-bench-")
    broker_url, broker = start_broker(workdir)
    try:
        measure(args.rows, args.repeat, broker_url)
    finally:
        broker.terminate()
        broker.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
