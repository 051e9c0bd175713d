"""The rules a setting's value must pass, and the problems they report.

A rule is a function that returns the value as the code uses it (a float for a number of
seconds, the imported callable for a dotted path) or raises :class:`Invalid`. :class:`Rule`
adds what a valid value is and the system-check id; :class:`Problem` is what a check and a log
line report. Used by the declarations of :mod:`diffs.conf` and by the storage topology.
"""

from __future__ import annotations

import difflib
import importlib.util
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.utils.module_loading import import_string

T = TypeVar("T")

#: ``Rule.problem``'s ``default`` when the value has no default to name in the hint.
NO_DEFAULT: Any = object()


class Invalid(ValueError):
    """A value a rule refuses; the message, when there is one, says what is wrong with it."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with ``DIFFS_SETTINGS``, as a system check and a log line report it."""

    check_id: str
    message: str
    hint: str
    #: What a process that runs no checks does about it.
    outcome: str = "Using the default instead."

    def __str__(self) -> str:
        return f"{self.message} {self.hint} ({self.check_id})"


@dataclass(frozen=True)
class Rule(Generic[T]):
    """What one value must be: ``parse`` returns it as the code uses it or raises Invalid."""

    parse: Callable[[Any], T]
    expected: str
    check_id: str

    def problem(self, where: str, value: Any, error: Invalid, default: Any = NO_DEFAULT) -> Problem:
        """Return the problem of ``value``, found under ``where``, which ``parse`` refused."""
        reason = f" ({error})" if str(error) else ""
        hint = f"Set it to {self.expected}"
        hint += "." if default is NO_DEFAULT else f", or remove it for the default {default!r}."
        return Problem(self.check_id, f"{where} is {value!r}{reason}.", hint)


def unknown_key(where: str, key: Any, known: list[str], check_id: str) -> Problem:
    """Return the problem of a key ``where`` does not take, with the nearest one it does."""
    near = difflib.get_close_matches(str(key), known, n=1)
    hint = f"Did you mean {near[0]!r}? " if near else ""
    return Problem(check_id, f"{where} has an unknown key {key!r}.",
                   f"{hint}Valid keys: {', '.join(sorted(known))}.", "It is ignored.")


# -- the rules: each returns the value as the code uses it, or raises Invalid --------------------


def positive_int(value: Any) -> int:
    """An int above 0 (not a bool)."""
    if type(value) is int and value > 0:
        return value
    raise Invalid


def non_negative_int(value: Any) -> int:
    """An int of 0 or more (not a bool)."""
    if type(value) is int and value >= 0:
        return value
    raise Invalid


def port(value: Any) -> int:
    """A TCP port number."""
    if type(value) is int and 0 < value < 65536:
        return value
    raise Invalid


def optional_port(value: Any) -> int | None:
    """None or a TCP port number."""
    return None if value is None else port(value)


def metrics_port(value: Any) -> int | None:
    """None, or a TCP port to serve Prometheus metrics on, which needs prometheus-client."""
    chosen = optional_port(value)
    if chosen is not None and not _installed("prometheus_client"):
        raise Invalid("prometheus-client is not installed: pip install 'django-diffs[prometheus]'")
    return chosen


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ImportError:  # a meta path finder that refuses the name
        return False


def positive_number(value: Any) -> float:
    """A finite int or float above 0."""
    if type(value) in (int, float) and math.isfinite(value) and value > 0:
        return float(value)
    raise Invalid


def non_negative_number(value: Any) -> float:
    """A finite int or float of 0 or more."""
    if type(value) in (int, float) and math.isfinite(value) and value >= 0:
        return float(value)
    raise Invalid


def flag(value: Any) -> bool:
    """True or False."""
    if type(value) is bool:
        return value
    raise Invalid


def name(value: Any) -> str:
    """A string that is not blank."""
    if isinstance(value, str) and value.strip():
        return value
    raise Invalid


def optional_string(value: Any) -> str | None:
    """A string or None."""
    if value is None or isinstance(value, str):
        return value
    raise Invalid


def safe_prefix(value: Any) -> str:
    """A string that may start a Redis key: no space, separator, hash tag or glob character."""
    if isinstance(value, str) and value and not any(
        c.isspace() or c in "*?[]\\:{}@" for c in value
    ):
        return value
    raise Invalid


def one_of(*choices: str) -> Callable[[Any], str]:
    """Return the rule that takes one of ``choices``."""

    def rule(value: Any) -> str:
        if isinstance(value, str) and value in choices:
            return value
        raise Invalid

    return rule


def is_key_segment(value: Any) -> bool:
    """Return whether ``value`` may name a database in a Redis key (``diffs:app.model@<it>:pk``)."""
    return (
        isinstance(value, str) and 0 < len(value) <= 64
        and all((c.isalnum() and c.isascii()) or c in "-_" for c in value)
    )


def database_names(value: Any) -> dict[str, str]:
    """A dict from database alias to the short name it takes in keys."""
    if isinstance(value, dict) and all(
        isinstance(alias, str) and is_key_segment(segment) for alias, segment in value.items()
    ):
        return dict(value)
    raise Invalid


def dotted_callable(value: Any) -> Callable[..., Any] | None:
    """None, or the dotted path of a callable: the callable, imported."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise Invalid
    try:
        found = import_string(value)
    except Exception as exc:  # ImportError, or whatever the module raises as it is imported
        raise Invalid(f"it cannot be imported: {type(exc).__name__}: {exc}") from exc
    if not callable(found):
        raise Invalid("it is not callable")
    return found


def block(value: Any) -> dict[str, Any]:
    """A dict, kept as it is (the ``redis`` block; :mod:`diffs.storage.topology` reads it)."""
    if isinstance(value, dict):
        return value
    raise Invalid
