"""Net change from the diffs alone: what ``net_delta`` asks for, and stored values the model no
longer fits. Deltas of recorded histories are integration tests."""

from diffs import DeletedObject, ModelChange, ModelDelta
from diffs.reading.delta import net_delta
from diffs.reading.diff import Diff
from diffs.reading.related import with_objects
from diffs.registry import get_registration
from tests.testapp.models import HistoryChoice, HistoryPoll


def test_net_delta_asks_for_earlier_diffs_only_when_it_needs_them():
    def diff(id_, new, old=None, **flags):
        return Diff(id=id_, model="testapp.historypoll", pk=1, timestamp=1.7e9 + int(id_, 16),
                    new=new, old=old or {}, **flags)

    def never():
        raise AssertionError("earlier() was called")

    known = diff("1" * 24, {"question": "b"}, {"question": "a"})
    assert net_delta([known], old_record=None, new_record=known, earlier=never).changes == [
        ModelChange("question", "a", "b")
    ]
    created = diff("0" * 24, {"question": "a"}, created=True)
    blind = diff("2" * 24, {"question": "c"})
    delta = net_delta([blind], old_record=created, new_record=blind, earlier=lambda: [created])
    assert delta.changes == [ModelChange("question", "a", "c")]
    deleted = diff("1" * 24, {}, {"question": "a"}, deleted=True)
    delta = net_delta([blind], old_record=deleted, new_record=blind,
                      earlier=lambda: [created, deleted])
    assert delta.changes == [ModelChange("question", None, "c")]


def test_stored_values_the_model_no_longer_fits_are_kept_or_count_as_deleted():
    delta = ModelDelta(None, None, ["categories", "gone", "poll"], [
        ModelChange("categories", "not a list", []),
        ModelChange("gone", 1, 2),  # a field since removed from the model
        ModelChange("poll", "not a pk", None),
    ])
    assert with_objects(delta, get_registration(HistoryChoice)).changes == [
        ModelChange("categories", "not a list", []),
        ModelChange("gone", 1, 2),
        ModelChange("poll", DeletedObject(HistoryPoll, "not a pk"), None),
    ]
    polls = with_objects(delta, get_registration(HistoryPoll)).changes
    assert polls[0] == ModelChange("categories", "not a list", [])
