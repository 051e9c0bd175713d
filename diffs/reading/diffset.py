"""Reading: ``Model.diffs`` (a manager) and ``instance.diffs`` (one object's diffs)."""

from __future__ import annotations

import datetime
import math
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from typing import Any, overload

from django.core.exceptions import ValidationError
from django.db import models, router

from ..conf import diffs_settings
from ..exceptions import NotRegistered, UnsavedInstance
from ..registry import (
    Registration,
    get_registration,
    registration_for_label,
    resolve_field_names,
)
from ..storage import store
from ..storage.connection import get_redis
from ..storage.keys import object_key
from ..wire import encode_pk
from . import aio, related
from .delta import ModelDelta, caught_up_delta, net_delta
from .diff import Diff, decode_many
from .outage import translated
from .page import Page, Position, page_of

Moment = float | int | datetime.datetime


class DiffsDescriptor:
    """Gives ``Model.diffs`` (a ``DiffManager``) and ``instance.diffs`` (a ``DiffSet``)."""

    def __get__(self, instance: models.Model | None, owner: type[models.Model]) -> Any:
        manager = DiffManager(owner)
        return manager if instance is None else manager.for_instance(instance)


class DiffManager:
    """The diffs of one registered model, looked up by object, in one of its databases."""

    def __init__(self, model: type[models.Model], using: str | None = None) -> None:
        self.model = model
        self.registration: Registration = get_registration(model._meta.concrete_model or model)
        self._using = using

    def using(self, alias: str) -> DiffManager:
        """Return the diffs of the model's objects in database ``alias``."""
        return DiffManager(self.model, alias)

    def get_by_object_id(self, pk: Any) -> DiffSet:
        """Return the diffs of the object with primary key ``pk`` (and of its children).

        The object is the one of the database :meth:`using` named, else of the one the
        database router reads the model from (``default`` without a router).
        """
        try:
            value = self.model._meta.pk.to_python(pk)
        except ValidationError as exc:
            raise ValueError(f"{pk!r} is not a valid pk of {self.model._meta.label}") from exc
        if value is None:
            raise UnsavedInstance(f"A pk is needed to read diffs of {self.model._meta.label}.")
        using = self._using or router.db_for_read(self.model)
        return DiffSet(self.registration.label, encode_pk(value), using=using)

    def for_instance(self, instance: models.Model) -> DiffSet:
        """Return the diffs of a saved instance, in the database it was loaded from or saved to."""
        if instance.pk is None:
            raise UnsavedInstance(
                f"This {type(instance).__name__} has no pk yet: save it before reading its diffs."
            )
        using = instance._state.db or router.db_for_read(type(instance), instance=instance)
        return DiffSet(self.registration.label, encode_pk(instance.pk), using=using)


class DiffSet(Sequence[Diff]):
    """The diffs of one object, oldest first; lazy, and every access reads Redis afresh.

    A storage that does not answer raises ``diffs.StorageUnavailable`` (:mod:`.outage`).

    Supports ``len()``, iteration, indexing (``[-1]`` is the newest) and slicing, and narrows to
    a time window with :meth:`since` / :meth:`until` (``since`` is exclusive, ``until``
    inclusive), so a client that last looked at ``ts`` fetches only what is new.

    Iteration and windows follow the time of each change; indexing, slicing and
    :meth:`newest` read by rank in the sorted set, which is the order the diffs were stored
    in: the same order, but for a diff stored late (kept during an outage), which ranks
    where it arrived. A client that must not miss a late diff follows :meth:`page`.
    """

    def __init__(
        self,
        label: str,
        pk: int | str,
        since: float | None = None,
        until: float | None = None,
        *,
        using: str = "default",
    ) -> None:
        self.label = label
        self.pk = pk
        self.using = using
        self._since = since
        self._until = until

    @property
    def key(self) -> str:
        """Return the Redis key this set reads."""
        return object_key(diffs_settings.key_prefix, self.label, self.pk,
                          diffs_settings.database_key(self.using))

    def since(self, moment: Moment) -> DiffSet:
        """Return only the diffs made after ``moment`` (unix time or aware datetime)."""
        return DiffSet(self.label, self.pk, _unix(moment), self._until, using=self.using)

    def until(self, moment: Moment) -> DiffSet:
        """Return only the diffs made at or before ``moment``."""
        return DiffSet(self.label, self.pk, self._since, _unix(moment), using=self.using)

    @property
    def window(self) -> tuple[float | None, float | None]:
        """Return ``(since, until)`` as unix times, None where the window is open."""
        return (self._since, self._until)

    def _window(self, since: float | None, until: float | None) -> DiffSet:
        return DiffSet(self.label, self.pk, since, until, using=self.using)

    @property
    def _windowed(self) -> bool:
        return self._since is not None or self._until is not None

    def decode(self, pairs: list[tuple[str, float]]) -> list[Diff]:
        """Return the diffs stored as ``(member, score)`` pairs of this set's key."""
        return decode_many(pairs, self.label, self.pk, self.using, self.between)


    @translated
    def page(self, after: Position | None = None, limit: int = 100) -> Page:
        """Return up to ``limit`` diffs after the position ``after`` (a diff's ``order``)."""
        pipe = store.read_after(get_redis(), self.key, None if after is None else after[0], limit)
        return page_of(pipe.execute(), after, limit, self.decode)

    @translated
    def delta_after(
        self, after: Position | None = None, limit: int = 100
    ) -> tuple[ModelDelta, Page]:
        """Return the net change of the object's own diffs in the page after ``after``, and
        the page (the sync twin of :meth:`adelta_after`, which says how)."""
        page = self.page(after, limit)
        window = self.own(page.diffs)
        new_record = window[-1] if window else None

        def seen() -> list[Diff]:
            if after is None:
                return []
            return self.stored_up_to(store.read_window(get_redis(), self.key, None, after[0]),
                                     after)

        if after is not None and any(d.timestamp <= after[0] for d in window):
            return caught_up_delta(seen(), window, new_record=new_record), page
        return net_delta(window, old_record=None, new_record=new_record, earlier=seen), page

    # -- async twins (redis.asyncio, the running loop's client) ---------------------------

    async def alist(self) -> list[Diff]:
        """Return every diff (of the window, if narrowed), oldest first."""
        return await aio.alist(self)

    async def alen(self) -> int:
        """Return how many diffs there are, without reading them."""
        return await aio.alen(self)

    async def asince(self, moment: Moment) -> list[Diff]:
        """Return the diffs made after ``moment``, oldest first."""
        return await aio.alist(self.since(moment))

    async def auntil(self, moment: Moment) -> list[Diff]:
        """Return the diffs made at or before ``moment``, oldest first."""
        return await aio.alist(self.until(moment))

    async def anewest(self, count: int) -> list[Diff]:
        """Return the ``count`` newest diffs, oldest first."""
        return await aio.anewest(self, count)

    async def apage(self, after: Position | None = None, limit: int = 100) -> Page:
        """Return up to ``limit`` diffs after the position ``after``, and whether more follow."""
        return await aio.apage(self, after, limit)

    async def adelta_after(
        self, after: Position | None = None, limit: int = 100
    ) -> tuple[ModelDelta, Page]:
        """Return the net change of the object's own diffs in the page after ``after``."""
        return await aio.adelta_after(self, after, limit)

    def __aiter__(self) -> AsyncIterator[Diff]:
        return self._aiter()

    async def _aiter(self) -> AsyncIterator[Diff]:
        for diff in await aio.alist(self):
            yield diff

    def _all(self) -> list[Diff]:
        client = get_redis()
        if self._windowed:
            return self.changed(store.read_window(client, self.key, *self.scores))
        return self.changed(store.read_range(client, self.key, 0, -1))

    @property
    def scores(self) -> tuple[float | None, None]:
        """Return the score window that holds every diff changed in this set's time window.

        Scores are arrival positions, never before the change (the write script sees to it),
        so the diffs changed after ``since`` are among those scored after it. A diff changed
        before ``until`` may arrive any time later: no upper bound.
        """
        return (self._since, None)

    def changed(self, pairs: list[tuple[str, float]]) -> list[Diff]:
        """Return the diffs of ``pairs`` changed in this set's time window, in change order."""
        low, high = self._since, self._until
        return sorted(
            (d for d in self.decode(pairs)
             if (low is None or d.timestamp > low) and (high is None or d.timestamp <= high)),
            key=_change_order,
        )

    @translated
    def __iter__(self) -> Iterator[Diff]:
        return iter(self._all())

    @translated
    def __len__(self) -> int:
        if self._windowed:
            return len(self._all())
        return store.count(get_redis(), self.key)

    @overload
    def __getitem__(self, index: int) -> Diff: ...

    @overload
    def __getitem__(self, index: slice) -> list[Diff]: ...

    @translated
    def __getitem__(self, index: int | slice) -> Diff | list[Diff]:
        if self._windowed or (isinstance(index, slice) and index.step not in (None, 1)):
            return self._all()[index]
        if isinstance(index, slice):
            return self._slice(index)
        if not isinstance(index, int):
            raise TypeError(f"diffs indices must be integers or slices, not {type(index).__name__}")
        found = self.decode(store.read_range(get_redis(), self.key, index, index))
        if not found:
            raise IndexError("diff index out of range")
        return found[0]

    def _slice(self, index: slice) -> list[Diff]:
        # Redis ranks follow Python's rules for negative and out-of-range bounds; only its stop
        # is inclusive, and a stop of 0 (empty in Python) would mean "up to the first" there.
        if index.stop == 0:
            return []
        stop = -1 if index.stop is None else index.stop - 1
        return self.decode(store.read_range(get_redis(), self.key, index.start or 0, stop))

    @translated
    def newest(self, count: int) -> list[Diff]:
        """Return the ``count`` newest diffs, oldest first."""
        if count <= 0:
            return []
        if self._windowed:
            return self._all()[-count:]
        return self.decode(store.read_range(get_redis(), self.key, -count, -1))

    @translated
    def delta(
        self,
        since: Moment,
        until: Moment | None = None,
        *,
        excluded_fields: Iterable[str] | None = None,
        included_fields: Iterable[str] | None = None,
        foreign_keys_are_objs: bool = False,
    ) -> ModelDelta:
        """Return the net change made after ``since`` (up to ``until``): what a client missed.

        ``old_record`` is None (the window starts at a time, not at a diff); ``new_record`` is
        the newest diff in the window, whose timestamp is the next ``since``, or None.
        """
        low = _unix(since)
        window = self.own(self._window(low, None if until is None else _unix(until))._all())
        return self._delta(
            window,
            None,
            window[-1] if window else None,
            lambda: self.own(self._window(None, low)._all()),
            excluded_fields=excluded_fields,
            included_fields=included_fields,
            foreign_keys_are_objs=foreign_keys_are_objs,
        )

    @translated
    def between(
        self,
        older: Diff,
        newer: Diff,
        *,
        excluded_fields: Iterable[str] | None = None,
        included_fields: Iterable[str] | None = None,
        foreign_keys_are_objs: bool = False,
    ) -> ModelDelta:
        """Return the net change from right after ``older`` to right after ``newer``."""
        # Times may tie across processes, so read from older's own time and let ids order.
        low = math.nextafter(older.timestamp, -math.inf)
        found = self.own(self._window(low, None)._all())
        window = [d for d in found if older.order < d.order <= newer.order]
        if older.order < newer.order and newer not in window:
            window.append(newer)  # pruned from Redis since it was read: still the end point

        def earlier() -> list[Diff]:
            history = [d for d in self.own(self._window(None, None)._all())
                       if d.order < older.order]
            return [*history, older]

        return self._delta(
            window,
            older,
            newer,
            earlier,
            excluded_fields=excluded_fields,
            included_fields=included_fields,
            foreign_keys_are_objs=foreign_keys_are_objs,
        )

    def stored_up_to(self, pairs: list[tuple[str, float]], after: Position) -> list[Diff]:
        """Return the object's own diffs of ``pairs`` stored up to the position ``after``."""
        return [d for d in self.own(self.decode(pairs)) if d.arrival <= after]

    def own(self, diffs: Iterable[Diff]) -> list[Diff]:
        """Return the diffs of this object itself, leaving out those rolled up from children."""
        return [d for d in diffs if d.model == self.label and d.pk == self.pk]

    def _delta(
        self,
        window: list[Diff],
        old_record: Diff | None,
        new_record: Diff | None,
        earlier: Callable[[], list[Diff]],
        *,
        excluded_fields: Iterable[str] | None,
        included_fields: Iterable[str] | None,
        foreign_keys_are_objs: bool,
    ) -> ModelDelta:
        if not foreign_keys_are_objs and included_fields is None and excluded_fields is None:
            return net_delta(window, old_record=old_record, new_record=new_record, earlier=earlier)
        registration = _registration_of(self.label)  # only options need the model
        keep = _selection(registration.model, included_fields, excluded_fields)
        delta = net_delta(
            window, old_record=old_record, new_record=new_record, earlier=earlier, keep=keep
        )
        if foreign_keys_are_objs:
            return related.with_objects(delta, registration, self.using)
        return delta

    def __repr__(self) -> str:
        return f"<DiffSet {self.label} pk={self.pk!r}>"


def _registration_of(label: str) -> Registration:
    """Return the registration of a diff's model label, or raise NotRegistered."""
    registration = registration_for_label(label)
    if registration is None:
        raise NotRegistered(
            f"{label} is not registered with diffs in this process; a delta needs its model "
            "to check field names and resolve related objects."
        )
    return registration


def _selection(
    model: type[models.Model],
    included_fields: Iterable[str] | None,
    excluded_fields: Iterable[str] | None,
) -> Callable[[str], bool]:
    """Return a test for the field names a delta keeps; unknown names raise UnknownField."""
    included = (
        None if included_fields is None
        else resolve_field_names(model, included_fields, "included_fields")
    )
    excluded = (
        set() if excluded_fields is None
        else resolve_field_names(model, excluded_fields, "excluded_fields")
    )
    return lambda name: (included is None or name in included) and name not in excluded


def _change_order(diff: Diff) -> tuple[float, str]:
    return diff.order


def _unix(moment: Moment) -> float:
    if isinstance(moment, datetime.datetime):
        if moment.tzinfo is None:
            raise ValueError("Pass an aware datetime (or a unix time) to since()/until().")
        return moment.timestamp()
    if isinstance(moment, bool) or not isinstance(moment, (int, float)):
        raise TypeError(f"since()/until() take a unix time or an aware datetime, not {moment!r}")
    return float(moment)
