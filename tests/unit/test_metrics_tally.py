"""The worker-side tally behind the metrics, and metrics without prometheus-client."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from diffs.metrics.tally import LATENCY_BUCKETS, Tally

ROOT = Path(__file__).resolve().parents[2]


def test_stored_diffs_count_per_model_and_fill_the_latency_buckets():
    tally = Tally()
    tally.stored([("a.b", 99.998), ("a.b", 99.0), ("c.d", 100.5)], now=100.0)
    counts = tally.snapshot()
    assert counts.stored == {"a.b": 2, "c.d": 1}
    assert counts.latency_count == 3
    assert counts.latency_buckets[0] == 2  # 2 ms, and a change "after" now (clock skew): 0 s
    assert counts.latency_buckets[LATENCY_BUCKETS.index(1.0)] == 1
    assert abs(counts.latency_sum - 1.002) < 1e-9


def test_rejections_are_counted_by_their_bounded_reasons():
    tally = Tally()
    tally.rejected("invalid", 3)
    assert tally.snapshot().rejected == {"not_json": 0, "invalid": 3}


def test_prunes_add_up():
    tally = Tally()
    tally.pruned(10, 0.5)
    tally.pruned(5, 0.25)
    counts = tally.snapshot()
    assert (counts.prune_runs, counts.prune_members_removed, counts.prune_seconds) == (
        2, 15, 0.75)


BLOCKED = """
import sys

class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name == "prometheus_client" or name.startswith("prometheus_client."):
            raise ModuleNotFoundError(name)

sys.meta_path.insert(0, Blocker())
import django
django.setup()
import diffs_tasks.tasks
from diffs import metrics
from diffs.metrics.tally import worker
worker.stored([("testapp.question", 0.0)])
assert metrics.install() is False
assert metrics.serve(1) is False
from diffs.conf.rules import Invalid, metrics_port
try:
    metrics_port(9100)
except Invalid as error:
    assert "prometheus-client" in str(error), error
else:
    raise AssertionError("metrics_port accepted without prometheus-client")
assert metrics_port(None) is None
print(sorted(name for name in sys.modules
             if name.startswith("prometheus_client") or name == "diffs.metrics.collector"))
"""


def test_without_prometheus_client_nothing_is_imported_and_nothing_fails():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "PYTHONPATH": str(ROOT)}
    found = subprocess.run([sys.executable, "-c", BLOCKED], env=env, cwd=ROOT,
                           capture_output=True, text=True, timeout=120)
    assert found.returncode == 0, found.stderr
    assert found.stdout.strip() == "[]"
