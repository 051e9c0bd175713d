"""Ingest with 1 and 2 worker processes on one server and on a Redis Cluster, and memory.

``python bench/cluster.py`` starts a redis-server (the broker, and the one-server storage) and
a 3-master Redis Cluster with a replica per master (:mod:`tests.topology`), then runs
``bench/ingest.py`` (100 diffs per task) for each storage with 1 and 2 worker processes (solo
pool each), and ``bench/storage.py`` (reads, bytes per diff) on the one server. Each run checks
every stored count. Prints a Markdown table and writes ``bench/results/cluster.json``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import ROOT, BenchError, redis_server
from tests.topology import HOST, Cluster


def run_part(script: str, env: dict[str, str]) -> dict[str, Any]:
    """Run one benchmark script in its own process; return the JSON it printed last."""
    done = subprocess.run([sys.executable, str(ROOT / "bench" / script)], env=env, cwd=ROOT,
                          stdout=subprocess.PIPE, text=True, check=False)
    if done.returncode != 0:
        raise BenchError(f"bench/{script} failed (exit {done.returncode})")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    results: dict[str, Any] = {"ingest": {}}
    with redis_server() as url, tempfile.TemporaryDirectory() as tmp:
        cluster = Cluster(Path(tmp), node_timeout_ms=15_000)
        try:
            nodes = ",".join(f"{HOST}:{server.port}" for server in cluster.servers)
            base = {**os.environ, "BENCH_REDIS_URL": url, "BENCH_INGEST_SHAPES": "100",
                    "DJANGO_SETTINGS_MODULE": "bench.settings"}
            for storage, extra in (("one server", {}), ("cluster", {"BENCH_CLUSTER_NODES": nodes})):
                for workers in (1, 2):
                    env = {**base, **extra, "BENCH_INGEST_WORKERS": str(workers)}
                    print(f"-- ingest: {storage}, {workers} worker processes", file=sys.stderr,
                          flush=True)
                    part = run_part("ingest.py", env)["100 diffs per task"]
                    results["ingest"][f"{storage}, {workers} worker processes"] = part
            results["storage"] = run_part("storage.py", base)
        finally:
            cluster.stop()
    rows = ["| storage, worker processes | diffs/s stored |", "| --- | --- |"]
    rows += [f"| {name} | {part['diffs_per_second']:,.0f} |"
             for name, part in results["ingest"].items()]
    memory = results["storage"]["memory"]
    rows += ["", "| keys | bytes per diff |", "| --- | --- |"]
    rows += [f"| {kind} | {part['bytes_per_diff']:.0f} |" for kind, part in memory.items()]
    cost = results["storage"]["key_cost"]
    rows += ["", f"one key holding one diff, index entry included: "
             f"{cost['bytes_per_key_with_one_diff']:.0f} bytes ({cost['keys_per_gb']:,} per GiB)"]
    print("\n".join(rows))
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "cluster.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    try:
        main()
    except BenchError as exc:
        sys.exit(f"BENCH FAILED: {exc}")
