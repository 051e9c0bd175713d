"""Web processes that end with diffs in their background publisher's queue: a script that exits,
a forked child, a SIGKILLed web process, gunicorn stopped with SIGTERM (real processes)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter

import port_for
import pytest

from tests.conftest import wait_until

#: Long enough that only a full batch, a flush or the exit sends anything during a test.
NEVER = 600


def slow_settings(**more) -> str:
    """FAULT_DIFFS_SETTINGS under which only a flush, or the exit, sends anything."""
    return json.dumps({"publish_interval": NEVER, "publish_batch_size": 10_000, **more})


def assert_stored_once(ids: list[str], expected: int) -> None:
    assert [i for i, n in Counter(ids).items() if n > 1] == []
    assert len(ids) == expected


@pytest.mark.slow
@pytest.mark.both_databases
def test_a_short_script_is_flushed_at_exit(scenarios):
    scenario = scenarios(FAULT_DIFFS_SETTINGS=slow_settings())
    scenario.worker()
    out = scenario.run_python(
        "import diffs; from tests.testapp.models import Question;"
        "[Question.objects.create(question_text=str(i)) for i in range(40)];"
        "print(diffs.stats()['queue_length'])"
    )
    assert out == "40"  # all of them were still waiting when the script ended
    assert_stored_once(scenario.wait_settled(40), 40)


FORKING = """
import multiprocessing, diffs
from tests.testapp.models import Question

def save(tag):
    for i in range(25):
        Question.objects.create(question_text=f"{tag}-{i}")

save("parent-before")
child = multiprocessing.get_context("fork").Process(target=save, args=("child",))
child.start()
child.join()
save("parent-after")
print(child.exitcode, diffs.stats()["queue_length"])
"""


@pytest.mark.slow
@pytest.mark.both_databases
def test_a_forked_child_and_its_parent_store_every_diff_once(scenarios):
    scenario = scenarios(FAULT_DIFFS_SETTINGS=slow_settings())
    scenario.worker()
    out = scenario.run_python(f"exec({FORKING!r})")
    # The parent flushed its 25 before the fork; the child sent its own as it exited.
    assert out == "0 25"
    ids = scenario.wait_settled(75)
    assert_stored_once(ids, 75)


SAVE_THEN_WAIT = """
import json, sys, time, diffs
from tests.testapp.models import Question
for i in range(100):
    Question.objects.create(question_text=f"sent-{i}")
assert diffs.flush(timeout=30)
for i in range(25):
    Question.objects.create(question_text=f"queued-{i}")
print(json.dumps(diffs.stats()), flush=True)
time.sleep(600)
"""


@pytest.mark.slow
@pytest.mark.parametrize(("durability", "stored"), [("spool", 100), ("outbox", 125)])
def test_a_sigkilled_web_process_loses_at_most_its_queue_in_spool_mode_nothing_in_outbox(
    scenarios, durability, stored
):
    scenario = scenarios(FAULT_DIFFS_SETTINGS=slow_settings(), FAULT_DURABILITY=durability)
    scenario.worker()
    web = scenario.spawn(sys.executable, "-c", f"import django; django.setup(); "
                         f"exec({SAVE_THEN_WAIT!r})", stdout=subprocess.PIPE, text=True)
    stats = json.loads(web.stdout.readline())
    assert stats["queue_length"] == 25  # what a kill now can lose
    scenario.kill(web)
    ids = scenario.wait_settled(stored)
    assert_stored_once(ids, stored)  # spool: the 25 queued are gone; outbox: sent again
    assert 125 - len(ids) <= stats["queue_length"]


WSGI = """
import django
django.setup()
from tests.testapp.models import Question

def application(environ, start_response):
    Question.objects.create(question_text=environ["PATH_INFO"])
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"saved"]
"""


@pytest.mark.slow
@pytest.mark.both_databases
def test_sigterm_under_gunicorn_flushes_what_the_requests_saved(scenarios, tmp_path):
    (tmp_path / "diffs_wsgi_app.py").write_text(WSGI)
    scenario = scenarios(FAULT_DIFFS_SETTINGS=slow_settings())
    scenario.worker()
    port = port_for.select_random()
    server = scenario.spawn(
        sys.executable, "-m", "gunicorn", "--workers", "2", "--preload", "--bind",
        f"127.0.0.1:{port}", "--chdir", str(tmp_path), "diffs_wsgi_app:application",
        env={"PYTHONPATH": f"{tmp_path}:{scenario.env['PYTHONPATH']}"},
        stderr=open(tmp_path / "gunicorn.log", "w"),  # noqa: SIM115
    )
    wait_until(lambda: _answers(port), timeout=60, interval=0.2)
    for number in range(60):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/r{number}", timeout=30) as reply:
            assert reply.read() == b"saved"
    time.sleep(0.5)  # nothing was sent yet: the interval is ten minutes
    assert len(scenario.stored_ids()) <= 1  # (the probe's own request)
    server.send_signal(signal.SIGTERM)
    assert server.wait(timeout=60) == 0
    saved = int(scenario.run_python(
        "from tests.testapp.models import Question; print(Question.objects.count())"))
    assert saved >= 60
    assert_stored_once(scenario.wait_settled(saved), saved)


def _answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/probe", timeout=5) as reply:
            return reply.status == 200
    except OSError:
        return False
