"""The worker's write path: JSON text payloads, one-script writes, the prune index, TTLs."""

import logging
import math

import pytest

from diffs import wire
from diffs.storage.keys import bucket_of, index_key, object_key, object_name
from diffs.storage.writer import write_batch
from tests.payloads import batch, diff

pytestmark = pytest.mark.usefixtures("storage")


def _diff(pk=1, label="testapp.question", parents=(), **values):
    return diff(pk, label, values or None, old={}, parents=parents)


def test_batch_sent_as_json_text_is_stored_like_a_dict(storage):
    diffs = [_diff(pk=1), _diff(pk=2)]
    result = write_batch(wire.dumps(batch(*diffs)))
    assert (result.written, result.added, result.rejected) == (2, 2, 0)
    assert storage.zcard(object_key("diffs", "testapp.question", 1)) == 1
    assert storage.zcard(object_key("diffs", "testapp.question", 2)) == 1


def test_batch_text_that_is_not_json_is_rejected_and_logged(storage, caplog):
    with caplog.at_level(logging.ERROR, logger="diffs"):
        result = write_batch('{"v": 1, "diffs": [')
    assert (result.written, result.rejected) == (0, 1)
    assert "not JSON" in caplog.text
    assert storage.dbsize() == 0


def test_diff_holding_a_value_json_cannot_store_is_rejected_alone(storage, caplog):
    good, bad = _diff(pk=1), _diff(pk=2, question_text=math.nan)
    with caplog.at_level(logging.ERROR, logger="diffs"):
        result = write_batch(batch(good, bad))
    assert (result.written, result.rejected) == (1, 1)
    assert bad[wire.ID] in caplog.text
    assert storage.exists(object_key("diffs", "testapp.question", 1))
    assert not storage.exists(object_key("diffs", "testapp.question", 2))


def test_writing_the_same_batch_twice_stores_each_diff_once(storage):
    envelope = batch(*(_diff(parents=[("testapp.survey", 9)]) for _ in range(3)))
    assert write_batch(envelope).added == 6
    assert write_batch(envelope).added == 0
    assert storage.zcard(object_key("diffs", "testapp.question", 1)) == 3
    assert storage.zcard(object_key("diffs", "testapp.survey", 9)) == 3


def test_written_keys_get_their_model_max_age_as_ttl(storage):
    write_batch(batch(_diff(label="testapp.note", title="t"), _diff(pk=5)))
    assert 0 < storage.ttl(object_key("diffs", "testapp.note", 1)) <= 60
    assert 60 < storage.ttl(object_key("diffs", "testapp.question", 5)) <= 3600


def test_prune_index_keeps_the_position_of_a_keys_oldest_member(storage):
    write_batch(batch(_diff()))
    key = object_key("diffs", "testapp.question", 1)
    index = index_key("diffs", bucket_of(object_name("testapp.question", 1)), "testapp.question")
    ((_, oldest),) = storage.zrange(key, 0, 0, withscores=True)
    assert storage.zscore(index, key) == oldest
    write_batch(batch(_diff()))
    assert storage.zscore(index, key) == oldest


def test_one_write_can_add_thousands_of_members_to_one_key(storage):
    diffs = [_diff(pk=n, parents=[("testapp.survey", 1)]) for n in range(1, 2501)]
    result = write_batch(batch(*diffs))
    assert (result.written, result.added) == (2500, 5000)
    assert storage.zcard(object_key("diffs", "testapp.survey", 1)) == 2500

