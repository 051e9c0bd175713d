"""``Diff``: one recorded change, as read back from Redis. A value: it does no I/O of its own."""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ..wire import StoredDiff, decode_members, id_time
from .delta import ModelDelta, net_delta

logger = logging.getLogger("diffs")


#: ``history(older, newer, **options)``: the net change between two diffs of the object
#: history a diff was read from (``DiffSet.between``), which answers ``diff_against``.
History = Callable[..., ModelDelta]


@dataclass(frozen=True, eq=False)
class Diff:
    """One recorded change of one object.

    ``data`` is by default the changed fields in the shape of
    ``django.core.serializers``' JSON (``{"model", "pk", "fields"}``), or whatever the model's
    ``serialize_diff`` returned. ``new`` and ``old`` hold the values before and after the change
    for every changed field (``old`` is empty for a create). ``using`` is the alias of the
    database of the object (each database has histories of its own). ``history`` answers
    :meth:`diff_against` from the object history the diff was read from.

    ``timestamp`` is when the change was made (read from its id); ``position`` is where it was
    stored in the sorted set it was read from (its score: the storage Redis' clock when it
    arrived, never lower than the diff stored before it), which orders a feed.
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
    context: dict[str, Any] = field(default_factory=dict)
    using: str = "default"
    history: History | None = field(default=None, repr=False)
    position: float = 0.0

    @property
    def actor(self) -> Any:
        """Return who made the change (the context's ``actor``: a user pk, say), or None."""
        return self.context.get("actor")

    @property
    def data(self) -> Any:
        """Return the serialized change: the changed fields, or what ``serialize_diff`` returned."""
        if self.has_custom_data:
            return self.custom_data
        return {"model": self.model, "pk": self.pk, "fields": self.new}

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
    def arrival(self) -> tuple[float, str]:
        """Return the key that sorts diffs in the order they were stored (position, then id)."""
        return (self.position, self.id)

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
        if self.history is None:
            raise ValueError(
                f"{self!r} was not read from an object's diffs, so the diffs between it and "
                "the older one are unknown: read both from instance.diffs."
            )
        return self.history(
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


def decode_many(
    pairs: list[tuple[str, float]],
    label: str,
    pk: int | str | None,
    using: str = "default",
    history: History | None = None,
) -> list[Diff]:
    """Return the Diffs stored as ``(member, score)`` pairs; unreadable members are skipped.

    ``pk`` is the object of the key read, or None for a key whose members name their objects
    (a model's feed).
    """
    found = decode_members([member for member, _ in pairs])
    diffs = []
    for stored, (member, score) in zip(found, pairs, strict=True):
        if stored is None or (pk is None and stored.pk is None):
            logger.warning("diffs: skipped an unreadable member of %s pk=%r: %.200r",
                           label, pk, member)
        else:
            diffs.append(_diff(stored, score, label, pk, using, history))
    return diffs


def _diff(
    stored: StoredDiff, score: float, label: str, pk: int | str | None, using: str,
    history: History | None,
) -> Diff:
    return Diff(
        id=stored.id,
        model=label if stored.model is None else stored.model,
        pk=stored.pk if stored.pk is not None else pk,  # type: ignore[arg-type]  # one is set
        timestamp=id_time(stored.id),
        position=score,
        created=stored.created,
        deleted=stored.deleted,
        new=stored.new,
        old=stored.old,
        custom_data=stored.data,
        has_custom_data=stored.has_data,
        context=stored.context,
        using=using,
        history=history,
    )
