"""The per-transaction buffer's bookkeeping, with a sink that only collects what it is given.

No broker and no worker: the sink (``diffs.transport.sink.replaced``) collects the batches, so
these tests see exactly which batches a transaction would publish, and when.
"""

from __future__ import annotations

import pytest
from django.db import transaction

from diffs import wire
from diffs.recording import buffer, tracking
from diffs.transport import sink
from tests import payloads
from tests.testapp.models import Question

pytestmark = [pytest.mark.unit, pytest.mark.django_db(transaction=True)]


class Collector:
    """A sink that keeps every batch (as diff ids) and its outbox reference."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.outboxes: list[dict | None] = []

    def __call__(self, diffs, outbox):
        self.batches.append([wire.diff_id(diff) for diff in diffs])
        self.outboxes.append(outbox)


@pytest.fixture
def sent():
    collector = Collector()
    with sink.replaced(collector):
        yield collector


def record(sent, instance, previous=None):
    """Buffer one diff of ``instance`` as a save would; return its id."""
    diff = payloads.diff(instance.pk or 1)
    buffer.enqueue("default", diff, instance, previous or {})
    return wire.diff_id(diff)


def test_autocommit_sends_each_diff_at_once(sent):
    question = Question(pk=1)
    first = record(sent, question)
    second = record(sent, question)
    assert sent.batches == [[first], [second]]


def test_a_committed_transaction_sends_its_diffs_once_in_order(sent):
    question = Question(pk=1)
    with transaction.atomic():
        made = [record(sent, question) for _ in range(3)]
        assert sent.batches == []
    assert sent.batches == [made]


def test_a_rolled_back_transaction_sends_nothing_and_restores_the_state(sent):
    question = Question(pk=1)
    tracking.remember(question, {"question_text": "committed"})
    with pytest.raises(RuntimeError), transaction.atomic():
        tracking.remember(question, {"question_text": "rolled back"})
        record(sent, question, previous={"question_text": "committed"})
        raise RuntimeError
    assert sent.batches == []
    assert tracking.saved_state(question) == {"question_text": "committed"}


def test_a_rolled_back_savepoint_drops_only_the_diffs_made_inside_it(sent):
    question = Question(pk=1)
    with transaction.atomic():
        kept = record(sent, question)
        with pytest.raises(RuntimeError), transaction.atomic():
            record(sent, question)
            raise RuntimeError
        after = record(sent, question)
    assert sent.batches == [[kept, after]]


def test_the_next_transaction_starts_a_new_batch(sent):
    question = Question(pk=1)
    with transaction.atomic():
        first = record(sent, question)
    with transaction.atomic():
        second = record(sent, question)
    assert sent.batches == [[first], [second]]


def test_outbox_rows_are_named_in_the_batch(sent, settings):
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS, "durability": "outbox"}
    question = Question(pk=1)
    with transaction.atomic():
        made = record(sent, question)
    (outbox,) = sent.outboxes
    alias, rows = wire.parse_pending(wire.batch([], outbox), known_alias=lambda alias: True)
    assert alias == "default"
    assert [diff_id for _, diff_id in rows] == [made]


class Recipient:
    """A recipient (``buffer.diverted``) that keeps the ids it is handed and those rolled back."""

    def __init__(self) -> None:
        self.taken: list[str] = []
        self.dropped: list[str] = []

    def recorded(self, diffs, outbox):
        self.taken.extend(wire.diff_id(diff) for diff in diffs)

    def rolled_back(self, diff):
        self.dropped.append(wire.diff_id(diff))


@pytest.fixture
def taken(sent):
    with buffer.diverted(Recipient()) as recipient:
        yield recipient


def test_a_diverted_diff_is_handed_over_at_once_and_never_to_the_sink(sent, taken):
    question = Question(pk=1)
    alone = record(sent, question)  # autocommit
    with transaction.atomic():
        inside = record(sent, question)
        assert taken.taken == [alone, inside]
    assert sent.batches == []
    assert taken.dropped == []


def test_a_diverted_diff_whose_savepoint_rolls_back_is_reported(sent, taken):
    question = Question(pk=1)
    with transaction.atomic():
        kept = record(sent, question)
        with pytest.raises(RuntimeError), transaction.atomic():
            gone = record(sent, question)
            raise RuntimeError
        assert taken.dropped == [gone]  # as the savepoint rolled back, not later
    assert taken.taken == [kept, gone]
    assert sent.batches == []


def test_a_diff_diverted_in_a_block_is_not_sent_when_it_commits_after_the_block(sent):
    question = Question(pk=1)
    with transaction.atomic():
        before = record(sent, question)
        with buffer.diverted(Recipient()) as recipient:
            inside = record(sent, question)
        after = record(sent, question)
    assert recipient.taken == [inside]
    assert sent.batches == [[before, after]]
