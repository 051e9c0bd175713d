"""Field values to JSON, exactly as ``django.core.serializers``' JSON format writes them.

The serializers framework builds a whole serializer object per call; doing that on every save
is most of the cost of the naive design. This module gives the same values field by field:
primitives pass through untouched, Django's "protected" types (dates, times, decimals) go
through ``DjangoJSONEncoder``, and everything else through ``field.value_to_string()``, as the
serializers do.
"""

from __future__ import annotations

import datetime
import decimal
import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

_PASS_THROUGH = frozenset({type(None), bool, int, str, float})
_PROTECTED = (datetime.datetime, datetime.date, datetime.time, decimal.Decimal)
_encoder = DjangoJSONEncoder()


class _Holder:
    """Stands in for a model instance so ``value_to_string()`` can read one attribute."""

    __slots__ = ("__dict__",)

    def __init__(self, attname: str, value: Any) -> None:
        self.__dict__[attname] = value


def encode_value(field: models.Field, value: Any) -> Any:
    """Return the JSON-safe value the serializers would write for ``value`` of ``field``."""
    kind = type(value)
    if kind in _PASS_THROUGH:
        return value
    if isinstance(value, _PROTECTED):
        return _encoder.default(value)
    # value_to_string() reads one attribute: the holder stands in for a model instance.
    text = field.value_to_string(_Holder(field.attname, value))  # type: ignore[arg-type]
    if type(text) in _PASS_THROUGH:
        return text
    # A JSONField hands back its Python value: make it plain JSON once.
    return json.loads(json.dumps(text, cls=DjangoJSONEncoder))
