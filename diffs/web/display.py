"""A diff's fields and values as the admin shows them: verbose names, and values as Python.

A diff holds JSON (a date is its ISO string, a decimal a string); the admin's history page
shows what the admin shows elsewhere: the field's verbose name, a choice's label, a boolean's
icon, numbers formatted, a foreign key as its object. Dates and times keep their seconds, as
the change form's inputs show them (the changelist's format drops them, so two edits a few
seconds apart would look alike). A value that cannot be read as the field's type any more (the
field changed since) is shown as it is stored.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib.admin.utils import display_for_field, display_for_value
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils import formats, timezone
from django.utils.text import capfirst

from ..wire import OMITTED


def field_label(model: type[models.Model] | None, name: str) -> str:
    """Return the verbose name of ``model``'s field ``name``, capitalised; else ``name``."""
    field = _field(model, name)
    return name if field is None else str(capfirst(field.verbose_name))


def moment(value: datetime.datetime) -> str:
    """Return a date and time in the current time zone, to the second."""
    return str(formats.localize_input(timezone.localtime(value) if timezone.is_aware(value)
                                      else value))


def value_display(model: type[models.Model] | None, name: str, value: Any, empty: str) -> Any:
    """Return ``value`` of ``model``'s field ``name`` as the admin shows it (``empty``: None)."""
    if isinstance(value, dict) and OMITTED in value:
        return f"({value[OMITTED]}, {value.get('size', '?')} characters, not recorded)"
    field = _field(model, name)
    if field is None:
        return display_for_value(value, empty)
    if field.many_to_many:
        return _rows(field, value, empty)
    if not field.is_relation:
        value = _python(field, value)
    if isinstance(value, datetime.datetime):
        return moment(value)
    if isinstance(value, datetime.time):
        return formats.localize_input(value)
    if isinstance(field, models.FileField):
        return display_for_value(value, empty)  # a name: the file may be gone since
    try:
        return display_for_field(value, field, empty)
    except Exception:  # a value the field no longer displays (its type changed since)
        return display_for_value(value, empty)


def _field(model: type[models.Model] | None, name: str) -> Any:
    if model is None:
        return None
    try:
        return model._meta.get_field(name)
    except FieldDoesNotExist:
        return None


def _python(field: models.Field, value: Any) -> Any:
    """Return the stored JSON ``value`` as the field's Python value (as it is, if it cannot)."""
    if value is None:
        return None
    try:
        return field.to_python(value)
    except Exception:
        return value


def _rows(field: Any, value: Any, empty: str) -> Any:
    """Return many-to-many rows as the objects they point at, comma separated."""
    if not isinstance(value, list):
        return display_for_value(value, empty)
    target = field.m2m_reverse_field_name()
    shown = [row.get(target, row) if isinstance(row, dict) else row for row in value]
    return ", ".join(str(item) for item in shown) if shown else empty
