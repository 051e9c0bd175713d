"""The wire format: diffs as the web process sends them and the worker checks them.

A task carries ``{"v": 1, "diffs": [diff, ...]}``; one diff is a flat JSON object::

    {"i": id, "m": "app.model", "p": pk, "t": unix_time,
     "f": {field: new}, "o": {field: old},        # "o" is absent on create
     "c": 1, "x": 1,                              # created / deleted flags, absent when false
     "d": data,                                   # only when the model defines serialize_diff
     "r": [["app.model", pk], ...]}               # parents, nearest first

Nothing from a payload is trusted: :func:`parse_batch` checks every key, type and size before
the worker writes anything, and rejects the whole diff with a message that says why.
"""

from __future__ import annotations

import base64
import json
import math
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .exceptions import InvalidPayload

VERSION = 1
_ID = re.compile(r"^[-0-9A-Z_a-z]{16}$")
_LABEL = re.compile(r"^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$")
_MAX_PK_LENGTH = 1024
_MAX_PARENTS = 32
_EARLIEST = 946684800.0  # 2000-01-01: anything older is not a real change time

_clock_lock = threading.Lock()
_last_us = 0


#: base64's 64 digits mapped to the same count of characters in ASCII order, so that ids compare
#: as strings the way their numbers compare.
_SORTED_DIGITS = bytes.maketrans(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
    b"-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz",
)
_RANDOM_BITS = 42  # with 54 bits of microseconds (until the year 2540): 96 bits, 16 characters


def change_time() -> tuple[float, str]:
    """Return ``(unix time, diff id)``; times never repeat within a process.

    The id is 16 characters: the time in microseconds, then random bits, written in a base-64
    alphabet whose order is ASCII's, so members with an equal score still sort in the order the
    changes were made. It is short because every stored diff carries it (16 characters instead
    of 24 hex digits keep a two-field change in a smaller Redis allocation).
    """
    global _last_us
    with _clock_lock:
        now_us = time.time_ns() // 1000
        if now_us <= _last_us:
            now_us = _last_us + 1
        _last_us = now_us
    number = now_us << _RANDOM_BITS | random.getrandbits(_RANDOM_BITS)
    return now_us / 1e6, base64.b64encode(number.to_bytes(12, "big")).translate(
        _SORTED_DIGITS
    ).decode()


_encoder = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def dumps(value: Any) -> str:
    """Return compact JSON, the one encoding used on the wire and in Redis."""
    return _encoder.encode(value)


@dataclass(frozen=True)
class CheckedDiff:
    """A diff that passed :func:`parse_batch`, with its Redis members already encoded."""

    id: str
    label: str
    pk: int | str
    timestamp: float
    member: str
    parents: tuple[tuple[str, int | str], ...]
    parent_member: str


_KEYS = frozenset({"i", "m", "p", "t", "f", "o", "c", "x", "d", "r"})


def parse_batch(
    batch: Any,
    *,
    known_label: Callable[[str], bool],
    pk_ok: Callable[[str, Any], bool],
    max_bytes: int,
) -> tuple[list[CheckedDiff], list[str]]:
    """Return the valid diffs of a task payload and one error message per rejected diff."""
    if not isinstance(batch, dict) or batch.get("v") != VERSION:
        return [], [f"not a version {VERSION} diffs batch: {_preview(batch)}"]
    if set(batch) - {"v", "diffs", "pending"}:
        return [], [f"unknown keys {sorted(set(batch) - {'v', 'diffs', 'pending'})} in batch"]
    items = batch.get("diffs")
    if not isinstance(items, list):
        return [], [f"batch has no list of diffs: {_preview(batch)}"]
    good, errors = [], []
    for item in items:
        try:
            good.append(_check(item, known_label, pk_ok, max_bytes))
        except InvalidPayload as exc:
            errors.append(str(exc))
    return good, errors


def _check(
    item: Any,
    known_label: Callable[[str], bool],
    pk_ok: Callable[[str, Any], bool],
    max_bytes: int,
) -> CheckedDiff:
    if not isinstance(item, dict):
        raise InvalidPayload(f"a diff must be an object: {_preview(item)}")
    unknown = item.keys() - _KEYS
    if unknown:
        raise InvalidPayload(f"unknown keys {sorted(unknown)} in diff {_preview(item)}")
    diff_id = item.get("i")
    if not isinstance(diff_id, str) or not _ID.match(diff_id):
        raise InvalidPayload(f"bad or missing id in diff {_preview(item)}")
    label, pk = _check_object(item.get("m"), item.get("p"), known_label, pk_ok, diff_id)
    timestamp: Any = item.get("t")
    if (
        type(timestamp) not in (int, float)
        or not math.isfinite(timestamp)
        or timestamp < _EARLIEST
    ):
        raise InvalidPayload(f"diff {diff_id}: bad change time {timestamp!r}")
    member: dict[str, Any] = {"i": diff_id}
    for flag in ("c", "x"):
        if flag in item:
            if item[flag] not in (0, 1) or isinstance(item[flag], float):
                raise InvalidPayload(f"diff {diff_id}: flag {flag!r} must be 0 or 1")
            if item[flag]:
                member[flag] = 1
    for values in ("f", "o"):
        if values in item:
            if not isinstance(item[values], dict) or not all(
                isinstance(k, str) for k in item[values]
            ):
                raise InvalidPayload(f"diff {diff_id}: {values!r} must map field names to values")
            member[values] = item[values]
    if "f" not in member:
        raise InvalidPayload(f"diff {diff_id}: missing changed fields 'f'")
    if "d" in item:
        member["d"] = item["d"]
    parents = _check_parents(item.get("r", []), known_label, pk_ok, diff_id)
    try:
        encoded = dumps(member)
    except ValueError as exc:  # NaN or infinity: JSON has no such numbers
        raise InvalidPayload(f"diff {diff_id}: a value cannot be stored as JSON: {exc}") from exc
    if len(encoded) * 4 > max_bytes and len(encoded.encode()) > max_bytes:  # UTF-8: <= 4 bytes
        raise InvalidPayload(
            f"diff {diff_id} of {label} pk={pk!r} is {len(encoded.encode())} bytes, over the "
            f"max_diff_bytes limit of {max_bytes}"
        )
    # The copy kept by parents also names the object: dumps({**member, "m": label, "p": pk}).
    origin = f'{encoded[:-1]},"m":{dumps(label)},"p":{dumps(pk)}}}' if parents else encoded
    return CheckedDiff(diff_id, label, pk, float(timestamp), encoded, parents, origin)


def _check_object(
    label: Any, pk: Any, known_label: Callable[[str], bool], pk_ok: Callable[[str, Any], bool],
    diff_id: str,
) -> tuple[str, int | str]:
    if not isinstance(label, str) or not _LABEL.match(label) or not known_label(label):
        raise InvalidPayload(f"diff {diff_id}: unknown model label {_preview(label)}")
    if isinstance(pk, bool) or not isinstance(pk, (int, str)):
        raise InvalidPayload(f"diff {diff_id}: pk of {label} must be an int or a string")
    if isinstance(pk, str) and (not pk or len(pk) > _MAX_PK_LENGTH):
        raise InvalidPayload(f"diff {diff_id}: pk of {label} is empty or too long")
    if not pk_ok(label, pk):
        raise InvalidPayload(f"diff {diff_id}: pk {_preview(pk)} is not a valid pk of {label}")
    return label, pk


def _check_parents(
    parents: Any, known_label: Callable[[str], bool], pk_ok: Callable[[str, Any], bool],
    diff_id: str,
) -> tuple[tuple[str, int | str], ...]:
    if not isinstance(parents, list) or len(parents) > _MAX_PARENTS:
        raise InvalidPayload(f"diff {diff_id}: parents must be a list of at most {_MAX_PARENTS}")
    checked = []
    for parent in parents:
        if not isinstance(parent, list) or len(parent) != 2:
            raise InvalidPayload(f"diff {diff_id}: a parent must be [label, pk]")
        checked.append(_check_object(parent[0], parent[1], known_label, pk_ok, diff_id))
    return tuple(checked)


def _preview(value: Any, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} chars)"

#: The Celery task names, shared by the web side (which sends by name) and ``diffs_tasks``.
WRITE_TASK = "diffs.write"
PRUNE_TASK = "diffs.prune"
RESEND_TASK = "diffs.resend"


def parse_pending(
    batch: Any, known_alias: Callable[[str], bool]
) -> tuple[str, list[tuple[int, str]]]:
    """Return the database alias and ``(row id, diff id)`` pairs a batch asks to confirm."""
    pending = batch.get("pending") if isinstance(batch, dict) else None
    if pending is None:
        return "", []
    if not isinstance(pending, dict) or not isinstance(pending.get("rows"), list):
        raise InvalidPayload(
            f"'pending' must be {{'db': alias, 'rows': [...]}}: {_preview(pending)}"
        )
    alias = pending.get("db")
    if not isinstance(alias, str) or not known_alias(alias):
        raise InvalidPayload(f"'pending' names an unknown database {_preview(alias)}")
    rows = []
    for row in pending["rows"]:
        if (
            not isinstance(row, list) or len(row) != 2 or type(row[0]) is not int
            or not isinstance(row[1], str) or not _ID.match(row[1])
        ):
            raise InvalidPayload(f"a pending row must be [int id, diff id]: {_preview(row)}")
        rows.append((row[0], row[1]))
    return alias, rows
