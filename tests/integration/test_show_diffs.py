"""``manage.py show_diffs``: the table, JSON lines, --since, --follow until Ctrl-C, bad input."""

from __future__ import annotations

import datetime
import io
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from diffs import wire
from diffs.storage.writer import write_batch
from tests.conftest import wait_until
from tests.payloads import batch, diff

pytestmark = pytest.mark.usefixtures("storage")
ROOT = Path(__file__).resolve().parents[2]


def _show(*args):
    out = io.StringIO()
    call_command("show_diffs", *args, stdout=out)
    return out.getvalue().splitlines()


def _history():
    made = [
        diff(1, new={"question_text": "a"}, created=True, seconds_ago=3),
        diff(1, new={"question_text": "b"}, old={"question_text": "a"}, seconds_ago=2,
             context={"actor": 5}),
        diff(1, new={"question_text": "c"}, old={"question_text": "b"}, seconds_ago=1),
    ]
    write_batch(batch(*made))
    return made


def test_table_shows_each_diff_oldest_first():
    _history()
    header, *lines = _show("testapp.question", "1")
    assert header.split()[:4] == ["when", "(UTC)", "object", "kind"]
    assert [line.split()[3] for line in lines] == ["created", "changed", "changed"]
    assert lines[0].endswith("question_text='a'")
    assert lines[1].endswith("question_text: 'a' -> 'b'")
    assert " 5 " in lines[1]  # who: the context's actor


def test_json_lines_are_the_feeds_diffs():
    made = _history()
    lines = [json.loads(line) for line in _show("testapp.question", "1", "--json")]
    assert [line["id"] for line in lines] == [d[wire.ID] for d in made]
    assert lines[1]["context"] == {"actor": 5}


@pytest.mark.parametrize("form", ["unix", "iso", "naive iso"])
def test_since_takes_a_unix_or_iso_time(form):
    made = _history()
    moment = made[0][wire.TIME]
    utc = datetime.datetime.fromtimestamp(moment, datetime.timezone.utc)
    text = {
        "unix": repr(moment),
        "iso": utc.isoformat(),
        "naive iso": utc.replace(tzinfo=None).isoformat(),
    }[form]
    lines = [json.loads(line) for line in _show("testapp.question", "1", "--json",
                                                 "--since", text)]
    assert [line["id"] for line in lines] == [d[wire.ID] for d in made[1:]]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["testapp.plain", "1"], "not a model registered"),
        (["nothing", "1"], "not a model registered"),
        (["testapp.question", "abc"], "not a valid pk"),
        (["testapp.question", "1", "--since", "yesterday"], "neither a unix time"),
    ],
)
def test_bad_input_is_a_command_error(args, message):
    with pytest.raises(CommandError, match=message):
        _show(*args)


@pytest.mark.parametrize("label", ["testapp.question", "testapp.Question"])
def test_the_model_is_named_in_either_case(label):
    _history()
    assert len(_show(label, "1")) == 4


def test_an_unknown_label_lists_the_registered_models():
    with pytest.raises(CommandError) as caught:
        _show("shop.order", "1")
    message = str(caught.value)
    assert "'shop.order' is not a model registered with diffs" in message
    listed = set(message.split("(either case): ", 1)[1].rstrip(".").split(", "))
    assert {"testapp.Question", "testapp.Choice"} <= listed
    assert "testapp.Plain" not in listed  # not registered


def test_storage_outage_is_a_command_error(settings):
    settings.DIFFS_SETTINGS = {"redis": {"url": "redis://127.0.0.1:1/0", "socket_timeout": 0.5}}
    with pytest.raises(CommandError, match="did not answer"):
        _show("testapp.question", "1")


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
