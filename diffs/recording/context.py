"""The change context: who made a change, for which request or job, carried by every diff.

``diffs.context(actor=user, reason="import")`` is a block (a context manager, or a decorator of
sync and async functions) whose values every diff recorded inside it carries, and
``diffs.disabled()`` a block inside which nothing is recorded. Both live in one
``contextvars.ContextVar``, so each thread and each asyncio task sees its own blocks; nested
blocks merge, the inner one winning.

Values are read when a diff is recorded, not when the block is entered: a callable is called,
a lazy object (``SimpleLazyObject``, ``gettext_lazy``) is evaluated, a model instance becomes
its pk (so a user logged in later in a view is seen); a value that is None then leaves its name
out. Anything else JSON cannot hold becomes its text. The result is checked against the wire
format's rules (:func:`diffs.wire.check_context`) before it joins a diff: one that breaks them
is logged and the diff records a stand-in instead, so the worker never refuses the whole diff.

Every recording path asks this module two things, and nothing else: :func:`recording_enabled`
before it does any work, and :func:`current` for the context of the diff it builds.
"""

from __future__ import annotations

import datetime
import functools
import logging
import math
from collections.abc import Callable, Mapping
from contextvars import ContextVar, Token
from typing import Any, TypeVar, cast

from asgiref.sync import iscoroutinefunction
from django.db.models import Model
from django.utils.functional import LazyObject, Promise, empty

from .. import wire
from ..conf import diffs_settings
from ..exceptions import RecordingError

logger = logging.getLogger("diffs")

#: ``provider()``: the values of a block known only once a diff is recorded (a request's).
Provider = Callable[[], Mapping[str, Any]]

FuncT = TypeVar("FuncT", bound=Callable[..., Any])


class Frame:
    """One entered block: its own values (or a provider of them) on top of the outer blocks'.

    A frame whose values, and whose outer frames' values, need nothing resolved keeps its
    resolved and checked context after the first diff, so the common case costs a dict copy.
    """

    __slots__ = ("_cached", "_merged_cache", "disabled", "parent", "provider", "static", "values")
    parent: Frame | None
    values: dict[str, Any]
    provider: Provider | None
    disabled: bool
    static: bool

    def __init__(
        self,
        parent: Frame | None,
        values: Mapping[str, Any] | None = None,
        provider: Provider | None = None,
        disabled: bool = False,
    ) -> None:
        self.parent = parent
        self.values = dict(values or {})
        self.provider = provider
        self.disabled = disabled or (parent is not None and parent.disabled)
        self.static = (
            provider is None
            and (parent is None or parent.static)
            and all(_is_plain(value, 1) for value in self.values.values())
        )
        self._cached: dict[str, Any] | None = None
        self._merged_cache: dict[str, Any] | None = None

    def resolved(self) -> dict[str, Any]:
        """Return the merged values of this frame and the outer ones, resolved and checked."""
        if self._cached is not None:
            return self._cached
        found = self._merged()
        try:
            wire.check_context(found)
        except wire.InvalidPayload as exc:
            found = _refused(found, exc)
        if self.static:
            self._cached = found
        return found

    def _merged(self) -> dict[str, Any]:
        """Return the values of this frame over the outer ones', resolved (a new dict)."""
        if self._merged_cache is not None:
            return dict(self._merged_cache)
        found = {} if self.parent is None else self.parent._merged()
        layer = self.values
        if self.provider is not None:
            try:
                layer = dict(self.provider())
            except Exception as exc:
                _failed("the change context provider raised", exc)
                layer = {}
        for name, value in layer.items():
            try:
                resolved = _resolve(value)
            except Exception as exc:
                _failed(f"the change context value {name!r} could not be read", exc)
                resolved = None
            if resolved is None:
                found.pop(name, None)
            else:
                found[name] = resolved
        if self.static:
            self._merged_cache = dict(found)
        return found


_frame: ContextVar[Frame | None] = ContextVar("diffs_context", default=None)


def current() -> dict[str, Any] | None:
    """Return the change context of a diff recorded now (a new dict), or None when there is none.

    Recording code calls it once per diff it builds (or once for a bulk operation's diffs) and
    passes it to :func:`diffs.wire.new_diff` as ``context``.
    """
    frame = _frame.get()
    if frame is None:
        return None
    found = frame.resolved()
    return dict(found) if found else None


def recording_enabled() -> bool:
    """Return whether a change made now is recorded: ``enabled`` and outside ``disabled()``."""
    frame = _frame.get()
    return (frame is None or not frame.disabled) and diffs_settings.enabled


class Block:
    """A ``with`` block that enters a :class:`Frame`, also usable as a decorator.

    Leaving restores the frame found on entry in the same thread or task, so one block object
    may be shared (a module-level decorator) by any number of threads and tasks at once.
    """

    def __init__(
        self,
        values: Mapping[str, Any] | None = None,
        provider: Provider | None = None,
        disabled: bool = False,
    ) -> None:
        self.values = dict(values or {})
        self.provider = provider
        self.disabled = disabled

    def __enter__(self) -> None:
        _frame.set(Frame(_frame.get(), self.values, self.provider, self.disabled))

    def __exit__(self, *exc_info: Any) -> None:
        frame = _frame.get()
        _frame.set(None if frame is None else frame.parent)

    def __call__(self, func: FuncT) -> FuncT:
        """Return ``func`` (sync or async) running inside this block at every call."""
        if iscoroutinefunction(func):

            @functools.wraps(func)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                with self:
                    return await func(*args, **kwargs)

            return cast(FuncT, run_async)

        @functools.wraps(func)
        def run(*args: Any, **kwargs: Any) -> Any:
            with self:
                return func(*args, **kwargs)

        return cast(FuncT, run)


def context(**values: Any) -> Block:
    """Return a block whose values every diff recorded inside it carries (inner blocks win)."""
    return Block(values)


def disabled() -> Block:
    """Return a block inside which no save, delete or many-to-many change is recorded."""
    return Block(disabled=True)


def provided(provider: Provider) -> Block:
    """Return a block whose values ``provider()`` returns, called at the first diff recorded.

    Its values may themselves be callables or lazy objects, read again for each diff.
    """
    return Block(provider=_once(provider))


def enter(values: Mapping[str, Any]) -> Token[Frame | None]:
    """Enter a block of ``values`` until :func:`leave` (for code that has no ``with``: signals)."""
    return _frame.set(Frame(_frame.get(), values))


def leave(token: Token[Frame | None]) -> None:
    """Leave the block :func:`enter` entered."""
    _frame.reset(token)


def _once(provider: Provider) -> Provider:
    """Return ``provider`` called at most once (a request is handled by one thread or task)."""
    made: list[Mapping[str, Any]] = []

    def call() -> Mapping[str, Any]:
        if not made:
            made.append(dict(provider()))
        return made[0]

    return call


# -- values -------------------------------------------------------------------------------------

_SCALARS = (str, int, bool, float)


def _is_plain(value: Any, depth: int) -> bool:
    """Return whether ``value`` is JSON already, needing nothing resolved (bounded depth)."""
    if value is None or type(value) in (str, int, bool):
        return True
    if type(value) is float:
        return True  # NaN is caught by the check, whose answer is kept as well
    if depth > wire.MAX_CONTEXT_DEPTH:
        return False
    if type(value) is dict:
        return all(type(k) is str and _is_plain(v, depth + 1) for k, v in value.items())
    if type(value) is list:
        return all(_is_plain(item, depth + 1) for item in value)
    return False


def _resolve(value: Any, depth: int = 1) -> Any:
    """Return ``value`` as JSON a diff can carry; None leaves its name out."""
    if value is None or type(value) in _SCALARS:
        return value
    if callable(value) and not isinstance(value, type) and not isinstance(value, Model):
        value = value()
    if isinstance(value, LazyObject):
        if value._wrapped is empty:
            value._setup()
        value = value._wrapped
    return _as_json(value, depth)


def _as_json(value: Any, depth: int) -> Any:
    if value is None or type(value) in (str, int, bool):
        return value
    if isinstance(value, Model):
        return None if value.pk is None else wire.encode_pk(value.pk)
    if getattr(value, "is_anonymous", False) is True:  # AnonymousUser: nobody
        return None
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, bool | int):
        return int(value)
    if isinstance(value, Promise | str):
        return str(value)
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if depth > wire.MAX_CONTEXT_DEPTH:
        return str(value)  # the check refuses it: too deep
    if isinstance(value, Mapping):
        return {str(k): _as_json(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_as_json(item, depth + 1) for item in value]
    return str(value)


def _refused(found: dict[str, Any], exc: Exception) -> dict[str, Any]:
    """Return the stand-in recorded for a context the worker would refuse, after saying so."""
    _failed(f"the change context {sorted(found)} is not recorded", exc)
    return {wire.OMITTED: str(exc)[:200]}


def _failed(what: str, exc: Exception) -> None:
    if diffs_settings.raise_errors:
        raise RecordingError(f"diffs: {what}: {exc}") from exc
    logger.error("diffs: %s (%s: %s); the change itself is recorded", what,
                 type(exc).__name__, exc)
