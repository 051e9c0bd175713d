"""The one JSON encoding used on the wire and in Redis, and primary keys as they travel."""

from __future__ import annotations

import json
from typing import Any

_encoder = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def dumps(value: Any) -> str:
    """Return compact JSON, the one encoding used on the wire and in Redis."""
    return _encoder.encode(value)


def encode_pk(value: Any) -> int | str:
    """Return a primary key as it travels in payloads and names Redis keys (int or str)."""
    if type(value) is int or type(value) is str:
        return value
    if isinstance(value, bool):
        raise TypeError("a bool is not a primary key")
    if isinstance(value, int):
        return int(value)
    return str(value)
