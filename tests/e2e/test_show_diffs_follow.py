"""``manage.py show_diffs --follow`` as a process: it prints new diffs as they are written and
exits on Ctrl-C (SIGINT, also when it inherited SIGINT ignored) and on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from diffs import wire
from diffs.storage.writer import write_batch
from tests.conftest import wait_until
from tests.integration.test_show_diffs import _history
from tests.payloads import batch, diff

ROOT = Path(__file__).resolve().parents[2]


#: How a follow is stopped: Ctrl-C in a terminal, Ctrl-C reaching a command that inherited
#: SIGINT ignored (a background job of a shell script, as `make test &` runs it: Python then
#: never turns SIGINT into KeyboardInterrupt), and SIGTERM (kill, docker stop, systemd).
STOPS = {
    "ctrl-c": ([], signal.SIGINT),
    "ctrl-c, inherited ignored": (["bash", "-c", "trap '' INT; exec \"$@\"", "bash"],
                                  signal.SIGINT),
    "sigterm": ([], signal.SIGTERM),
}


@pytest.mark.parametrize("stop", STOPS, ids=list(STOPS))
def test_follow_prints_new_diffs_as_they_arrive_and_exits_on_ctrl_c(redis_server, storage,
                                                                      stop):
    made = _history()
    launcher, number = STOPS[stop]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.server_settings",
           "DIFFS_TEST_REDIS_URL": redis_server["storage_url"], "PYTHONPATH": str(ROOT)}
    subscribers = storage.pubsub_numsub("diffs:~written")[0][1]  # other tests' may linger
    process = subprocess.Popen(
        [*launcher, sys.executable, "-m", "django", "show_diffs", "testapp.question", "1",
         "--json", "--follow", "--since", repr(made[1][wire.TIME])],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    lines: list[dict] = []
    reader = threading.Thread(target=lambda: lines.extend(json.loads(x) for x in process.stdout
                                                          if x.strip()))
    reader.start()
    try:
        # Its own subscription: the follow has begun, and handles the stop signals itself.
        wait_until(lambda: storage.pubsub_numsub("diffs:~written")[0][1] > subscribers,
                   timeout=60)
        later = diff(1, new={"question_text": "d"}, old={"question_text": "c"})
        write_batch(batch(later))
        wait_until(lambda: len(lines) == 2, timeout=60)
        assert [line["id"] for line in lines] == [made[2][wire.ID], later[wire.ID]]
        process.send_signal(number)
        # Generous for a loaded machine: the follow itself stops at once (no wait runs out).
        assert process.wait(timeout=60) == 0
        assert "Traceback" not in process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
        reader.join(timeout=10)
