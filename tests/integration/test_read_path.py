"""Reading: windows counted without reading them, unreadable members skipped."""

import pytest

from diffs import wire
from diffs.storage.keys import object_key
from diffs.storage.writer import write_batch
from tests.payloads import batch, diff
from tests.testapp.models import Question

pytestmark = pytest.mark.usefixtures("storage")


def _write(pk, count):
    diffs = [diff(pk, new={"question_text": f"v{n}"}, old={}) for n in range(count)]
    write_batch(batch(*diffs))
    return diffs


def test_len_of_a_time_window_counts_the_diffs_it_holds():
    diffs = _write(1, 20)
    history = Question.diffs.get_by_object_id(1)
    window = history.since(diffs[4][wire.TIME]).until(diffs[14][wire.TIME])
    assert len(window) == 10
    assert [d.id for d in window] == [d[wire.ID] for d in diffs[5:15]]


@pytest.mark.parametrize("garbage", ["{not json", "1", '{"no": "id"}', "[1, 2]"])
def test_unreadable_member_is_skipped_and_the_others_are_read(storage, garbage, caplog):
    diffs = _write(1, 3)
    storage.zadd(object_key("diffs", "testapp.question", 1), {garbage: diffs[1][wire.TIME]})
    read = list(Question.diffs.get_by_object_id(1))
    assert [d.id for d in read] == [d[wire.ID] for d in diffs]
    assert [d.new for d in read] == [d[wire.NEW] for d in diffs]
    assert "unreadable member" in caplog.text
