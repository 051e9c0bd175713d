"""A save that changes nothing records nothing, for every field type Django ships.

File and image fields are the trap: the instance holds a ``FieldFile``, the saved state its name,
and the two used to compare unequal, so every save recorded them as changed, old == new.
"""

from __future__ import annotations

import datetime
import decimal
import io
import uuid

import django
import pytest
from django.core.files.base import ContentFile
from PIL import Image

from tests.testapp.models import EveryField, Question, Survey, Tag

pytestmark = pytest.mark.django_db(transaction=True)


def png() -> ContentFile:
    buffer = io.BytesIO()
    Image.new("RGB", (3, 2), "red").save(buffer, format="PNG")
    return ContentFile(buffer.getvalue(), name="red.png")


@pytest.fixture
def row(delivery, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    question = Question.objects.create(question_text="q")
    survey = Survey.objects.create(name="s")
    made = EveryField(
        big=2**40, binary=b"\x00\xffbytes", boolean=True, char="chars",
        date=datetime.date(2024, 2, 29),
        moment=datetime.datetime(2024, 2, 29, 13, 45, 12, 345678, tzinfo=datetime.timezone.utc),
        decimal=decimal.Decimal("12.500"), duration=datetime.timedelta(days=1, microseconds=5),
        email="a@example.com", path="/etc", floating=2.5, ip="2001:db8::1", integer=-7,
        data={"nested": [1, 2.5, None, "x"]}, positive_big=2**50, positive_small=7,
        slug="a-slug", small=-3, text="long\ntext", time=datetime.time(8, 30, 15, 250000),
        url="https://example.com/a", uuid=uuid.UUID(int=12345), question=question, one=survey,
    )
    made.file.save("notes.txt", ContentFile(b"file contents"), save=False)
    made.image.save("red.png", png(), save=False)
    made.save()
    made.tags.add(Tag.objects.create(code="t", name="tag"))
    assert len(made.diffs) == 2  # the create, then the tags
    return made


def test_every_field_was_recorded_on_create(row):
    created = row.diffs[0]
    assert created.created
    assert set(created.new) == {f.name for f in EveryField._meta.concrete_fields} - {"id"}
    assert created.new["file"] == row.file.name
    assert created.new["image"] == row.image.name
    assert (created.new["width"], created.new["height"]) == (3, 2)


def test_saving_the_same_instance_again_records_nothing(row):
    row.save()
    assert len(row.diffs) == 2


def test_saving_a_freshly_loaded_instance_records_nothing(row):
    loaded = EveryField.objects.get(pk=row.pk)
    loaded.save()
    loaded.save()
    assert len(row.diffs) == 2


def test_a_changed_file_is_recorded_by_name(row):
    loaded = EveryField.objects.get(pk=row.pk)
    before = loaded.file.name
    loaded.file.save("other.txt", ContentFile(b"other"), save=True)
    change = row.diffs[-1]
    assert change.old == {"file": before}
    assert change.new == {"file": loaded.file.name}


@pytest.mark.skipif(django.VERSION < (5, 0), reason="GeneratedField is new in Django 5.0")
def test_a_generated_field_is_not_recorded_and_a_no_op_save_records_nothing(delivery):
    from tests.generatedapp.models import Generated

    row = Generated.objects.create(base=2)
    loaded = Generated.objects.get(pk=row.pk)
    assert loaded.doubled == 4
    loaded.save()
    loaded.base = 3
    loaded.save()
    created, changed = row.diffs  # the no-op save recorded nothing
    assert created.new == {"base": 2}  # the database computes "doubled" from "base"
    assert (changed.old, changed.new) == ({"base": 2}, {"base": 3})
