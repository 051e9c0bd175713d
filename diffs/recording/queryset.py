"""``diffs.RecordedQuerySet`` and ``diffs.RecordedManager``: bulk writes that are recorded.

Django's ``bulk_create()``, ``bulk_update()`` and ``QuerySet.update()`` send no signals, so
the handlers never see them. This queryset, used as the manager of a registered model, does
each write itself (through a plain ``QuerySet``, so Django's own code runs) and records it
inside the same transaction with :mod:`diffs.recording.bulk`:

* ``bulk_create``: a create diff per object whose pk the database returned;
* ``bulk_update``: old values from each instance's tracked state, new values from the instance;
* ``update``: the matched rows read first with one query (``FOR UPDATE`` where the database
  can), then updated by pk, so exactly the rows read are written and recorded;
* ``delete``: Django's, whose ``post_delete`` signals the handlers already record.

A write on a model that is not registered raises ``NotRegistered`` before writing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from django.db import connections, models, transaction

from ..registry import Registration, get_registration
from . import bulk

ModelT = TypeVar("ModelT", bound=models.Model)

#: Why ``bulk_create`` cannot record with these options.
CONFLICTS_HIDE_ROWS = (
    "with ignore_conflicts or update_conflicts the database does not say which rows were "
    "inserted, updated or skipped; save them one by one, or write them without the recorded "
    "manager on purpose"
)


class RecordedQuerySet(models.QuerySet[ModelT]):
    """A ``QuerySet`` whose bulk writes are recorded like saves; subclass it freely."""

    # The stubs' signature is a later Django's; this one is the supported versions' own.
    def bulk_create(  # type: ignore[override]
        self,
        objs: Iterable[ModelT],
        batch_size: int | None = None,
        ignore_conflicts: bool = False,
        update_conflicts: bool = False,
        update_fields: Sequence[str] | None = None,
        unique_fields: Sequence[str] | None = None,
    ) -> list[ModelT]:
        """Insert ``objs`` as Django does, and record a create diff of each (one task)."""
        registration = self._registration()
        objs = list(objs)
        options: dict[str, Any] = {
            "batch_size": batch_size, "ignore_conflicts": ignore_conflicts,
            "update_conflicts": update_conflicts, "update_fields": update_fields,
            "unique_fields": unique_fields,
        }
        plain = self._plain()
        if objs and bulk.recording_on() and (ignore_conflicts or update_conflicts):
            bulk.refuse_or_warn(registration, "bulk_create", len(objs), CONFLICTS_HIDE_ROWS)
            return plain.bulk_create(objs, **options)
        with transaction.atomic(using=plain.db, savepoint=False):
            created = plain.bulk_create(objs, **options)
            known = [obj for obj in created if obj.pk is not None]
            bulk.record_written(registration, known, plain.db, None, created=True)
        if len(known) < len(created) and bulk.recording_on():
            bulk.report_unknown_pks(registration, len(created) - len(known))
        return created

    def bulk_update(
        self, objs: Iterable[ModelT], fields: Iterable[str], batch_size: int | None = None
    ) -> int:
        """Update ``fields`` of ``objs`` as Django does, and record what changed (one task)."""
        registration = self._registration()
        objs = tuple(objs)
        fields = list(fields)
        plain = self._plain()
        with transaction.atomic(using=plain.db, savepoint=False):
            count = plain.bulk_update(objs, fields, batch_size=batch_size)
            bulk.record_written(
                registration, objs, plain.db, bulk.written_field_names(self.model, fields)
            )
        return count

    def update(self, **kwargs: Any) -> int:
        """Update the matched rows as Django does, and record each row that changed (one task).

        Their old values are read first with one query, in the same transaction; values of
        expressions (``F("votes") + 1``) are read back afterwards, one query for all rows.
        """
        registration = self._registration()
        plain = self._plain()
        recorded = {tracked.name for tracked in registration.fields}
        names = [n for n in bulk.written_field_names(self.model, kwargs) if n in recorded]
        if not names or not bulk.recording_on() or self.query.is_sliced or self.query.combinator:
            return plain.update(**kwargs)  # nothing to record (or Django's own error)
        using = plain.db
        with transaction.atomic(using=using, savepoint=False):
            rows = self._rows_to_update(using)
            count = 0
            for chunk in bulk.chunks([row.pk for row in rows], bulk.chunk_size(using)):
                count += plain.filter(pk__in=chunk).update(**kwargs)
            bulk.assign(self.model, rows, kwargs)
            bulk.record_written(registration, rows, using, names, refresh=True)
        return count

    def delete(self) -> tuple[int, dict[str, int]]:
        """Delete the matched rows as Django does; a diff of each row and of each cascade."""
        self._registration()
        with transaction.atomic(using=self._write_alias(), savepoint=False):
            return super().delete()

    delete.alters_data = True  # type: ignore[attr-defined]  # Django's own method flags
    delete.queryset_only = True  # type: ignore[attr-defined]  # Django's own method flags

    def _registration(self) -> Registration:
        return get_registration(self.model)

    def _write_alias(self) -> str:
        return self._plain().db

    def _plain(self) -> models.QuerySet[ModelT]:
        """Return this query as a plain ``QuerySet`` bound for writing: Django's code, unrecorded.

        Django's ``bulk_update`` calls ``update()`` on its own queryset; going through a plain
        one keeps those inner calls from being recorded a second time.
        """
        source: Any = self  # _db and _hints are QuerySet's own, unknown to the stubs
        plain: Any = models.QuerySet(
            model=self.model, query=self.query.chain(), using=source._db, hints=source._hints
        )
        plain._for_write = True
        return plain

    def _rows_to_update(self, using: str) -> list[ModelT]:
        """Return the rows the update matches, as instances, read with one query.

        Read by pk from a subquery of this queryset, so its ``select_related()``, ``values()``
        or ordering cannot change what is read, and locked ``FOR UPDATE`` where the database
        can, so no other transaction changes them before the update does.
        """
        rows = models.QuerySet(self.model, using=using).filter(
            pk__in=self.values("pk").order_by()
        )
        if connections[using].features.has_select_for_update:
            rows = rows.select_for_update()
        return list(rows)


# from_queryset() makes the base class at run time (Django's documented way).
class RecordedManager(models.Manager.from_queryset(RecordedQuerySet)):  # type: ignore[misc]
    """The manager of a registered model whose bulk writes are recorded.

    ``objects = diffs.RecordedManager()``; with a queryset of your own, subclass
    :class:`RecordedQuerySet` and use ``YourQuerySet.as_manager()``.
    """
