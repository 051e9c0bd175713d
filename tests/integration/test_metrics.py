"""The diffs_* Prometheus metrics of one process, scraped from the default registry.

Writes run in this process through Celery's eager mode, so the publishing counters
(``diffs.stats()``) and the worker-side tally both move; every count is compared with the
saves made (as deltas: the tally belongs to the process, not to a test).
"""

from __future__ import annotations

import urllib.request

import pytest
from prometheus_client import REGISTRY, generate_latest

from diffs import metrics
from diffs.storage import health
from diffs.transport import pending
from diffs_tasks.tasks import prune_diffs, write_diffs
from tests import payloads
from tests.metrics import samples, value
from tests.testapp.models import Question

pytestmark = pytest.mark.django_db(transaction=True)


def scrape() -> dict:
    assert metrics.install()  # done by DiffsConfig.ready(); a second call changes nothing
    return samples(generate_latest(REGISTRY).decode())


@pytest.mark.usefixtures("eager", "no_outage", "storage")
def test_a_scrape_counts_the_diffs_recorded_published_and_stored():
    before = scrape()
    for n in range(3):
        Question.objects.create(question_text=f"q{n}")
    after = scrape()
    assert value(after, "diffs_recorded_total") == 3  # a fresh runtime: counted from 0
    assert value(after, "diffs_published_total") == 3
    assert value(after, "diffs_messages_sent_total") == 3
    stored = ("diffs_stored_total", {"model": "testapp.question"})
    assert value(after, stored[0], **stored[1]) - value(before, stored[0], **stored[1]) == 3
    count = "diffs_commit_to_stored_seconds_count"
    assert value(after, count) - value(before, count) == 3
    assert value(after, "diffs_publisher_queue_length") == 0


@pytest.mark.usefixtures("storage")
def test_rejected_diffs_are_counted_by_reason():
    before = scrape()
    write_diffs.apply(args=("{not json",))
    invalid = payloads.batch(payloads.diff(label="testapp.nosuchmodel"),
                             payloads.diff(pk="not an int"))
    write_diffs.apply(args=(invalid,))
    after = scrape()
    rejected = "diffs_rejected_total"
    assert value(after, rejected, reason="not_json") - value(before, rejected,
                                                             reason="not_json") == 1
    assert value(after, rejected, reason="invalid") - value(before, rejected,
                                                            reason="invalid") >= 1


def test_the_kept_rows_gauge_counts_the_pending_table():
    pending.spool([payloads.diff(pk=n) for n in range(1, 5)])
    assert value(scrape(), "diffs_kept_rows") == 4


def test_a_prune_is_counted_and_noted_for_diffs_status(storage):
    before = scrape()
    prune_diffs.apply()
    after = scrape()
    assert value(after, "diffs_prune_runs_total") - value(before, "diffs_prune_runs_total") == 1
    noted = health.last_prune(storage, "diffs")
    assert noted is not None and noted["members_removed"] == 0


def test_describing_the_metrics_reads_nothing(django_assert_num_queries):
    from diffs.metrics.collector import DiffsCollector

    with django_assert_num_queries(0):
        names = {family.name for family in DiffsCollector().describe()}
    assert {"diffs_recorded", "diffs_stored", "diffs_kept_rows",
            "diffs_commit_to_stored_seconds", "diffs_prune_runs"} <= names


def test_a_metrics_server_serves_the_registry_and_a_taken_port_is_logged(diffs_log):
    from tests.topology import free_port

    port = free_port()
    assert metrics.serve(port) is True
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as response:
        assert "diffs_recorded_total" in samples_names(response.read().decode())
    assert metrics.serve(port) is False  # taken: logged, never raised into the worker
    assert any(f"could not serve metrics on port {port}" in r.getMessage() for r in diffs_log)


def samples_names(text: str) -> set[str]:
    return {name for name, _ in samples(text)}


@pytest.mark.parametrize(("pool", "prefork"), [
    ("prefork", True), ("processes", True), ("solo", False), ("threads", False),
    ("celery.concurrency.prefork:TaskPool", True)])
def test_the_pool_decides_which_process_serves_the_metrics(pool, prefork):
    from types import SimpleNamespace

    from celery.concurrency import get_implementation

    from diffs_tasks.signals import is_prefork

    assert is_prefork(SimpleNamespace(pool_cls=pool)) is prefork
    assert is_prefork(SimpleNamespace(pool_cls=get_implementation(pool))) is prefork
