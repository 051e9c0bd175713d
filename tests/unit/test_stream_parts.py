"""Pure parts of the event streams: who asks for one, an event's bytes, the sync filtered page."""

from __future__ import annotations

import asyncio
import json

import pytest
from django.test import RequestFactory

from diffs.reading.filtering import afiltered_page, filtered_page
from diffs.reading.page import Page
from diffs.web import stream
from tests.payloads import model_feed_diffs


@pytest.mark.parametrize(("accept", "wanted"), [
    ("text/event-stream", True),
    ("text/event-stream; charset=utf-8", True),
    ("text/html, TEXT/EVENT-STREAM;q=0.9", True),
    ("*/*", False),
    ("", False),
    ("application/json", False),
    ("text/event-streams", False),
])
def test_only_an_accept_naming_event_stream_asks_for_a_stream(accept, wanted):
    request = RequestFactory().get("/", HTTP_ACCEPT=accept)
    assert stream.wanted(request) is wanted


def test_resume_takes_the_cursor_parameter_before_last_event_id():
    factory = RequestFactory()
    assert stream.resume_text(factory.get("/", {"cursor": "a"}, HTTP_LAST_EVENT_ID="b")) == "a"
    assert stream.resume_text(factory.get("/", HTTP_LAST_EVENT_ID="b")) == "b"
    assert stream.resume_text(factory.get("/")) is None



def test_an_event_is_its_cursor_and_the_diffs_json_encoded_once_for_every_stream():
    signed = []

    def cursor(position):
        signed.append(position)
        return f"cursor-{position[1]}"

    async def never(*args):  # pragma: no cover - not read here
        raise AssertionError

    source = stream.Source(key="k", read=never, cursor=cursor, allowed=never)
    (diff,) = model_feed_diffs(1)
    first = stream.event(source, diff)
    assert stream.event(source, diff) is first and len(signed) == 1
    id_line, data_line, *rest = first.decode().split("\n")
    assert id_line == f"id: cursor-{diff.id}" and rest == ["", ""]
    assert json.loads(data_line.removeprefix("data: "))["new"] == {"title": 1}


def test_the_sync_filtered_page_reads_and_ends_as_the_async_one():
    diffs = model_feed_diffs(250)

    def read(after, limit):
        rest = [d for d in diffs if after is None or d.arrival > after]
        return Page(rest[:limit], len(rest) > limit)

    async def aread(after, limit):
        return read(after, limit)

    def keep(found):
        return [d for d in found if d.pk % 7 == 0]

    async def akeep(found):
        return keep(found)

    for after, limit in [(None, 5), (None, 100), (diffs[9].arrival, 3), (diffs[-1].arrival, 10)]:
        sync = filtered_page(read, after, limit, keep)
        both = asyncio.run(afiltered_page(aread, after, limit, akeep))
        assert ([d.id for d in sync.diffs], sync.more, sync.end(after)) == (
            [d.id for d in both.diffs], both.more, both.end(after))
