"""Pruning benchmark: 1,000,000 members over 100,000 keys, half of them expired.

Starts its own ``redis-server`` on a free port (never a Redis it did not start), loads the
members through the worker's write path (``diffs.storage.store.write``, one call per chunk), then
runs the prune the beat task runs and reports:

* seconds and members removed per second;
* the slowest Redis command during the prune, from ``SLOWLOG`` (threshold 1 ms, so every
  command over 50 ms would be there too): the goal is none over 50 ms;
* the worst ``PING`` round trip another client saw meanwhile (how long Redis was blocked);
* the peak Python memory of the prune (``tracemalloc``), which does not grow with the keys;
* the same for one hot key holding 200,000 expired members (trimmed 5,000 per script call).

Run ``make bench-prune`` or ``python bench/prune.py [--keys N] [--members-per-key M]``.
Prints a Markdown table and writes bench/results/prune.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import django  # noqa: E402
import redis  # noqa: E402
from django.conf import settings as django_settings  # noqa: E402

PREFIX = "bench"
LABEL = "bench.item"
MAX_AGE = 3600
SLOW_MS = 50
LOG_OVER_US = 1000


@contextmanager
def redis_server() -> Iterator[redis.Redis]:
    """Run a throwaway redis-server on a free port; yield a client of it."""
    executable = shutil.which("redis-server")
    if executable is None:
        sys.exit("redis-server is not installed: run `make bench-prune`, which installs it.")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    workdir = tempfile.mkdtemp(prefix="diffs-bench-prune-")
    process = subprocess.Popen(
        [executable, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", workdir],
        stdout=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port, decode_responses=True)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    sys.exit(f"redis-server did not start on port {port}")
                time.sleep(0.05)
        yield client
    finally:
        client.close()
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


def expired_count(key_number: int, per_key: int) -> int:
    """Return how many of a key's members are expired: a quarter of the keys hold only
    expired ones (pruning deletes them), half hold half, a quarter hold none (not due)."""
    quarter = key_number % 4
    return per_key if quarter == 0 else 0 if quarter == 3 else per_key // 2


def stored(pk: int, new: dict[str, Any], old: dict[str, Any], moment: float) -> Any:
    """Return a diff of ``pk`` made at ``moment``, checked as the worker checks it."""
    from diffs import wire

    made = wire.new_diff(LABEL, pk, new, old)
    made[wire.TIME] = moment
    return wire.check_diff(made, known_label=lambda label: True, pk_ok=lambda label, pk: True,
                           max_bytes=2**20)


def load(client: redis.Redis, keys: int, per_key: int, now: float) -> int:
    """Write ``keys * per_key`` diffs through ``store.write``; return how many are expired."""
    from diffs.storage import store
    from diffs.wire import CheckedDiff

    rng = random.Random(5)
    expired = 0
    chunk: list[CheckedDiff] = []
    for number in range(keys):
        old = expired_count(number, per_key)
        expired += old
        for slot in range(per_key):
            # Fresh members stay 10 minutes clear of their max age: a slow load stays valid.
            ago = (MAX_AGE + rng.uniform(1, MAX_AGE) if slot < old
                   else rng.uniform(0, MAX_AGE - 600))
            chunk.append(stored(number, {"name": f"value {slot}"}, {"name": "old"}, now - ago))
        if len(chunk) >= 20_000:
            store.write(client, PREFIX, chunk, lambda label: MAX_AGE)
            chunk = []
    if chunk:
        store.write(client, PREFIX, chunk, lambda label: MAX_AGE)
    return expired


class PingWatcher(threading.Thread):
    """Pings Redis every 5 ms (on its own pooled connection) and keeps the slowest round trip."""

    def __init__(self, client: redis.Redis) -> None:
        super().__init__(daemon=True)
        self.client = client
        self.stop = threading.Event()
        self.worst = 0.0

    def run(self) -> None:
        while not self.stop.is_set():
            started = time.perf_counter()
            self.client.ping()
            self.worst = max(self.worst, time.perf_counter() - started)
            time.sleep(0.005)


def members_left(client: redis.Redis) -> int:
    """Count the members still stored (a SCAN of the benchmark's own server)."""
    pipe = client.pipeline(transaction=False)
    for key in client.scan_iter(f"{PREFIX}:{{*}}:{LABEL}:*", count=1000):
        pipe.zcard(key)
    return sum(pipe.execute())


def measure(client: redis.Redis) -> dict[str, Any]:
    """Prune everything due on ``client`` and return the figures of that one run."""
    from diffs.storage import pruning
    from diffs.storage.connection import masters

    for master in masters(client):
        master.config_set("slowlog-log-slower-than", LOG_OVER_US)
        master.config_set("slowlog-max-len", 1_000_000)
        master.slowlog_reset()
    watcher = PingWatcher(client)
    watcher.start()
    tracemalloc.start()
    result = pruning.prune(client=client, prefix=PREFIX)
    _, peak_bytes = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    watcher.stop.set()
    watcher.join()
    slow = [entry for master in masters(client) for entry in master.slowlog_get(1_000_000)]
    return {
        "prune_seconds": round(result.seconds, 3),
        "members_removed": result.members_removed,
        "members_removed_per_second": round(result.members_removed / result.seconds),
        "keys_scanned": result.keys_scanned,
        "keys_deleted": result.keys_deleted,
        "members_left": members_left(client),
        "slowest_command_ms": round(max((e["duration"] for e in slow), default=0) / 1000, 2),
        "commands_over_50ms": sum(1 for e in slow if e["duration"] > SLOW_MS * 1000),
        "slowest_command": " ".join(str(part)[:40] for part in max(
            slow, key=lambda e: e["duration"], default={"command": ""})["command"].split()[:2]),
        "worst_ping_ms": round(watcher.worst * 1000, 2),
        "python_peak_mib": round(peak_bytes / 2**20, 2),
    }


def load_hot_key(client: redis.Redis, expired: int, fresh: int, now: float) -> None:
    """Write one key holding ``expired`` expired and ``fresh`` fresh members."""
    from diffs.storage import store

    diffs = []
    for number in range(expired + fresh):
        ago = MAX_AGE + 1 + number / 1000 if number < expired else number - expired
        diffs.append(stored(0, {"votes": number}, {"votes": number - 1}, now - ago))
    store.write(client, PREFIX, diffs, lambda label: MAX_AGE)


@contextmanager
def redis_cluster() -> Iterator[Any]:
    """Run a throwaway 3-master Redis Cluster (a replica each); yield a cluster client of it."""
    from redis.cluster import RedisCluster

    from tests.topology import HOST, Cluster

    workdir = tempfile.mkdtemp(prefix="diffs-bench-cluster-")
    # A long node timeout: a master busy with a big FLUSHALL on a loaded machine is not failed.
    cluster = Cluster(Path(workdir), node_timeout_ms=15_000)
    client = RedisCluster(host=HOST, port=cluster.servers[0].port, decode_responses=True)
    try:
        yield client
    finally:
        client.close()
        cluster.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def flush(client: Any) -> None:
    from diffs.storage.connection import masters

    for master in masters(client):
        master.flushall(asynchronous=True)


def run(keys: int, per_key: int, hot_key_members: int, cluster: bool = False) -> dict[str, Any]:
    django_settings.configure(
        INSTALLED_APPS=["diffs"],
        DIFFS_SETTINGS={"max_element_age": MAX_AGE, "key_prefix": PREFIX},
    )
    django.setup()
    from diffs.storage import pruning
    from diffs.storage.connection import masters

    with redis_cluster() if cluster else redis_server() as client:
        started = time.monotonic()
        expired = load(client, keys, per_key, time.time())
        load_seconds = time.monotonic() - started
        spread = measure(client)
        flush(client)
        load_hot_key(client, hot_key_members, 100, time.time())
        hot = measure(client)
        version = masters(client)[0].info("server")["redis_version"]
    return {
        "storage": "cluster, 3 masters" if cluster else "one server",
        "keys": keys,
        "members": keys * per_key,
        "expired_members": expired,
        "load_seconds": round(load_seconds, 2),
        **spread,
        "hot_key": {"expired_members": hot_key_members, "fresh_members": 100, **hot},
        "batch_keys": pruning.BATCH_KEYS,
        "batch_members": pruning.BATCH_MEMBERS,
        "redis_version": version,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"{platform.python_implementation()} {platform.python_version()}",
    }


def table(figures: dict[str, Any]) -> str:
    hot = figures["hot_key"]
    rows = [
        ("members / keys", f"{figures['members']:,} / {figures['keys']:,}"),
        ("expired members", f"{figures['expired_members']:,}"),
        ("prune seconds", f"{figures['prune_seconds']}"),
        ("members removed", f"{figures['members_removed']:,}"),
        ("members removed per second", f"{figures['members_removed_per_second']:,}"),
        ("keys scanned / deleted", f"{figures['keys_scanned']:,} / {figures['keys_deleted']:,}"),
        ("slowest Redis command", f"{figures['slowest_command_ms']} ms"),
        ("commands over 50 ms", f"{figures['commands_over_50ms']}"),
        ("worst PING meanwhile", f"{figures['worst_ping_ms']} ms"),
        ("Python memory peak", f"{figures['python_peak_mib']} MiB"),
        (f"one key with {hot['expired_members']:,} expired members: seconds",
         f"{hot['prune_seconds']}"),
        ("one key: slowest Redis command", f"{hot['slowest_command_ms']} ms"),
    ]
    lines = ["| measure | value |", "| --- | --- |"]
    lines += [f"| {name} | {value} |" for name, value in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--keys", type=int, default=100_000)
    parser.add_argument("--members-per-key", type=int, default=10)
    parser.add_argument("--hot-key-members", type=int, default=200_000)
    parser.add_argument("--cluster", action="store_true",
                        help="on a 3-master Redis Cluster (a replica each) instead of one server")
    options = parser.parse_args()
    figures = run(options.keys, options.members_per_key, options.hot_key_members,
                  options.cluster)
    print(table(figures))
    results = ROOT / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    name = "prune-cluster.json" if options.cluster else "prune.json"
    (results / name).write_text(json.dumps(figures, indent=2) + "\n")
    print(f"\nwritten to {results / name}")
    problems = []
    if figures["members_left"] != figures["members"] - figures["expired_members"]:
        problems.append(f"{figures['members_left']} members left, expected "
                        f"{figures['members'] - figures['expired_members']}")
    for scenario in (figures, figures["hot_key"]):
        if scenario["commands_over_50ms"]:
            problems.append(f"{scenario['commands_over_50ms']} commands took over {SLOW_MS} ms")
    if figures["hot_key"]["members_left"] != 100:
        problems.append(f"the hot key kept {figures['hot_key']['members_left']} members, not 100")
    if problems:
        sys.exit("FAILED: " + "; ".join(problems))


if __name__ == "__main__":
    main()
