"""Many-to-many changes: a diff for each registered object whose related objects changed.

Django sends ``m2m_changed`` (its sender is the through model) before and after ``add()``,
``remove()`` and ``clear()``, from whichever side of the relation was used; ``set()`` is a
``remove()`` then an ``add()``. Before the change one query reads the through rows of every
object it affects (a reverse or symmetrical ``clear()`` first asks which objects those are);
after it, the new rows follow from the old ones and the keys Django changed, with no second
read. A value is the object's list of through rows as ``{source field: pk, target field: pk}``,
sorted by the related pk: the shape of django-simple-history's many-to-many deltas.

Only the many-to-many fields of registered models get a receiver: any receiver makes Django
give up its fast path for adding rows to that through model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.db import models
from django.db.models import Q
from django.db.models.signals import m2m_changed

from ..registry import PARENT_HOOK, SERIALIZE_HOOK, Registration
from ..wire import encode_pk
from . import context, handlers

#: Where an instance keeps what its ``pre_*`` signal read until the ``post_*`` one.
PENDING_ATTR = "_diffs_m2m_pending"

#: One through row: (value of the FK to the registered model, value of the other FK).
Row = tuple[Any, Any]


@dataclass(frozen=True)
class Relation:
    """One registered many-to-many field and the two foreign keys of its through model."""

    registration: Registration
    name: str
    through: type[models.Model]
    source: models.ForeignKey[Any, Any]
    target: models.ForeignKey[Any, Any]
    symmetrical: bool


@dataclass(frozen=True)
class Pending:
    """What a ``pre_*`` signal learned: the objects affected, their rows, the rows cleared."""

    sources: frozenset[Any]
    before: frozenset[Row]
    cleared: frozenset[Row]


def connect(registration: Registration) -> None:
    """Connect a receiver for each many-to-many field of ``registration`` (once models exist)."""
    if not apps.models_ready:
        return  # through models may still be lazy references: DiffsConfig.ready() connects
    for name in registration.m2m_fields:
        field: Any = registration.model._meta.get_field(name)
        through = field.remote_field.through
        relation = Relation(
            registration,
            name,
            through,
            through._meta.get_field(field.m2m_field_name()),
            through._meta.get_field(field.m2m_reverse_field_name()),
            bool(field.remote_field.symmetrical),
        )
        m2m_changed.connect(
            ManyToManyRecorder(relation),
            sender=through,
            weak=False,
            dispatch_uid=f"diffs:m2m:{registration.label}.{name}",
        )


class ManyToManyRecorder:
    """The ``m2m_changed`` receiver of one registered many-to-many field."""

    def __init__(self, relation: Relation) -> None:
        self.relation = relation
        self.key = f"{relation.registration.label}.{relation.name}"

    @handlers.never_raises
    def __call__(
        self,
        sender: type[models.Model],
        instance: models.Model,
        action: str,
        reverse: bool,
        pk_set: set[Any] | None,
        using: str,
        **kwargs: Any,
    ) -> None:
        phase, _, kind = action.partition("_")
        if phase == "pre":
            if context.recording_enabled():
                pending = self._before(instance, kind, reverse, pk_set, using)
                instance.__dict__.setdefault(PENDING_ATTR, {})[self.key, kind] = pending
            return
        waiting = instance.__dict__.get(PENDING_ATTR)
        before = waiting.pop((self.key, kind), None) if waiting else None
        if not waiting:
            instance.__dict__.pop(PENDING_ATTR, None)
        if before is not None:
            self._after(before, instance, kind, reverse, pk_set, using)

    def _before(
        self, instance: models.Model, kind: str, reverse: bool, pk_set: Any, using: str
    ) -> Pending:
        relation = self.relation
        mine = self._own_key(instance, reverse)
        if kind != "clear":
            sources = {source for source, _ in self._rows_changed(mine, pk_set, reverse)}
            return Pending(frozenset(sources), self._rows_of(sources, using), frozenset())
        if reverse:
            cleared = self._rows(using, Q(**{relation.target.attname: mine}))
        else:
            touching = Q(**{relation.source.attname: mine})
            if relation.symmetrical:
                touching |= Q(**{relation.target.attname: mine})
            cleared = self._rows(using, touching)
        sources = {source for source, _ in cleared}
        if not reverse:
            sources.add(mine)
        # A forward clear of a plain relation: the rows cleared are all the one object had.
        plain = not reverse and not relation.symmetrical
        before = cleared if plain else self._rows_of(sources, using)
        return Pending(frozenset(sources), before, cleared)

    def _after(
        self,
        pending: Pending,
        instance: models.Model,
        kind: str,
        reverse: bool,
        pk_set: Any,
        using: str,
    ) -> None:
        mine = self._own_key(instance, reverse)
        changed = (
            pending.cleared if kind == "clear" else self._rows_changed(mine, pk_set, reverse)
        )
        after = pending.before | changed if kind == "add" else pending.before - changed
        old_lists, new_lists = _by_source(pending.before), _by_source(after)
        lists = {}
        for source in pending.sources:
            old, new = old_lists.get(source, []), new_lists.get(source, [])
            if old != new:
                lists[source] = (old, new)
        if not lists:
            return
        objects = self._objects(lists.keys(), None if reverse else instance, mine, using)
        name = self.relation.name
        for source in sorted(lists):
            obj = objects.get(source)
            if obj is not None:  # else deleted meanwhile: nothing left to record it for
                old, new = lists[source]
                handlers.record(
                    self.relation.registration,
                    obj,
                    using,
                    {name: self._encode(source, new)},
                    {name: self._encode(source, old)},
                )

    def _own_key(self, instance: models.Model, reverse: bool) -> Any:
        """Return the value the through row's FK to the instance's side holds for it."""
        fk = self.relation.target if reverse else self.relation.source
        return getattr(instance, fk.target_field.attname)

    def _rows_changed(self, mine: Any, pk_set: Any, reverse: bool) -> frozenset[Row]:
        """Return the rows an add or remove of ``pk_set`` on this instance's side touches."""
        relation = self.relation
        other = relation.source if reverse else relation.target
        keys = {other.target_field.to_python(key) for key in pk_set or ()}
        if reverse:
            return frozenset((key, mine) for key in keys)
        rows = {(mine, key) for key in keys}
        if relation.symmetrical:  # Django writes the mirror rows too
            rows |= {(key, mine) for key in keys}
        return frozenset(rows)

    def _rows_of(self, sources: set[Any], using: str) -> frozenset[Row]:
        return self._rows(using, Q(**{f"{self.relation.source.attname}__in": sources}))

    def _rows(self, using: str, condition: Q) -> frozenset[Row]:
        relation = self.relation
        query = relation.through._base_manager.using(using).filter(condition)
        return frozenset(query.values_list(relation.source.attname, relation.target.attname))

    def _objects(
        self, sources: Any, instance: models.Model | None, mine: Any, using: str
    ) -> dict[Any, models.Model]:
        """Return the registered objects of ``sources``, by key; the signal's own one as it is.

        The others are fetched (one query) only when a hook needs their fields; otherwise an
        instance holding just the pk does, as only the pk is read.
        """
        objects: dict[Any, models.Model] = {}
        if instance is not None and mine in sources:
            objects[mine] = instance
        rest = set(sources) - objects.keys()
        if not rest:
            return objects
        model = self.relation.registration.model
        key_field = self.relation.source.target_field
        if key_field.primary_key and not _has_hooks(model):
            objects.update((key, model(**{key_field.attname: key})) for key in rest)
            return objects
        found = model._base_manager.using(using).filter(**{f"{key_field.attname}__in": rest})
        objects.update((getattr(obj, key_field.attname), obj) for obj in found)
        return objects

    def _encode(self, source: Any, targets: list[Any]) -> list[dict[str, Any]]:
        source_name, target_name = self.relation.source.name, self.relation.target.name
        return [
            {source_name: encode_pk(source), target_name: encode_pk(target)}
            for target in targets
        ]


def _by_source(rows: frozenset[Row]) -> dict[Any, list[Any]]:
    """Return each source's other keys, sorted."""
    grouped: dict[Any, list[Any]] = {}
    for source, target in rows:
        grouped.setdefault(source, []).append(target)
    return {source: sorted(targets) for source, targets in grouped.items()}


def _has_hooks(model: type[models.Model]) -> bool:
    """Return whether recording a diff of ``model`` reads more of an instance than its pk."""
    hooks = (PARENT_HOOK, SERIALIZE_HOOK)
    return any(callable(getattr(model, name, None)) for name in hooks)
