"""The feed's cursor: an exact position in one feed, signed, opaque to clients.

It holds a diff's arrival position, ``(score, id)`` (see :mod:`diffs.reading.page`), signed
with the project's ``SECRET_KEY`` and salted with the label and the object's pk (None for a
model's feed): a cursor that was altered, forged, or issued for another feed fails to decode.
Nothing in a request is trusted.
"""

from __future__ import annotations

import math
from typing import Any

from django.core import signing

from ..exceptions import DiffsError
from ..reading.page import Position
from ..wire import is_diff_id

SALT = "diffs.feed.cursor"


class BadCursor(DiffsError, ValueError):
    """A ``cursor`` that this feed did not issue for this object."""


def _signer(label: str, pk: int | str | None) -> signing.Signer:
    return signing.Signer(salt=f"{SALT}:{label}:{pk!r}")


def encode(label: str, pk: int | str | None, position: Position | None) -> str:
    """Return the cursor of ``position`` in the feed of ``label``/``pk`` (None: the start; a
    ``pk`` of None: the model's feed)."""
    value: list[Any] = [] if position is None else [position[0], position[1]]
    return _signer(label, pk).sign_object(value)


def decode(label: str, pk: int | str | None, text: str) -> Position | None:
    """Return the position a cursor holds; raise ``BadCursor`` for anything else."""
    try:
        value = _signer(label, pk).unsign_object(text)
    except (signing.BadSignature, ValueError, TypeError) as exc:
        raise BadCursor("cursor is not one this feed issued for this object") from exc
    if value == []:
        return None
    if (
        not isinstance(value, list) or len(value) != 2
        or type(value[0]) not in (int, float) or not math.isfinite(value[0])
        or not is_diff_id(value[1])
    ):
        raise BadCursor("cursor does not hold a position")
    return (float(value[0]), value[1])
