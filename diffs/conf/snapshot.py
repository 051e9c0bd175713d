"""How declared settings become a snapshot that reads cost nothing.

A :class:`Setting` is a non-data descriptor on a :class:`SnapshotSettings` subclass; the values
live in the instance's ``__dict__``, which Python consults before a non-data descriptor, so a
read is a plain attribute lookup. :meth:`SnapshotSettings.reload` builds the snapshot (and logs
its problems once); a descriptor runs only before the first build, which it starts, and for a
setting refused without a fallback, which it raises.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar, overload

from ..exceptions import ConfigurationError
from .rules import Invalid, Problem, Rule, unknown_key

logger = logging.getLogger("diffs")

T = TypeVar("T")
Described = TypeVar("Described", bound="Snapshot[Any]")

#: What happens while a setting without a fallback (the storage location) is wrong.
NO_FALLBACK = (
    "django-diffs stores and reads no diffs until it is fixed: a storage location never "
    "falls back to the default."
)


class Snapshot(Generic[T]):
    """A value of the snapshot, read from the instance's ``__dict__``.

    Once the snapshot holds the value, the instance's ``__dict__`` answers and this is not
    called. It runs only before the first build (and builds it), and for a setting refused
    without a fallback (and raises).
    """

    def __init__(self) -> None:
        self.key = ""

    def __set_name__(self, owner: type, key: str) -> None:
        self.key = key

    @overload
    def __get__(self: Described, instance: None, owner: type | None = None) -> Described: ...

    @overload
    def __get__(self, instance: SnapshotSettings, owner: type | None = None) -> T: ...

    def __get__(self, instance: SnapshotSettings | None, owner: type | None = None) -> Any:
        if instance is None:
            return self
        return instance._missing(self.key)


class Setting(Snapshot[T]):
    """One key of ``DIFFS_SETTINGS``: its default, its rule, its check id and the fix.

    ``at_most`` names the key whose value bounds this one (the check id stays this key's).
    ``falls_back=False``: a refused value is not replaced by the default; reading it raises
    :class:`~diffs.ConfigurationError` instead.
    """

    def __init__(
        self, default: Any, parse: Callable[[Any], T], expected: str, check_id: str, *,
        at_most: str | None = None, falls_back: bool = True,
    ) -> None:
        super().__init__()
        self.default = default
        self.rule = Rule(parse, expected, check_id)
        self.at_most = at_most
        self.falls_back = falls_back

    @property
    def check_id(self) -> str:
        """Return the system-check id of this key's problems."""
        return self.rule.check_id

    def value_in(self, values: dict[str, Any]) -> tuple[T, Problem | None]:
        """Return this key's value in ``values`` (the default when absent), and its problem.

        A refused value gives the parsed default (and the problem), which only a setting that
        falls back may use.
        """
        if self.key not in values:
            return self.rule.parse(self.default), None
        value = values[self.key]
        try:
            return self.rule.parse(value), None
        except Invalid as error:
            where = f"DIFFS_SETTINGS[{self.key!r}]"
            found = self.rule.problem(where, value, error, self.default)
            if not self.falls_back:
                found = Problem(found.check_id, found.message, found.hint, NO_FALLBACK)
            return self.rule.parse(self.default), found


class SnapshotSettings:
    """The settings declared on a subclass (:class:`Setting` attributes), read as a snapshot.

    ``source`` returns the value of ``DIFFS_SETTINGS``.
    """

    #: ``DIFFS_SETTINGS`` as written ({} when it is not a dict), for code that overrides a key.
    raw: Snapshot[dict[str, Any]] = Snapshot()

    def __init__(self, source: Callable[[], Any]) -> None:
        self._source = source
        self._lock = threading.RLock()  # a dotted path's module may read a setting as it loads
        self._refused: dict[str, Problem] = {}
        self._built = False
        self._reported: set[str] = set()  # the problems the last build logged

    @classmethod
    def declared(cls) -> Iterator[Setting[Any]]:
        """Iterate over the declared keys, in declaration order."""
        return (
            value for klass in reversed(cls.__mro__) for value in vars(klass).values()
            if isinstance(value, Setting)
        )

    @classmethod
    def read(cls, raw: Any) -> tuple[dict[str, Any], dict[str, Problem], list[Problem]]:
        """Return the snapshot of ``raw`` (the value of ``DIFFS_SETTINGS``): the values by key,
        the problems of the keys left without a value (no fallback), and every problem found."""
        whole: Problem | None = None
        if isinstance(raw, dict):
            given: dict[str, Any] = raw
            known = [setting.key for setting in cls.declared()]
            found = [unknown_key("DIFFS_SETTINGS", key, known, "diffs.E002")
                     for key in sorted(set(raw) - set(known), key=str)]
        else:
            given, whole = {}, Problem(
                "diffs.E001", f"DIFFS_SETTINGS must be a dict, not {type(raw).__name__}.",
                "Set DIFFS_SETTINGS = {'redis': {'url': 'redis://...'}, ...} or remove it.",
                f"Every key but redis reads as its default, and {NO_FALLBACK}",
            )
            found = [whole]
        values: dict[str, Any] = {"raw": given}
        refused: dict[str, Problem] = {}
        for setting in cls.declared():
            value, problem = setting.value_in(given)
            if problem is not None:
                found.append(problem)
            reason = problem or whole
            if not setting.falls_back and reason is not None:
                refused[setting.key] = reason
            else:
                values[setting.key] = value
        for setting in cls.declared():
            if setting.at_most is not None:
                _bound(setting, setting.at_most, values, found)
        return values, refused, found

    def reload(self) -> None:
        """Build the snapshot from ``DIFFS_SETTINGS`` again; log each problem the last build did
        not already log."""
        with self._lock:  # two renewals at once must not leave the older one's values
            values, refused, found = self.read(self._source())
            self._refused = refused
            for key in refused:
                self.__dict__.pop(key, None)
            self.__dict__.update(values)
            self._built = True
            reported, self._reported = self._reported, {str(problem) for problem in found}
        # A build again from the same settings (a first read at import time, as a Celery module
        # calling beat_schedule() does, then ready()) says nothing new: one line per problem.
        for problem in found:
            if str(problem) not in reported:
                logger.error("diffs: %s %s", problem, problem.outcome)

    def _missing(self, key: str) -> Any:
        """Return ``key``'s value when the snapshot did not hold it (see :class:`Snapshot`)."""
        if not self._built:
            self.reload()
        try:
            return self.__dict__[key]
        except KeyError:
            problem = self._refused.get(key)
            if problem is None:
                raise AttributeError(key) from None
            raise ConfigurationError(f"{problem} {problem.outcome}") from None


def _bound(setting: Setting[Any], most_key: str, values: dict[str, Any],
           found: list[Problem]) -> None:
    """Lower ``setting``'s value to ``most_key``'s when it is over it, with a problem."""
    value, most = values[setting.key], values[most_key]
    if value > most:
        found.append(Problem(
            setting.check_id, f"DIFFS_SETTINGS[{setting.key!r}] ({value}) is over "
            f"{most_key} ({most}).", f"Lower {setting.key} or raise {most_key}.",
            f"Using {most} instead.",
        ))
        values[setting.key] = most
