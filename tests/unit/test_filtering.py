"""Pages that leave diffs out, and change times read back from ids: pure logic."""

from __future__ import annotations

import asyncio

from diffs import wire
from diffs.reading.diff import Diff
from diffs.reading.filtering import MAX_READS, MIN_READ, afiltered_page, changed_any
from diffs.reading.page import Page
from tests.payloads import model_feed_diffs


def _reader(diffs: list[Diff], reads: list[int]):
    async def read(after, limit):
        reads.append(limit)
        rest = [d for d in diffs if after is None or d.arrival > after]
        return Page(rest[:limit], len(rest) > limit)
    return read


def _page(diffs, limit, keep, after=None):
    reads: list[int] = []
    page = asyncio.run(afiltered_page(_reader(diffs, reads), after, limit, keep))
    return page, reads


async def _even(diffs):
    return [d for d in diffs if d.pk % 2 == 0]


async def _none(diffs):
    return []


def test_a_filtered_page_fills_up_to_its_limit_and_ends_at_its_last_diff_shown():
    diffs = model_feed_diffs(10)
    page, reads = _page(diffs, 2, _even)
    assert [d.pk for d in page.diffs] == [2, 4]
    assert (page.more, page.end(None)) == (True, diffs[3].arrival)
    assert reads == [MIN_READ]


def test_a_filtered_page_that_read_everything_ends_at_the_last_diff_read():
    diffs = model_feed_diffs(5)
    page, _ = _page(diffs, 10, _even)
    assert [d.pk for d in page.diffs] == [2, 4]
    assert (page.more, page.end(None)) == (False, diffs[4].arrival)


def test_a_page_whose_diffs_are_all_hidden_is_empty_moves_on_and_says_more_is_left():
    diffs = model_feed_diffs(MAX_READS * MIN_READ + 1)
    page, reads = _page(diffs, 10, _none)
    assert (page.diffs, page.more) == ([], True)
    assert page.end(None) == diffs[MAX_READS * MIN_READ - 1].arrival
    assert len(reads) == MAX_READS
    rest, _ = _page(diffs, 10, _none, page.end(None))
    assert (rest.diffs, rest.more, rest.end(None)) == ([], False, diffs[-1].arrival)


def test_changed_any_keeps_diffs_of_those_fields_and_every_delete():
    kept = Diff(id="a" * 16, model="m.m", pk=1, timestamp=1.0, new={"a": 1})
    other = Diff(id="b" * 16, model="m.m", pk=1, timestamp=1.0, new={"b": 1})
    cleared = Diff(id="c" * 16, model="m.m", pk=1, timestamp=1.0, old={"a": 1})
    gone = Diff(id="d" * 16, model="m.m", pk=1, timestamp=1.0, deleted=True)
    assert changed_any(["a"])([kept, other, cleared, gone]) == [kept, cleared, gone]


def test_the_change_time_of_an_id_is_the_time_it_was_made_with():
    moment, diff_id = wire.change_time()
    assert wire.id_time(diff_id) == moment
    then, old_id = wire.change_time(1_700_000_000.123456)
    assert (then, wire.id_time(old_id)) == (1_700_000_000.123456, 1_700_000_000.123456)
    assert old_id < diff_id
