"""The change context: blocks and decorators, merged and isolated, read at the save, carried by
every kind of diff through a real worker; ``disabled()`` records nothing."""

from __future__ import annotations

import asyncio
import datetime
import threading
import uuid

import pytest
from django.contrib.auth.models import AnonymousUser, User
from django.utils.functional import SimpleLazyObject

import diffs
from diffs import wire
from diffs.exceptions import RecordingError
from diffs.recording.context import current, recording_enabled
from tests.conftest import wait_for_diffs, wait_until
from tests.testapp.models import Category, HistoryPoll, Question


@pytest.mark.unit
def test_no_block_no_context():
    assert current() is None
    assert recording_enabled()


@pytest.mark.unit
def test_nested_blocks_merge_and_the_inner_one_wins():
    with diffs.context(actor=1, reason="import"):
        assert current() == {"actor": 1, "reason": "import"}
        with diffs.context(actor=2, batch=7):
            assert current() == {"actor": 2, "reason": "import", "batch": 7}
            with diffs.context(reason=None):  # None leaves a name out
                assert current() == {"actor": 2, "batch": 7}
        assert current() == {"actor": 1, "reason": "import"}
    assert current() is None


@pytest.mark.unit
def test_a_block_ends_on_an_exception_too():
    with pytest.raises(LookupError), diffs.context(actor=1):
        raise LookupError
    assert current() is None


@pytest.mark.unit
def test_current_returns_a_new_dict_each_time():
    with diffs.context(actor=1):
        current()["actor"] = 99
        assert current() == {"actor": 1}


@pytest.mark.unit
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


@pytest.mark.unit
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


@pytest.mark.unit
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


@pytest.mark.unit
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


@pytest.mark.unit
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


@pytest.mark.unit
def test_a_context_the_worker_would_refuse_raises_with_raise_errors(settings):
    with diffs.context(note="x" * wire.schema.MAX_CONTEXT_BYTES), pytest.raises(
        RecordingError, match="over the limit of 4096"
    ):
        current()


@pytest.mark.unit
def test_a_refused_context_is_logged_and_replaced_by_a_stand_in(settings, diffs_log):
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS, "raise_errors": False}
    with diffs.context(actor=5, note="x" * wire.schema.MAX_CONTEXT_BYTES):
        found = current()
    assert list(found) == [wire.OMITTED]
    assert "over the limit of 4096" in found[wire.OMITTED]
    (record,) = diffs_log
    assert "the change context ['actor', 'note'] is not recorded" in record.getMessage()


@pytest.mark.unit
def test_a_raising_value_is_logged_and_left_out(settings, diffs_log):
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS, "raise_errors": False}

    def broken():
        raise LookupError("no tenant")

    with diffs.context(actor=5, tenant=broken):
        assert current() == {"actor": 5}
    assert "'tenant' could not be read" in diffs_log[0].getMessage()


# -- through a real worker ----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("worker")
def test_creates_changes_and_deletes_carry_the_context():
    with diffs.context(actor=3, reason="edit"):
        question = Question.objects.create(question_text="q")
        question.question_text = "r"
        question.save()
    pk = question.pk
    with diffs.context(actor=4):
        question.delete()
    created, changed, deleted = wait_for_diffs(Question.diffs.get_by_object_id(pk), 3)
    assert created.context == changed.context == {"actor": 3, "reason": "edit"}
    assert created.actor == 3
    assert deleted.deleted and deleted.context == {"actor": 4}


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("worker")
def test_a_diff_without_a_context_reads_as_empty():
    question = Question.objects.create(question_text="q")
    (diff,) = wait_for_diffs(question.diffs, 1)
    assert diff.context == {} and diff.actor is None


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("worker")
def test_a_model_instance_is_stored_as_its_pk_read_at_the_save():
    user = User(username="late")  # no pk yet when the block is entered
    with diffs.context(actor=user):
        user.save()
        question = Question.objects.create(question_text="q")
    (diff,) = wait_for_diffs(question.diffs, 1)
    assert diff.actor == user.pk


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("worker")
def test_a_lazy_value_is_resolved_at_the_save_not_at_block_entry():
    who = {"actor": None}
    with diffs.context(actor=lambda: who["actor"]):
        first = Question.objects.create(question_text="before login")
        who["actor"] = 42
        second = Question.objects.create(question_text="after login")
    assert wait_for_diffs(first.diffs, 1)[0].context == {}
    assert wait_for_diffs(second.diffs, 1)[0].actor == 42


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("worker")
def test_many_to_many_diffs_carry_the_context():
    poll = HistoryPoll.objects.create(name="poll")
    category = Category.objects.create(name="c")
    with diffs.context(actor=9):
        poll.categories.add(category)
    _, added = wait_for_diffs(poll.diffs, 2)
    assert added.changed_fields == ["categories"] and added.actor == 9


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("worker")
def test_nothing_is_recorded_inside_disabled_saves_deletes_or_many_to_many(broker):
    poll = HistoryPoll.objects.create(name="poll")
    category = Category.objects.create(name="c")
    kept = Question.objects.create(question_text="kept")
    wait_for_diffs(kept.diffs, 1)
    with diffs.disabled():
        hidden = Question.objects.create(question_text="hidden")
        kept.question_text = "quietly"
        kept.save()
        poll.categories.add(category)
        hidden_pk = hidden.pk
        hidden.delete()
    kept.question_text = "loudly"
    kept.save()  # recorded: against the value saved inside the block
    _, changed = wait_for_diffs(kept.diffs, 2)
    assert changed.old == {"question_text": "quietly"}
    wait_until(lambda: broker.llen("diffs") == 0 and not broker.hlen("unacked"))
    assert len(poll.diffs) == 1
    assert len(Question.diffs.get_by_object_id(hidden_pk)) == 0


@pytest.mark.unit
def test_diffs_exports_context_and_disabled():
    assert {"context", "disabled"} <= set(diffs.__all__)
