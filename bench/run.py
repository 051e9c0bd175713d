"""``make bench``: the benchmarks of issues 6 and 15, then a Markdown table and a JSON file.

Starts its own redis-server on a free port (storage in database 0, Celery broker in database
1) and runs each part in a process of its own: recording on SQLite, recording on PostgreSQL
(a database created for the run and dropped after it), worker ingest, end to end (two web
processes and a worker, per publish mode), then reads and memory.
Each part checks what was stored against what was saved and exits non-zero on any mismatch,
which stops the run. The table goes to stdout, the JSON to ``bench/results/``.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis

from bench.harness import ROOT, BenchError, redis_server
from bench.report import markdown

RESULTS = ROOT / "bench" / "results"


def run_part(script: str, *args: str, env: dict[str, str]) -> dict[str, Any]:
    """Run one benchmark script in its own process; return the JSON it printed last."""
    print(f"-- bench/{script} {' '.join(args)}", file=sys.stderr, flush=True)
    redis.Redis.from_url(env["BENCH_REDIS_URL"]).flushall()
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *args],
        env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True, check=False,
    )
    if done.returncode != 0:
        raise BenchError(f"bench/{script} {' '.join(args)} failed (exit {done.returncode})")
    return json.loads(done.stdout.strip().splitlines()[-1])


def machine(redis_url: str) -> dict[str, str]:
    """Describe where the numbers come from."""
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "django": version("django"),
        "celery": version("celery"),
        "kombu": version("kombu"),
        "redis_py": version("redis"),
        "redis": str(redis.Redis.from_url(redis_url).info("server")["redis_version"]),
    }


def main() -> None:
    started = time.monotonic()
    with redis_server() as url:
        env = {**os.environ, "BENCH_REDIS_URL": url, "DJANGO_SETTINGS_MODULE": "bench.settings"}
        env.pop("BENCH_BROKER_URL", None)
        env.pop("BENCH_QUEUE", None)
        results: dict[str, Any] = {"command": "make bench", "machine": machine(url)}
        results["recording"] = {db: run_part("recording.py", db, env=env)
                                for db in ("sqlite", "postgres")}
        results["ingest"] = run_part("ingest.py", env=env)
        results["end_to_end"] = run_part("end_to_end.py", env=env)
        results["storage"] = run_part("storage.py", env=env)
        results["metrics"] = run_part("metrics.py", env=env)
    results["verified"] = "; ".join(
        f"{db}: " + ", ".join(f"{key} {value:,}" for key, value in part["verified"].items())
        for db, part in results["recording"].items()
    ) + "; ingest, end-to-end (exactly once, both publish modes) and storage counts matched"
    results["seconds"] = time.monotonic() - started
    results["date"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    for name in (f"bench-{stamp}.json", "latest.json"):
        (RESULTS / name).write_text(json.dumps(results, indent=2) + "\n")
    print(markdown(results))
    print(f"\nJSON: {RESULTS / f'bench-{stamp}.json'}", file=sys.stderr)


if __name__ == "__main__":
    try:
        main()
    except BenchError as exc:
        sys.exit(f"BENCH FAILED: {exc}")
