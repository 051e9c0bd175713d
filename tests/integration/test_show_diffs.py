"""``manage.py show_diffs``: the table, JSON lines, --since, bad input (--follow: tests/e2e)."""

from __future__ import annotations

import datetime
import io
import json

import pytest
from django.core.management import CommandError, call_command

from diffs import wire
from diffs.storage.writer import write_batch
from tests.payloads import batch, diff

pytestmark = pytest.mark.usefixtures("storage")


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


