"""A diff's ``data`` holds exactly what ``django.core.serializers``' JSON gives, field by field."""

import datetime
import decimal
import json
import uuid

import pytest
from django.core import serializers

from tests.integration.conftest import stored
from tests.testapp.models import AllTypes, Question, Token

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("delivery")]

VALUES = {
    "char": "text with ünïcode",
    "text": "long\ntext",
    "integer": -42,
    "big": 2**40,
    "decimal": decimal.Decimal("12.50"),
    "floating": 3.25,
    "boolean": True,
    "date": datetime.date(2024, 2, 29),
    "moment": datetime.datetime(2024, 2, 29, 13, 45, 12, 345678, tzinfo=datetime.timezone.utc),
    "time": datetime.time(8, 30, 15, 250000),
    "duration": datetime.timedelta(days=1, hours=2, microseconds=5),
    "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "data": {"nested": [1, 2.5, None, "x"], "flag": True},
    "email": "a@example.com",
    "slug": "a-slug",
    "nullable": None,
}


def serializers_json(instance):
    """Return ``{"model", "pk", "fields"}`` as the serializers' JSON format writes them."""
    fresh = type(instance).objects.get(pk=instance.pk)
    return json.loads(serializers.serialize("json", [fresh]))[0]


def test_every_common_field_type_matches_the_serializers_on_create():
    question = Question.objects.create(question_text="fk target")
    row = AllTypes.objects.create(question=question, **VALUES)
    (diff,) = stored(row.diffs, 1)
    expected = serializers_json(row)
    assert diff.data == expected
    assert diff.data["fields"]["question"] == question.pk


def test_every_common_field_type_matches_the_serializers_on_update():
    row = AllTypes.objects.create()
    row = AllTypes.objects.get(pk=row.pk)
    for name, value in VALUES.items():
        setattr(row, name, value)
    row.save()
    _, diff = stored(row.diffs, 2)
    expected = serializers_json(row)
    changed = {name: expected["fields"][name] for name in diff.new}
    assert diff.data == {"model": expected["model"], "pk": expected["pk"], "fields": changed}
    assert set(diff.new) == set(VALUES) - {"nullable"}  # it was None already


def test_nullable_fields_set_back_to_null_are_recorded_as_null():
    row = AllTypes.objects.create(**VALUES)
    row = AllTypes.objects.get(pk=row.pk)
    row.date = row.moment = row.uuid = row.data = None
    row.save()
    _, diff = stored(row.diffs, 2)
    assert diff.new == {"date": None, "moment": None, "uuid": None, "data": None}
    assert diff.old["uuid"] == str(VALUES["uuid"])


def test_uuid_primary_key_travels_as_its_string():
    token = Token.objects.create(name="t")
    (diff,) = stored(token.diffs, 1)
    assert diff.data == serializers_json(token)
    assert diff.pk == str(token.pk)
    assert len(Token.diffs.get_by_object_id(str(token.pk))) == 1
