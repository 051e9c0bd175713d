"""Reading: windows counted without reading them, unreadable members skipped."""

import pytest

from diffs.payload import change_time
from diffs.writer import write_batch
from tests.testapp.models import Question

pytestmark = pytest.mark.usefixtures("storage")


def _write(pk, count):
    diffs = []
    for n in range(count):
        timestamp, diff_id = change_time()
        diffs.append({"i": diff_id, "m": "testapp.question", "p": pk, "t": timestamp,
                      "f": {"question_text": f"v{n}"}, "o": {}})
    write_batch({"v": 1, "diffs": diffs})
    return diffs


def test_len_of_a_time_window_counts_the_diffs_it_holds():
    diffs = _write(1, 20)
    window = Question.diffs.get_by_object_id(1).since(diffs[4]["t"]).until(diffs[14]["t"])
    assert len(window) == 10
    assert [d.id for d in window] == [d["i"] for d in diffs[5:15]]


@pytest.mark.parametrize("garbage", ["{not json", "1", '{"no": "id"}', "[1, 2]"])
def test_unreadable_member_is_skipped_and_the_others_are_read(storage, garbage, caplog):
    diffs = _write(1, 3)
    storage.zadd("diffs:testapp.question:1", {garbage: diffs[1]["t"]})
    read = list(Question.diffs.get_by_object_id(1))
    assert [d.id for d in read] == [d["i"] for d in diffs]
    assert [d.new for d in read] == [d["f"] for d in diffs]
    assert "unreadable member" in caplog.text
