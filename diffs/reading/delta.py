"""History diffing: ``ModelDelta``, ``ModelChange``, ``DeletedObject`` and the net change.

A diff holds, per field it changed, the value before and after one save. The net change over
a run of diffs takes, per field, the value before the first diff that touched it and the value
after the last one; a field that ends where it started is no change at all. A create has no
value before (``None``), a delete no value after (``None``). Where the first diff does not
know the value before (the saved instance had never been loaded), the last value recorded
earlier stands in for it, asked of the caller only then. Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import models

from ..wire import UNKNOWN

if TYPE_CHECKING:
    from .diff import Diff


@dataclass(frozen=True)
class ModelChange:
    """One changed field: its name and its value before and after."""

    field: str
    old: Any
    new: Any


@dataclass(frozen=True)
class ModelDelta:
    """What changed between two points of an object's history.

    ``changed_fields`` is alphabetical and ``changes`` holds one ``ModelChange`` per name, in the
    same order. ``old_record`` and ``new_record`` are the diffs that bound the comparison, None
    where a side is not a diff.
    """

    old_record: Diff | None
    new_record: Diff | None
    changed_fields: list[str]
    changes: list[ModelChange]


@dataclass(frozen=True)
class DeletedObject:
    """Stands in for a related object that no longer exists."""

    model: type[models.Model]
    pk: Any

    def __str__(self) -> str:
        return f"Deleted {self.model._meta.verbose_name} (pk={self.pk})"


def _before(diff: Diff, name: str) -> Any:
    return None if diff.created else diff.old.get(name, UNKNOWN)


def _touched(diff: Diff, known: Iterable[str]) -> Iterable[str]:
    """Return the fields whose value after ``diff`` it tells (a delete: every field)."""
    if diff.deleted:
        return {*diff.old, *known}
    return diff.new.keys()


def _after(diff: Diff, name: str) -> Any:
    return None if diff.deleted else diff.new[name]


def net_delta(
    window: Sequence[Diff],
    *,
    old_record: Diff | None,
    new_record: Diff | None,
    earlier: Callable[[], Sequence[Diff]],
    keep: Callable[[str], bool] | None = None,
) -> ModelDelta:
    """Return the net change made by ``window`` (one object's diffs, oldest first).

    ``earlier`` returns the diffs before the window, oldest first; it is called only when a
    value before the window is not known from the window itself. ``keep`` chooses fields.
    """
    first: dict[str, Any] = {}
    last: dict[str, Any] = {}
    for diff in window:
        for name in _touched(diff, last):
            if keep is not None and not keep(name):
                continue
            if name not in first:
                first[name] = _before(diff, name)
            last[name] = _after(diff, name)
    unknown = [name for name, value in first.items() if value is UNKNOWN]
    if unknown:
        first.update(_values_after(earlier(), unknown))
    changes = [
        ModelChange(name, first[name], last[name])
        for name in sorted(last)
        if first[name] != last[name]
    ]
    return ModelDelta(old_record, new_record, [c.field for c in changes], changes)


def _values_after(history: Sequence[Diff], names: list[str]) -> dict[str, Any]:
    """Return each field's value after the newest diff of ``history`` that set it, else None."""
    found = dict.fromkeys(names)
    wanted = set(names)
    for diff in reversed(history):
        for name in list(wanted):
            if diff.deleted or name in diff.new:
                found[name] = _after(diff, name)
                wanted.discard(name)
        if not wanted:
            break
    return found



def caught_up_delta(
    seen: Sequence[Diff], window: Sequence[Diff], *, new_record: Diff | None
) -> ModelDelta:
    """Return what changed for a client that had applied ``seen`` and now gets ``window``.

    Both are one object's diffs in the order they were stored; each side's state applies its
    diffs in the order the changes were made. So a diff stored late (made before one already
    seen) changes nothing the newer one set: the net change is between the two states, for the
    fields the window touched.
    """
    before = sorted(seen, key=_made)
    after = sorted([*seen, *window], key=_made)
    names: set[str] = set()
    for diff in window:
        names.update(_touched(diff, names))
    old = _values_after(before, sorted(names))
    for name in names:
        if not any(diff.deleted or name in diff.new for diff in before):
            first = next(d for d in after if d.deleted or name in d.new or name in d.old)
            value = _before(first, name)
            old[name] = None if value is UNKNOWN else value
    new = _values_after(after, sorted(names))
    changes = [ModelChange(name, old[name], new[name]) for name in sorted(names)
               if old[name] != new[name]]
    return ModelDelta(None, new_record, [c.field for c in changes], changes)


def _made(diff: Diff) -> tuple[float, str]:
    return diff.order
