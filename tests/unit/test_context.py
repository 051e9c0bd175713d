"""The change context alone: blocks and decorators, merged and isolated per thread and task,
values read at each diff and made JSON; ``disabled()``. What diffs carry is in
``tests/integration/test_context.py``."""

from __future__ import annotations

import asyncio
import datetime
import threading
import uuid

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils.functional import SimpleLazyObject

import diffs
from diffs import wire
from diffs.exceptions import RecordingError
from diffs.recording.context import current, recording_enabled


def test_no_block_no_context():
    assert current() is None
    assert recording_enabled()


def test_nested_blocks_merge_and_the_inner_one_wins():
    with diffs.context(actor=1, reason="import"):
        assert current() == {"actor": 1, "reason": "import"}
        with diffs.context(actor=2, batch=7):
            assert current() == {"actor": 2, "reason": "import", "batch": 7}
            with diffs.context(reason=None):  # None leaves a name out
                assert current() == {"actor": 2, "batch": 7}
        assert current() == {"actor": 1, "reason": "import"}
    assert current() is None


def test_a_block_ends_on_an_exception_too():
    with pytest.raises(LookupError), diffs.context(actor=1):
        raise LookupError
    assert current() is None


def test_current_returns_a_new_dict_each_time():
    with diffs.context(actor=1):
        current()["actor"] = 99
        assert current() == {"actor": 1}


def test_each_thread_sees_only_its_own_blocks():
    seen = {}
    inside, leave = threading.Event(), threading.Event()

    def other():
        with diffs.context(actor="thread"):
            inside.set()
            leave.wait(10)
            seen["thread"] = current()

    with diffs.context(actor="main"):
        thread = threading.Thread(target=other)
        thread.start()
        assert inside.wait(10)
        seen["main"] = current()
        leave.set()
        thread.join(10)
    assert seen == {"main": {"actor": "main"}, "thread": {"actor": "thread"}}


def test_each_asyncio_task_sees_only_its_own_blocks():
    async def job(name, started, go):
        with diffs.context(actor=name):
            started.set()
            await go.wait()
            return current()

    async def main():
        events = [(asyncio.Event(), asyncio.Event()) for _ in range(2)]
        tasks = [asyncio.create_task(job(n, *events[n])) for n in range(2)]
        for started, _ in events:
            await started.wait()  # both blocks are open at once
        for _, go in reversed(events):
            go.set()
        return await asyncio.gather(*tasks)

    assert asyncio.run(main()) == [{"actor": 0}, {"actor": 1}]


def test_a_decorator_runs_each_call_of_a_sync_or_async_function_inside_the_block():
    shared = diffs.context(source="job")

    @shared
    def sync_job(extra):
        with diffs.context(extra=extra):
            return current()

    @shared
    async def async_job(extra):
        await asyncio.sleep(0)
        return current()

    assert sync_job(1) == {"source": "job", "extra": 1}
    assert asyncio.run(async_job(2)) == {"source": "job"}
    assert sync_job.__name__ == "sync_job" and async_job.__name__ == "async_job"
    assert current() is None


def test_disabled_is_a_block_and_a_decorator_and_nests():
    @diffs.disabled()
    def backfill():
        return recording_enabled()

    assert backfill() is False
    with diffs.disabled():
        with diffs.context(actor=1):
            assert not recording_enabled()
        assert not recording_enabled()
    assert recording_enabled()


def test_values_are_read_at_each_diff_and_made_json():
    state = {"n": 1}
    when = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
    with diffs.context(
        n=lambda: state["n"],
        lazy=SimpleLazyObject(lambda: "evaluated"),
        id=uuid.UUID(int=1),
        when=when,
        tags=("a", "b"),
        anonymous=AnonymousUser(),
    ):
        first = current()
        state["n"] = 2
        second = current()
    assert first == {
        "n": 1, "lazy": "evaluated", "id": "00000000-0000-0000-0000-000000000001",
        "when": "2026-01-02T03:04:05+00:00", "tags": ["a", "b"],
    }
    assert second["n"] == 2


def test_a_context_the_worker_would_refuse_raises_with_raise_errors(settings):
    with diffs.context(note="x" * wire.schema.MAX_CONTEXT_BYTES), pytest.raises(
        RecordingError, match="over the limit of 4096"
    ):
        current()


def test_a_refused_context_is_logged_and_replaced_by_a_stand_in(settings, diffs_log):
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS, "raise_errors": False}
    with diffs.context(actor=5, note="x" * wire.schema.MAX_CONTEXT_BYTES):
        found = current()
    assert list(found) == [wire.OMITTED]
    assert "over the limit of 4096" in found[wire.OMITTED]
    (record,) = diffs_log
    assert "the change context ['actor', 'note'] is not recorded" in record.getMessage()


def test_a_raising_value_is_logged_and_left_out(settings, diffs_log):
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS, "raise_errors": False}

    def broken():
        raise LookupError("no tenant")

    with diffs.context(actor=5, tenant=broken):
        assert current() == {"actor": 5}
    assert "'tenant' could not be read" in diffs_log[0].getMessage()


def test_diffs_exports_context_and_disabled():
    assert {"context", "disabled"} <= set(diffs.__all__)
