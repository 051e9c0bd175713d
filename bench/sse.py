"""Server-Sent Events under load: ``python bench/sse.py`` (``make bench-sse``).

One uvicorn process serves ``BENCH_SSE_CLIENTS`` (1,000) concurrent event streams; this process
holds the clients (asyncio, raw sockets) and stores ``BENCH_SSE_RATE`` (100) diffs a second for
``BENCH_SSE_SECONDS`` (20) with the worker's own write code (``write_batch``: the write script,
then the announcement), which is what a Celery worker does after a commit. Two shapes:

- ``objects``: each client follows one object's feed (``/diffs/sseapp.item/<pk>/``), each
  write goes to one of those objects, at random: one event per write;
- ``model``: ``BENCH_SSE_FANOUT`` (100) clients follow the model's feed
  (``/diffs/sseapp.item/``): every write is an event for every client.

Measured: write-to-client latency, p50 / p99 / max (from just before ``write_batch`` to the
client reading the event: a real worker's commit-to-client adds the broker hop before it);
events missing or seen twice (must be 0); the server's RSS and CPU seconds per delivered event;
the Redis connections the server holds, and how many are subscriptions. Prints one JSON object
per shape, and writes them to ``bench/results/sse.json``.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import resource
import subprocess
import sys
import time
from collections import defaultdict
from contextlib import ExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import (
    ROOT,
    BenchError,
    free_port,
    guarded,
    percentile,
    redis_server,
    stop,
    wait_until,
)

CLIENTS = int(os.environ.get("BENCH_SSE_CLIENTS", "1000"))
FANOUT = int(os.environ.get("BENCH_SSE_FANOUT", "100"))
RATE = float(os.environ.get("BENCH_SSE_RATE", "100"))
SECONDS = float(os.environ.get("BENCH_SSE_SECONDS", "20"))
SHAPES = os.environ.get("BENCH_SSE_SHAPES", "objects,model").split(",")
LABEL = "sseapp.item"
SERVER_NAME = "diffs-sse-server"


class Client:
    """One event stream over a raw socket (HTTP/1.0: no chunked encoding to undo)."""

    def __init__(self, port: int, path: str, seen: dict[str, list[float]]) -> None:
        self.port, self.path, self.seen = port, path, seen
        self.ready = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port, limit=1 << 20)
        writer.write(f"GET {self.path} HTTP/1.0\r\nHost: 127.0.0.1\r\n"
                     "Accept: text/event-stream\r\n\r\n".encode())
        try:
            while line := await reader.readline():
                if line.startswith(b"retry:"):
                    self.ready.set()
                elif line.startswith(b"data: "):
                    start = line.index(b'"id":"') + 6
                    self.seen[line[start:line.index(b'"', start)].decode()].append(
                        time.perf_counter())
        finally:
            writer.close()


def server_env(redis_url: str) -> dict[str, str]:
    return {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.sse_settings",
            "BENCH_REDIS_URL": redis_url, "BENCH_SSE_NAME": SERVER_NAME, "PYTHONPATH": str(ROOT)}


def start_server(redis_url: str, port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "bench.sse_asgi:application", "--port", str(port),
         "--log-level", "warning", "--no-access-log", "--backlog", "4096"],
        cwd=ROOT, env=server_env(redis_url))


def server_connections(storage: Any) -> tuple[int, int]:
    """Return how many Redis connections the server holds, and how many are subscriptions."""
    mine = [c for c in storage.client_list() if c.get("name") == SERVER_NAME]
    return len(mine), sum(1 for c in mine if int(c.get("sub", 0)) or int(c.get("psub", 0)))


async def connect(port: int, paths: list[str], seen: dict[str, list[float]]) -> list[Client]:
    """Open a stream per path, a few at a time; return once each has sent its first block."""
    clients = [Client(port, path, seen) for path in paths]
    for start in range(0, len(clients), 50):
        batch = clients[start:start + 50]
        for client in batch:
            client.task = asyncio.ensure_future(client.run())
        await asyncio.wait_for(asyncio.gather(*(c.ready.wait() for c in batch)), 60)
    return clients


async def write_steadily(pks: list[int], sent: dict[str, float]) -> None:
    """Store RATE diffs a second for SECONDS, each to one of ``pks``, noting when."""
    from diffs import wire
    from diffs.storage.writer import write_batch

    interval, began = 1 / RATE, time.perf_counter()
    for n in range(int(RATE * SECONDS)):
        await asyncio.sleep(max(0.0, began + n * interval - time.perf_counter()))
        diff = wire.new_diff(LABEL, random.choice(pks), {"name": f"v{n}"}, {"name": "old"})
        payload = wire.dumps(wire.batch([diff], None))
        sent[diff[wire.ID]] = time.perf_counter()
        await asyncio.to_thread(write_batch, payload)


async def run_shape(shape: str, port: int, storage: Any, server: Any) -> dict[str, Any]:
    import psutil

    pks = list(range(1, CLIENTS + 1))
    paths = ([f"/diffs/{LABEL}/{pk}/" for pk in pks] if shape == "objects"
             else [f"/diffs/{LABEL}/"] * FANOUT)
    readers = 1 if shape == "objects" else FANOUT
    seen: dict[str, list[float]] = defaultdict(list)
    sent: dict[str, float] = {}
    clients = await connect(port, paths, seen)
    process = psutil.Process(server.pid)
    cpu = process.cpu_times()
    began = time.perf_counter()
    await write_steadily(pks, sent)
    deadline = time.perf_counter() + 30
    while (sum(len(seen[i]) for i in sent) < len(sent) * readers
           and time.perf_counter() < deadline):
        await asyncio.sleep(0.1)
    spent = process.cpu_times()
    connections, subscriptions = server_connections(storage)  # every stream still open
    delivered = sum(len(seen[i]) for i in sent)
    latencies = [(at - sent[i]) * 1000 for i in sent for at in seen[i]]
    result = {
        "shape": shape, "clients": len(clients), "writes_per_second": RATE, "seconds": SECONDS,
        "writes": len(sent), "events_delivered": delivered,
        "events_missing": sum(max(0, readers - len(seen[i])) for i in sent),
        "events_twice": sum(max(0, len(seen[i]) - readers) for i in sent),
        "latency_ms": {"p50": round(percentile(latencies, 0.5), 1),
                       "p99": round(percentile(latencies, 0.99), 1),
                       "max": round(max(latencies), 1)},
        "server_rss_mb": round(process.memory_info().rss / 2**20, 1),
        "server_cpu_s": round(spent.user + spent.system - cpu.user - cpu.system, 2),
        "server_cpu_us_per_event": round((spent.user + spent.system - cpu.user - cpu.system)
                                         / max(1, delivered) * 1e6, 1),
        "wall_s": round(time.perf_counter() - began, 1),
        "redis_connections_of_server": connections,
        "redis_subscriptions_of_server": subscriptions,
        "load_average": os.getloadavg()[0],
    }
    for client in clients:
        assert client.task is not None
        client.task.cancel()
    await asyncio.gather(*(c.task for c in clients if c.task), return_exceptions=True)
    return result


def main() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # the server inherits it
    if hard < CLIENTS * 2 + 100:
        raise BenchError(f"open files limit {hard} is too low for {CLIENTS} clients")
    import redis

    results = []
    with ExitStack() as stack:
        url = stack.enter_context(redis_server())
        os.environ.update(server_env(url) | {"BENCH_SSE_NAME": "diffs-sse-writer"})
        import django

        django.setup()
        storage = redis.Redis.from_url(f"{url}/0", decode_responses=True)
        port = free_port()
        server = start_server(url, port)
        stack.callback(stop, server, 30)
        wait_until(lambda: server.poll() is not None or _answers(port), "uvicorn to answer")
        if server.poll() is not None:
            raise BenchError("uvicorn exited")
        for shape in SHAPES:
            result = asyncio.run(run_shape(shape, port, storage, server))
            print(json.dumps(result), flush=True)
            results.append(result)
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "sse.json").write_text(json.dumps(results, indent=2) + "\n")


def _answers(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


if __name__ == "__main__":
    guarded(main)
