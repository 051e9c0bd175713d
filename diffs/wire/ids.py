"""Diff ids and change times: a diff's id says when it was made and sorts in that order."""

from __future__ import annotations

import binascii
import random
import re
import threading
import time
from typing import Any

#: 16 characters of the id alphabet (matched with ``fullmatch``: ``$`` would let "\n" through).
ID_PATTERN = re.compile(r"[-0-9A-Z_a-z]{16}")

_clock_lock = threading.Lock()
_last_us = 0

#: base64's 64 digits mapped to the same count of characters in ASCII order, so that ids compare
#: as strings the way their numbers compare.
_SORTED_DIGITS = bytes.maketrans(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
    b"-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz",
)
_RANDOM_BITS = 42  # with 54 bits of microseconds (until the year 2540): 96 bits, 16 characters


def change_time(at: float | None = None) -> tuple[float, str]:
    """Return ``(unix time, diff id)``; times never repeat within a process.

    ``at`` makes the id of a change made at that unix time instead of now (a test's old diff),
    outside the never-repeat rule.

    The id is 16 characters: the time in microseconds, then random bits, written in a base-64
    alphabet whose order is ASCII's, so members with an equal score still sort in the order the
    changes were made. It is short because every stored diff carries it (16 characters instead
    of 24 hex digits keep a two-field change in a smaller Redis allocation).
    """
    global _last_us
    if at is not None:
        now_us = round(at * 1e6)
    else:
        with _clock_lock:
            now_us = time.time_ns() // 1000
            if now_us <= _last_us:
                now_us = _last_us + 1
            _last_us = now_us
    number = now_us << _RANDOM_BITS | random.getrandbits(_RANDOM_BITS)
    return now_us / 1e6, binascii.b2a_base64(number.to_bytes(12, "big"), newline=False).translate(
        _SORTED_DIGITS
    ).decode()


_UNSORTED_DIGITS = bytes.maketrans(
    b"-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz",
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
)


def id_micros(diff_id: str) -> int:
    """Return the unix time, in whole microseconds, of the change a diff id names."""
    number = int.from_bytes(binascii.a2b_base64(diff_id.encode().translate(_UNSORTED_DIGITS)),
                            "big")
    return number >> _RANDOM_BITS


def id_time(diff_id: str) -> float:
    """Return the unix time of the change a diff id names (what :func:`change_time` gave).

    A stored diff's score is its arrival position, not its change time: the change time is
    read from its id, which every stored member starts with.
    """
    return id_micros(diff_id) / 1e6


def is_diff_id(value: Any) -> bool:
    """Return whether ``value`` has the shape of a diff id (16 characters of the id alphabet)."""
    return isinstance(value, str) and ID_PATTERN.fullmatch(value) is not None
