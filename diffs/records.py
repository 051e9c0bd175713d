"""``Diff``: one recorded change, as read back from Redis."""

from __future__ import annotations

import datetime
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .delta import ModelDelta, net_delta
from .serialization import default_data

logger = logging.getLogger("diffs")


@dataclass(frozen=True, eq=False)
class Diff:
    """One recorded change of one object.

    ``data`` is what the seed README promised: by default the changed fields in the shape of
    ``django.core.serializers``' JSON (``{"model", "pk", "fields"}``), or whatever the model's
    ``serialize_diff`` returned. ``new`` and ``old`` hold the values before and after the change
    for every changed field (``old`` is empty for a create).
    """

    id: str
    model: str
    pk: int | str
    timestamp: float
    created: bool = False
    deleted: bool = False
    new: dict[str, Any] = field(default_factory=dict)
    old: dict[str, Any] = field(default_factory=dict)
    custom_data: Any = None
    has_custom_data: bool = False

    @property
    def data(self) -> Any:
        """Return the serialized change (the seed's ``diff.data``)."""
        if self.has_custom_data:
            return self.custom_data
        return default_data(self.model, self.pk, self.new)

    @property
    def changed_fields(self) -> list[str]:
        """Return the names of the fields this diff changed, in alphabetical order."""
        return sorted(self.new.keys() | self.old.keys())

    @property
    def datetime(self) -> datetime.datetime:
        """Return the time of the change as an aware UTC datetime."""
        return datetime.datetime.fromtimestamp(self.timestamp, tz=datetime.timezone.utc)

    @property
    def order(self) -> tuple[float, str]:
        """Return the key that sorts diffs in the order they were made (time, then id)."""
        return (self.timestamp, self.id)

    @property
    def delta(self) -> ModelDelta:
        """Return this diff's own change (old values are None on a create, new on a delete)."""
        return net_delta([self], old_record=None, new_record=self, earlier=list)

    def diff_against(
        self,
        older: Diff,
        excluded_fields: Iterable[str] | None = None,
        included_fields: Iterable[str] | None = None,
        foreign_keys_are_objs: bool = False,
    ) -> ModelDelta:
        """Return the net change from the state right after ``older`` to the state after this."""
        if not isinstance(older, Diff):
            raise TypeError(f"diff_against() takes another Diff, not {type(older).__name__}.")
        if (older.model, older.pk) != (self.model, self.pk):
            raise ValueError(
                f"Cannot diff {self.model} pk={self.pk!r} against {older.model} "
                f"pk={older.pk!r}: both diffs must be of the same object."
            )
        if older.order > self.order:
            raise ValueError(
                f"{older!r} is newer than {self!r}: call newer.diff_against(older)."
            )
        from .manager import DiffSet  # the manager reads diffs, so it imports this module

        return DiffSet(self.model, self.pk).between(
            older,
            self,
            excluded_fields=excluded_fields,
            included_fields=included_fields,
            foreign_keys_are_objs=foreign_keys_are_objs,
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Diff) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    def __repr__(self) -> str:
        kind = "created" if self.created else "deleted" if self.deleted else "changed"
        return (
            f"<Diff {self.model} pk={self.pk!r} {kind} {', '.join(self.changed_fields)} "
            f"at {self.datetime.isoformat()}>"
        )


def decode(member: str, score: float, label: str, pk: int | str) -> Diff | None:
    """Return the Diff stored as ``member``, or None (logged) for a member that is not one."""
    try:
        raw = json.loads(member)
    except ValueError:
        raw = None
    return _from_raw(raw, member, score, label, pk)


def decode_many(pairs: list[tuple[str, float]], label: str, pk: int | str) -> list[Diff]:
    """Return the Diffs stored as ``(member, score)`` pairs; unreadable members are skipped.

    The members are parsed with one ``json.loads`` of them joined into an array, three times
    faster than one call per member; if that fails, they are parsed one by one.
    """
    if not pairs:
        return []
    try:
        raws = json.loads(f"[{','.join(member for member, _ in pairs)}]")
    except ValueError:
        raws = None
    if not isinstance(raws, list) or len(raws) != len(pairs):
        found = (decode(member, score, label, pk) for member, score in pairs)
    else:
        found = (
            _from_raw(raw, member, score, label, pk)
            for raw, (member, score) in zip(raws, pairs, strict=True)
        )
    return [diff for diff in found if diff is not None]


def _from_raw(raw: Any, member: str, score: float, label: str, pk: int | str) -> Diff | None:
    try:
        return Diff(
            id=raw["i"],
            model=raw.get("m", label),
            pk=raw.get("p", pk),
            timestamp=score,
            created=bool(raw.get("c")),
            deleted=bool(raw.get("x")),
            new=dict(raw.get("f", {})),
            old=dict(raw.get("o", {})),
            custom_data=raw.get("d"),
            has_custom_data="d" in raw,
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        logger.warning("diffs: skipped an unreadable member of %s pk=%r: %.200r", label, pk, member)
        return None
