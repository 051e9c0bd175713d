"""The one JSON encoding used on the wire and in Redis, and primary keys as they travel."""

from __future__ import annotations

import json
from typing import Any

_encoder = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)

#: ``_encoder.encode`` builds this C encoder anew on every call (with a fresh dict of the
#: containers it is inside of, against circular references), which cost two thirds of
#: encoding a diff's member. Built once, with the same arguments, and without that dict: what
#: is encoded here is a tree (parsed JSON, or values recorded from a saved row), and a
#: circular value still fails (``RecursionError``) instead of being written. Where CPython's
#: ``_json`` is missing, ``_encoder.encode`` does it all. Output is the same text
#: (``tests/unit/test_wire.py`` pins it against ``json.dumps``).
_c_make_encoder = getattr(json.encoder, "c_make_encoder", None)
_c_encode = None if _c_make_encoder is None else _c_make_encoder(
    None, _encoder.default, json.encoder.encode_basestring, None, ":", ",", False, False,
    False,
)


def dumps(value: Any) -> str:
    """Return compact JSON, the one encoding used on the wire and in Redis."""
    if _c_encode is None:
        return _encoder.encode(value)
    return "".join(_c_encode(value, 0))


def encode_pk(value: Any) -> int | str:
    """Return a primary key as it travels in payloads and names Redis keys (int or str)."""
    if type(value) is int or type(value) is str:
        return value
    if isinstance(value, bool):
        raise TypeError("a bool is not a primary key")
    if isinstance(value, int):
        return int(value)
    return str(value)
