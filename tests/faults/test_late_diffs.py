"""The late diff, with real processes: a save kept while the broker was unreachable is stored
after a later save of the same object, and a client holding a cursor from between them reads
it next, on the object's feed and on the model's feed.

Marked ``slow``, like the other scenarios; it runs in ``make test`` and CI all the same.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

#: Prints, as JSON, the cursor position after every diff of ticket 1's feed and of the model's.
READ = """
import json
from diffs.reading.diffset import DiffSet
from diffs.reading.modelfeed import ModelFeed
after = json.loads({after!r})
found = {{}}
feeds = (("object", DiffSet("testapp.ticket", 1)), ("model", ModelFeed("testapp.ticket")))
for name, feed in feeds:
    start = None if after is None else tuple(after[name]["end"])
    page = feed.page(start, 100)
    found[name] = {{"end": page.end(start),
                   "diffs": [[d.id, d.timestamp, d.new.get("title")] for d in page.diffs]}}
print(json.dumps(found))
"""


def redis_url(server) -> str:
    return f"redis://127.0.0.1:{server.port}/0"


def read(scenario, after=None):
    return json.loads(scenario.run_python(READ.format(after=json.dumps(after))))


@pytest.mark.both_databases
def test_a_diff_kept_during_an_outage_reaches_a_client_holding_a_later_cursor(
    servers, scenarios
):
    broker = servers("broker")
    # The worker's resend timer alone sends kept diffs, and not before the test holds its
    # cursor (resend_interval); the web process publishes as it commits.
    scenario = scenarios(redis_url(broker), FAULT_CLIENT_RESENDS="0", FAULT_PUBLISH="on_commit",
                         FAULT_DIFFS_SETTINGS='{"resend_interval": 8}')
    broker.stop()
    scenario.run_python(
        "from tests.testapp.models import Ticket; Ticket.objects.create(id=1, title='late')")
    assert scenario.pending_rows() == 1  # the broker was unreachable: kept
    broker.start()
    scenario.run_python(
        "from tests.testapp.models import Ticket; t = Ticket.objects.get(id=1); "
        "t.title = 'second'; t.save()")
    scenario.worker()
    wait_until(lambda: read(scenario)["object"]["diffs"], timeout=60)
    held = read(scenario)  # the client's cursors: after "second", before the kept one arrives
    assert scenario.pending_rows() == 1, "the kept diff was sent before the test held a cursor"
    assert [d[2] for d in held["object"]["diffs"]] == ["second"]
    assert [d[2] for d in held["model"]["diffs"]] == ["second"]

    wait_until(lambda: scenario.pending_rows() == 0, timeout=60)  # the worker resent it
    later = read(scenario, held)
    for name in ("object", "model"):
        (late,) = later[name]["diffs"]
        assert late[2] == "late", name
        assert late[1] < held[name]["diffs"][0][1]  # made before "second", stored after it
    assert read(scenario, later)["object"]["diffs"] == []
