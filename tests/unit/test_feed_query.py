"""The feed's query parameters and cursors, checked without a request: every refusal says which
parameter is wrong (the 400 answers themselves are integration tests)."""

from __future__ import annotations

import pytest
from django.test import override_settings

from diffs.web import cursor
from diffs.web.feed import BadQuery, Query, parse_query


def test_cursor_round_trips_a_position_and_the_start():
    position = (1764633600.123456, "-Q3vKk2VY0pYh0aV")
    assert cursor.decode("testapp.question", 1, cursor.encode("testapp.question", 1,
                                                              position)) == position
    assert cursor.decode("testapp.question", 1, cursor.encode("testapp.question", 1,
                                                              None)) is None


def test_a_signed_cursor_that_holds_no_position_is_refused():
    forged = cursor._signer("testapp.question", 1).sign_object([1.5, "not an id"])
    with pytest.raises(cursor.BadCursor):
        cursor.decode("testapp.question", 1, forged)


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"limit": "-1"}, "limit"),
        ({"limit": "٣"}, "limit"),  # a digit, but not an ASCII one
        ({"wait": "-1"}, "wait"),
        ({"wait": "nan"}, "wait"),
        ({"wait": "999"}, "wait"),
        ({"wait": "soon"}, "wait"),
        ({"delta": "yes"}, "delta"),
        ({"cursor": "garbage"}, "cursor"),
        ({"fields": " , "}, "fields"),
        ({"fields": "a", "delta": "1"}, "delta"),
    ],
)
def test_bad_query_is_refused_saying_which_parameter(query, error):
    with pytest.raises(BadQuery) as refused:
        parse_query(query, "testapp.question", 1)
    assert str(refused.value).startswith(error)


@override_settings(DIFFS_SETTINGS={"feed_limit": 2, "feed_max_limit": 4, "feed_max_wait": 30})
def test_a_good_query_is_parsed_and_a_missing_parameter_takes_its_default():
    assert parse_query({}, "testapp.question", 1) == Query(None, 2, False, 0.0)
    assert parse_query({"limit": "4", "delta": "true", "wait": "2.5"}, "testapp.question",
                       1) == Query(None, 4, True, 2.5)


def test_fields_are_split_on_commas():
    assert parse_query({"fields": "a, b,,a"}, "testapp.question", 1).fields == {"a", "b"}
    assert parse_query({}, "testapp.question", 1).fields is None


def test_a_model_feeds_cursor_is_not_an_objects():
    position = (1764633600.123456, "-Q3vKk2VY0pYh0aV")
    issued = cursor.encode("testapp.ticket", None, position)
    assert cursor.decode("testapp.ticket", None, issued) == position
    with pytest.raises(cursor.BadCursor):
        cursor.decode("testapp.ticket", "None", issued)
