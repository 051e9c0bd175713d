"""The diffs_* metrics scraped over HTTP from a real web process and real Celery workers.

A scenario (``tests.faults.harness``) runs a web process (runserver, with a save view and a
``/metrics`` view over the default registry) and a worker serving its metrics on
``metrics_port``; the counts read from both are compared with the saves made. With the prefork
pool each pool process serves on ``metrics_port`` plus its index: the sum over them counts
every diff.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import urllib.request

import pytest

from tests.conftest import wait_until
from tests.metrics import samples, value

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

STORED = "diffs_stored_total"
#: How long a process may take to start serving (bounded, generous: the machines are shared).
STARTUP = 120
QUESTION = {"model": "testapp.question"}


def free_port(following: int = 0) -> int:
    """Return a free port (and the ``following`` ports after it free too)."""
    while True:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        try:
            for after in range(1, following + 1):
                with socket.socket() as probe:
                    probe.bind(("127.0.0.1", port + after))
        except OSError:
            continue
        return port


def scrape(port: int, path: str = "/") -> dict | None:
    """Return the samples served on ``port`` (None while nothing answers there)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
            return samples(response.read().decode())
    except OSError:
        return None


def test_a_web_process_and_a_worker_expose_counts_that_match_the_saves(scenarios):
    worker_port, web_port = free_port(), free_port()
    scenario = scenarios(FAULT_URLCONF="tests.metrics_urls",
                         FAULT_DIFFS_SETTINGS=json.dumps({"metrics_port": worker_port}))
    scenario.worker()
    scenario.spawn(sys.executable, "-m", "django", "runserver", "--noreload", "--skip-checks",
                   f"127.0.0.1:{web_port}", stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    wait_until(lambda: scrape(web_port, "/metrics") is not None, timeout=STARTUP)
    with urllib.request.urlopen(f"http://127.0.0.1:{web_port}/save/7", timeout=60) as response:
        assert response.read() == b"saved"
    web = scrape(web_port, "/metrics")
    assert web is not None
    assert value(web, "diffs_recorded_total") == 7
    assert value(web, "diffs_published_total") == 7
    assert value(web, "diffs_spooled_total") == 0
    scenario.wait_stored(7)
    worker = wait_until(lambda: (found := scrape(worker_port)) is not None
                        and value(found, STORED, **QUESTION) == 7 and found)
    assert value(worker, "diffs_commit_to_stored_seconds_count") == 7
    assert value(worker, "diffs_rejected_total", reason="invalid") == 0
    assert value(worker, "diffs_kept_rows") == 0


def test_prefork_pool_processes_each_serve_their_own_counts(scenarios):
    port = free_port(following=1)
    scenario = scenarios(FAULT_DIFFS_SETTINGS=json.dumps({"metrics_port": port}))
    scenario.worker(pool="prefork", concurrency=2)
    # A prefork worker and its two pool processes start Django each: slow on a loaded machine.
    wait_until(lambda: scrape(port) is not None and scrape(port + 1) is not None,
               timeout=STARTUP)
    client = scenario.client(12, 0, "prefork")
    assert scenario.result(client)["failed"] == 0
    scenario.wait_stored(12)

    def total() -> float:
        found = [scrape(port), scrape(port + 1)]
        return sum(value(one, STORED, **QUESTION) for one in found if one is not None)

    wait_until(lambda: total() == 12)
