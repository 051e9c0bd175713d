"""The change context's rules: a small JSON object, checked on both sides of the wire.

The recording side checks a context before it joins a diff (a bad one is replaced by a
stand-in, so the worker never refuses the whole diff); the worker checks it again, as it checks
everything in a payload.
"""

from __future__ import annotations

from typing import Any

from .encoding import dumps
from .schema import MAX_CONTEXT_BYTES, MAX_CONTEXT_DEPTH, MAX_CONTEXT_NAME


class InvalidPayload(ValueError):
    """A task payload or stored member failed validation; it is never written."""


def check_context(context: Any) -> None:
    """Raise ``InvalidPayload`` saying why ``context`` is no valid change context.

    A change context is a JSON object of at most ``MAX_CONTEXT_BYTES`` encoded, whose names are
    1 to ``MAX_CONTEXT_NAME`` characters and whose values are JSON scalars, lists and objects
    nested at most ``MAX_CONTEXT_DEPTH`` deep (counting the context itself).
    """
    if not isinstance(context, dict):
        raise InvalidPayload(f"the change context must be an object: {preview(context)}")
    for name, value in context.items():
        if not isinstance(name, str) or not 0 < len(name) <= MAX_CONTEXT_NAME:
            raise InvalidPayload(
                f"a change context name must be 1 to {MAX_CONTEXT_NAME} characters: "
                f"{preview(name)}"
            )
        if value is not None and type(value) not in _JSON_SCALARS:
            _check_json_value(value, 2)
    try:
        size = len(dumps(context).encode())
    except ValueError as exc:  # NaN or infinity
        raise InvalidPayload(f"the change context cannot be stored as JSON: {exc}") from exc
    if size > MAX_CONTEXT_BYTES:
        raise InvalidPayload(
            f"the change context is {size} bytes, over the limit of {MAX_CONTEXT_BYTES}"
        )


_JSON_SCALARS = (str, int, float, bool)


def _check_json_value(value: Any, depth: int) -> None:
    """Raise ``InvalidPayload`` unless ``value`` is plain JSON at most ``MAX_CONTEXT_DEPTH``."""
    if value is None or type(value) in _JSON_SCALARS:
        return
    if type(value) not in (dict, list):
        raise InvalidPayload(
            f"a change context value must be JSON, not {type(value).__name__}: "
            f"{preview(value)}"
        )
    if depth > MAX_CONTEXT_DEPTH:
        raise InvalidPayload(f"the change context nests deeper than {MAX_CONTEXT_DEPTH}")
    if type(value) is dict:
        if not all(isinstance(key, str) for key in value):
            raise InvalidPayload(f"a change context object's names must be strings: "
                                 f"{preview(value)}")
        value = value.values()
    for inner in value:
        _check_json_value(inner, depth + 1)


def preview(value: Any, limit: int = 120) -> str:
    """Return ``repr(value)`` cut to ``limit`` characters, for an error message."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} chars)"
