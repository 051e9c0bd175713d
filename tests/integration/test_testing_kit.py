"""The testing kit (diffs.testing): diffs readable right after a save, in a TestCase and in
pytest, written in process under a prefix of the block's own that is deleted afterwards.

No worker and no broker here: the kit must not need them. Both databases.
"""

from __future__ import annotations

import socket

import pytest
import redis
from django.conf import settings as django_settings
from django.db import transaction
from django.test import TestCase, override_settings

import diffs
from diffs.models import PendingDiff
from diffs.storage.keys import object_key
from diffs.testing import DiffsTestMixin, assert_diff_recorded, isolated, recorded
from tests.testapp.models import Category, Choice, HistoryPoll, Question

pytestmark = pytest.mark.both_databases


class TestCaseWithTheMixin(DiffsTestMixin, TestCase):
    """What a project's TestCase does: a save, then an assertion on its diff at once."""

    databases = {"default", "other"}

    def test_a_create_is_readable_right_after_the_save(self):
        question = Question.objects.create(question_text="What is new?")
        diff = self.assertDiffRecorded(question, created=True, question_text="What is new?")
        assert question.diffs[0] == diff
        assert len(question.diffs) == 1

    def test_an_update_records_old_and_new(self):
        question = Question.objects.create(question_text="before")
        question.question_text = "after"
        question.save()
        diff = self.assertDiffRecorded(question, created=False, question_text="after")
        assert diff.old == {"question_text": "before"}
        assert [d.created for d in self.recorded(question)] == [True, False]

    def test_a_delete_is_read_through_the_model_and_pk(self):
        question = Question.objects.create(question_text="short-lived")
        pk = question.pk
        question.delete()
        diff = self.assertDiffRecorded(Question, pk, deleted=True)
        assert diff.old["question_text"] == "short-lived"

    def test_a_queryset_delete_and_its_cascade(self):
        question = Question.objects.create(question_text="parent")
        choice = Choice.objects.create(question=question, choice_text="child")
        Question.objects.filter(pk=question.pk).delete()
        assert recorded(Choice, choice.pk)[-1].deleted
        assert recorded(Question, question.pk)[-1].deleted

    def test_many_to_many_changes(self):
        poll = HistoryPoll.objects.create(question="which?")
        category = Category.objects.create(name="informal")
        poll.categories.add(category)
        diff = poll.diffs[-1]
        assert diff.changed_fields == ["categories"]
        poll.categories.remove(category)
        assert poll.diffs[-1].new == {"categories": []}

    def test_a_save_inside_an_atomic_block_is_readable_at_once(self):
        with transaction.atomic():
            question = Question.objects.create(question_text="in a block")
            question.question_text = "changed in the block"
            question.save()
            assert len(question.diffs) == 2  # before the block ends
        assert [d.new.get("question_text") for d in question.diffs] == [
            "in a block", "changed in the block"
        ]

    def test_a_rolled_back_block_records_nothing(self):
        question = Question.objects.create(question_text="kept")
        with pytest.raises(RuntimeError), transaction.atomic():
            question.question_text = "rolled back"
            question.save()
            assert len(question.diffs) == 2
            raise RuntimeError("roll back")
        assert [d.created for d in question.diffs] == [True]

    def test_a_rolled_back_block_takes_its_diffs_from_the_model_feed_too(self):
        from diffs.reading.modelfeed import ModelFeed
        from tests.testapp.models import Ticket

        with pytest.raises(RuntimeError), transaction.atomic():
            Ticket.objects.create(title="rolled back")
            assert len(ModelFeed("testapp.ticket").page().diffs) == 1
            raise RuntimeError("roll back")
        assert ModelFeed("testapp.ticket").page().diffs == []

    def test_a_rolled_back_savepoint_takes_its_diffs_from_the_parent_too(self):
        question = Question.objects.create(question_text="parent")
        with transaction.atomic():
            kept = Choice.objects.create(question=question, choice_text="kept")
            with pytest.raises(RuntimeError), transaction.atomic():
                gone = Choice.objects.create(question=question, choice_text="rolled back")
                assert len(question.diffs) == 3  # its own, and both choices' rolled up
                raise RuntimeError("roll back")
            assert len(recorded(Choice, gone.pk)) == 0
        assert [d.created for d in kept.diffs] == [True]
        assert [(d.model, d.new.get("choice_text")) for d in question.diffs] == [
            ("testapp.question", None), ("testapp.choice", "kept")]

    def test_other_commit_callbacks_are_left_to_django(self):
        ran = []
        with self.captureOnCommitCallbacks(execute=True) as callbacks:
            question = Question.objects.create(question_text="with a callback")
            transaction.on_commit(lambda: ran.append("mine"))
            assert ran == [] and len(question.diffs) == 1
        assert ran == ["mine"]
        assert len(callbacks) == 2  # the diff's own ran too, and wrote nothing twice
        assert len(question.diffs) == 1

    def test_a_second_database(self):
        question = Question.objects.using("other").create(question_text="elsewhere")
        assert [d.using for d in question.diffs] == ["other"]
        assert len(Question.diffs.get_by_object_id(question.pk)) == 0

    def test_outbox_mode_leaves_no_pending_rows(self):
        outbox = {**django_settings.DIFFS_SETTINGS, "durability": "outbox"}  # keeps the prefix
        with override_settings(DIFFS_SETTINGS=outbox):
            question = Question.objects.create(question_text="outbox")
            with transaction.atomic():
                question.question_text = "outbox, changed"
                question.save()
                assert len(question.diffs) == 2
                assert PendingDiff.objects.count() == 0  # confirmed as the diff was written
            assert PendingDiff.objects.count() == 0

    def test_replacing_the_settings_whole_is_refused_before_any_write(self):
        whole = override_settings(DIFFS_SETTINGS={"raise_errors": True})  # no prefix, no redis
        with whole, pytest.raises(diffs.ConfigurationError, match="merging"):
            Question.objects.create(question_text="would reach development data")

    def test_the_prefix_is_the_blocks_own(self):
        assert self.diffs_prefix.startswith("diffs-test-")
        assert diffs.conf.diffs_settings.key_prefix == self.diffs_prefix


class TestCaseWithTestData(DiffsTestMixin, TestCase):
    """Objects made in setUpTestData, before any block: no diffs, and later saves have theirs."""

    @classmethod
    def setUpTestData(cls):
        cls.question = Question.objects.create(question_text="class data")

    def test_only_the_tests_own_saves_are_recorded(self):
        assert len(self.question.diffs) == 0
        self.question.question_text = "changed in the test"
        self.question.save()
        self.assertDiffRecorded(self.question, created=False, question_text="changed in the test")
        assert len(self.question.diffs) == 1


class TestCaseWithoutTheMixin(TestCase):
    """The problem the kit solves: a TestCase never commits, so nothing is recorded."""

    def test_nothing_is_recorded(self):
        question = Question.objects.create(question_text="never committed")
        with isolated():
            assert len(question.diffs) == 0  # saved before the block: not its diff


@pytest.fixture
def keys_gone_afterwards(storage):
    """Yield a dict for the block's prefix; after the test, no key may be left under it."""
    seen: dict[str, str] = {}
    yield seen
    assert seen["prefix"]
    assert storage.keys(f"{seen['prefix']}:*") == []


@pytest.mark.django_db(databases=["default", "other"])
def test_the_pytest_fixture(keys_gone_afterwards, diffs_isolated, storage):
    keys_gone_afterwards["prefix"] = diffs_isolated.prefix
    question = Question.objects.create(question_text="from pytest")
    question.question_text = "changed"
    question.save()
    assert_diff_recorded(question, question_text="changed")
    assert storage.keys(f"{diffs_isolated.prefix}:*")  # written under the block's prefix


@pytest.mark.django_db(transaction=True)
def test_development_data_is_untouched_and_invisible(storage, eager):
    question = Question.objects.create(question_text="development data")
    dev_key = object_key("diffs", "testapp.question", question.pk)
    assert storage.zcard(dev_key) == 1
    with isolated() as block:
        assert len(question.diffs) == 0
        question.question_text = "in a test"
        question.save()
        assert [d.new for d in question.diffs] == [{"question_text": "in a test"}]
        assert storage.exists(object_key(block.prefix, "testapp.question", question.pk))
    assert storage.keys(f"{block.prefix}:*") == []
    assert storage.zcard(dev_key) == 1
    assert [d.new["question_text"] for d in question.diffs] == ["development data"]


@pytest.mark.django_db
def test_nested_blocks_share_the_outer_prefix(storage):
    with isolated() as outer:
        question = Question.objects.create(question_text="outer")
        with isolated() as inner:
            assert inner.prefix == outer.prefix
            assert len(question.diffs) == 1
            question.question_text = "inner"
            question.save()
        assert [d.new["question_text"] for d in question.diffs] == ["outer", "inner"]
    assert storage.keys(f"{outer.prefix}:*") == []


@pytest.mark.django_db
def test_as_a_decorator_each_call_is_a_block_of_its_own(storage):
    prefixes = []

    @isolated()
    def make_one():
        prefixes.append(diffs.conf.diffs_settings.key_prefix)
        question = Question.objects.create(question_text="decorated")
        return len(question.diffs)

    assert make_one() == 1
    assert make_one() == 1
    assert len(set(prefixes)) == 2
    assert storage.keys("diffs-test-*") == []
    assert diffs.conf.diffs_settings.key_prefix == "diffs"


@pytest.mark.django_db
def test_a_rejected_diff_is_rejected_as_a_worker_would(storage, diffs_log, settings):
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS, "max_diff_bytes": 64}
    with isolated():
        question = Question.objects.create(question_text="x" * 100)
        assert len(question.diffs) == 0
    assert any("rejected a diff" in record.getMessage() for record in diffs_log)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.django_db
def test_an_unreachable_storage_is_a_clear_error(settings):
    url = f"redis://127.0.0.1:{_closed_port()}/0"
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS, "redis": {"url": url}}
    refused = pytest.raises(diffs.ConfigurationError, match=r"DIFFS_SETTINGS\['redis'\]")
    with refused as error, isolated():
        pass
    assert url in str(error.value)
    assert diffs.conf.diffs_settings.key_prefix == "diffs"


@pytest.mark.django_db
def test_nothing_is_published(storage):
    before = diffs.stats()
    with isolated():
        question = Question.objects.create(question_text="no broker")
        pk = question.pk
        question.delete()
        assert [d.deleted for d in Question.diffs.get_by_object_id(pk)] == [False, True]
        assert PendingDiff.objects.count() == 0
    assert diffs.stats() == before


@pytest.mark.django_db(transaction=True)
def test_a_diff_of_the_block_whose_transaction_commits_after_it_is_not_published(storage):
    before = diffs.stats()
    with transaction.atomic():
        with isolated() as block:
            question = Question.objects.create(question_text="committed after the block")
            assert len(question.diffs) == 1
        assert storage.keys(f"{block.prefix}:*") == []
    assert diffs.stats() == before  # nothing was queued or sent at the commit
    assert len(question.diffs) == 0


@pytest.mark.django_db(transaction=True)
def test_a_diff_recorded_before_the_block_and_committed_inside_it_is_written_not_published(
    storage,
):
    before = diffs.stats()
    outer = transaction.atomic()
    outer.__enter__()
    question = Question.objects.create(question_text="recorded before the block")
    with isolated():
        outer.__exit__(None, None, None)  # the commit, inside the block
        assert [d.created for d in question.diffs] == [True]
    assert diffs.stats() == before


@pytest.mark.django_db
def test_a_rolled_back_diff_the_block_cannot_remove_fails_it_at_its_end(storage):
    gone = f"redis://127.0.0.1:{_closed_port()}/0"
    with pytest.raises(redis.exceptions.ConnectionError), isolated() as block:
        storage_down = override_settings(
            DIFFS_SETTINGS={**django_settings.DIFFS_SETTINGS, "redis": {"url": gone}})
        with pytest.raises(RuntimeError), transaction.atomic():
            Question.objects.create(question_text="written, then rolled back")
            storage_down.enable()  # the rollback below cannot reach the storage
            raise RuntimeError("roll back")
        storage_down.disable()
    assert storage.keys(f"{block.prefix}:*") == []  # deleted all the same
