"""A primary key that cannot name a history is refused when the change is recorded (issue 22,
item 8): an empty string, or more than ``wire.MAX_PK_LENGTH`` characters.

A worker refuses such a diff, so it is refused in the web process instead, where the log names
the model and the save goes on (with ``raise_errors``, the save raises ``RecordingError``).
"""

from __future__ import annotations

import pytest

from diffs import wire
from diffs.exceptions import RecordingError
from diffs.recording import bulk, handlers
from diffs.registry import get_registration
from diffs.transport import sink
from tests.testapp.models import Question, Tag

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sent():
    """Return the diffs committed transactions hand to the sink (nothing is published)."""
    found: list[dict] = []
    with sink.replaced(lambda diffs, outbox=None: found.extend(diffs)):
        yield found


@pytest.fixture
def logged(settings, diffs_log):
    """Record errors in the log instead of raising them (the default setting)."""
    settings.DIFFS_SETTINGS = {**settings.DIFFS_SETTINGS, "raise_errors": False}
    return diffs_log


def test_an_empty_pk_is_not_recorded_and_the_log_names_the_model(sent, logged):
    before = handlers.errors["pk"]
    tag = Tag.objects.create(code="", name="nameless")
    tag.name = "still nameless"
    tag.save()
    tag.delete()
    assert sent == []
    assert Tag.objects.count() == 0  # the saves and the delete themselves went ahead
    assert len(logged) == 3 and handlers.errors["pk"] == before + 3
    assert all("a change of testapp.tag pk='' is not recorded: an empty primary key names no "
               "history" in record.getMessage() for record in logged)


def test_a_pk_too_long_to_name_a_history_is_not_recorded(sent, logged):
    Tag.objects.create(code="x" * (wire.MAX_PK_LENGTH + 1), name="long")
    Tag.objects.create(code="y" * wire.MAX_PK_LENGTH, name="longest")
    assert [d[wire.PK] for d in sent] == ["y" * wire.MAX_PK_LENGTH]
    (record,) = logged
    assert f"its primary key is {wire.MAX_PK_LENGTH + 1} characters" in record.getMessage()


def test_with_raise_errors_the_save_raises(sent):
    with pytest.raises(RecordingError, match=r"testapp\.tag pk='' is not recorded"):
        Tag.objects.create(code="", name="nameless")
    assert sent == []


def test_bulk_writes_refuse_it_too(sent, logged):
    registration = get_registration(Tag)
    written = [Tag(code="", name="a"), Tag(code="b", name="b")]
    assert bulk.record_written(registration, written, "default", None, created=True) == 1
    (record,) = logged
    assert "testapp.tag pk=''" in record.getMessage()


def test_a_parent_with_an_empty_pk_is_left_out_and_logged(sent, logged):
    question = Question(question_text="child")
    question.get_diff_parent = lambda: Tag(code="", name="parent")
    question.save()
    (diff,) = sent
    assert wire.PARENTS not in diff  # no parent
    (record,) = logged
    assert "without a pk (unsaved, or an empty string)" in record.getMessage()
