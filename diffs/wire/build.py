"""Building diffs and batches, in the web process: the only place a payload is put together."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .ids import change_time
from .schema import (
    BATCH_DIFFS,
    BATCH_PENDING,
    BATCH_VERSION,
    CONTEXT,
    CREATED,
    DATA,
    DATABASE,
    DELETED,
    ID,
    MODEL,
    NEW,
    OLD,
    PARENTS,
    PENDING_DB,
    PENDING_ROWS,
    PK,
    TIME,
    UNKNOWN,
    VERSION,
    BatchPayload,
    DiffPayload,
    PendingRef,
    Pk,
)


def new_diff(
    label: str,
    pk: Pk,
    new: dict[str, Any],
    old: dict[str, Any] | None = None,
    *,
    created: bool = False,
    deleted: bool = False,
    parents: Iterable[tuple[str, Pk]] = (),
    data: Any = UNKNOWN,
    context: dict[str, Any] | None = None,
    database: str = "",
) -> DiffPayload:
    """Return a new diff of object ``label``/``pk``, stamped with a fresh id and change time.

    ``old`` is left out of a create; ``data`` (what ``serialize_diff`` returned) only when given;
    ``context`` (who made the change, the request...) only when not empty; ``database`` (the
    name in keys of the object's database, ``diffs.conf.Settings.database_key``) only when
    not the default one.
    """
    timestamp, diff_id = change_time()
    diff: DiffPayload = {ID: diff_id, MODEL: label, PK: pk, TIME: timestamp, NEW: new}
    if created:
        diff[CREATED] = 1
    else:
        diff[OLD] = {} if old is None else old
    if deleted:
        diff[DELETED] = 1
    if data is not UNKNOWN:
        diff[DATA] = data
    if context:
        diff[CONTEXT] = context
    if database:
        diff[DATABASE] = database
    chain = [[parent_label, parent_pk] for parent_label, parent_pk in parents]
    if chain:
        diff[PARENTS] = chain
    return diff


def diff_id(diff: DiffPayload) -> str:
    """Return the id of a diff as built by :func:`new_diff`."""
    return diff[ID]


def pending_rows(alias: str, rows: Iterable[tuple[int, str]]) -> PendingRef | None:
    """Return the reference to the ``PendingDiff`` rows ``(row id, diff id)`` (None: no rows)."""
    listed: list[list[Any]] = [[row_id, diff_id] for row_id, diff_id in rows]
    return {PENDING_DB: alias, PENDING_ROWS: listed} if listed else None


def pending_database(pending: PendingRef | None) -> str | None:
    """Return the database alias a :func:`pending_rows` reference names (None: no rows)."""
    return None if pending is None else pending[PENDING_DB]


def merge_pending(refs: Iterable[PendingRef]) -> PendingRef | None:
    """Return one reference naming the rows of several, all of one database, in their order.

    A batch names rows of one database only: the background publisher sends the outbox rows of
    other databases in messages of their own.
    """
    merged: PendingRef | None = None
    for ref in refs:
        if merged is None:
            merged = {PENDING_DB: ref[PENDING_DB], PENDING_ROWS: list(ref[PENDING_ROWS])}
        elif ref[PENDING_DB] != merged[PENDING_DB]:
            raise ValueError(f"rows of {ref[PENDING_DB]!r} and {merged[PENDING_DB]!r} in one batch")
        else:
            merged[PENDING_ROWS].extend(ref[PENDING_ROWS])
    return merged


def batch(diffs: list[DiffPayload], pending: PendingRef | None = None) -> BatchPayload:
    """Return the batch envelope of ``diffs`` (``pending`` from :func:`pending_rows`)."""
    envelope: BatchPayload = {BATCH_VERSION: VERSION, BATCH_DIFFS: diffs}
    if pending:
        envelope[BATCH_PENDING] = pending
    return envelope


def batch_diffs(envelope: Any) -> list[Any]:
    """Return the diffs of a batch envelope ([] for anything that is not one)."""
    found = envelope.get(BATCH_DIFFS) if isinstance(envelope, dict) else None
    return found if isinstance(found, list) else []


def batch_pending(envelope: Any) -> Any:
    """Return the pending-rows reference of a batch, unchecked (None: none, or not a batch)."""
    return envelope.get(BATCH_PENDING) if isinstance(envelope, dict) else None


def batch_ids(envelope: Any) -> str:
    """Return the ids of a batch's diffs, for a log line that lets someone recover them."""
    return ",".join(
        str(diff.get(ID)) if isinstance(diff, dict) else "?" for diff in batch_diffs(envelope)
    )
