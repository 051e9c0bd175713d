"""What a worker accepts of a task payload: every key, type and size checked before a write.

Nothing from a payload is trusted. :func:`parse_batch` sorts a batch's diffs into the ones ready
to store (:class:`CheckedDiff`, their Redis members already encoded), the ones of models this
worker does not know yet, and the rejected ones, each with the reason.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from .context import InvalidPayload, check_context, preview
from .encoding import dumps
from .ids import ID_PATTERN
from .schema import (
    BATCH_DIFFS,
    BATCH_FIELDS,
    BATCH_PENDING,
    BATCH_VERSION,
    CONTEXT,
    CREATED,
    DATA,
    DATABASE,
    DELETED,
    DIFF_FIELDS,
    EARLIEST_TIME,
    ID,
    MAX_PARENTS,
    MAX_PK_LENGTH,
    MODEL,
    NEW,
    OLD,
    PARENTS,
    PENDING_DB,
    PENDING_ROWS,
    PK,
    TIME,
    VERSION,
    DiffPayload,
)

_LABEL_PATTERN = re.compile(r"[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*")
#: A database's name in keys (``diffs.conf.rules.is_key_segment``'s rule).
_DATABASE_PATTERN = re.compile(r"[-0-9A-Za-z_]{1,64}")


#: ``isinstance(value, str)`` as a C function, for ``map`` (no Python frame per key).
_is_str = str.__instancecheck__


class UnknownLabel(InvalidPayload):
    """A diff valid in every other respect names models this worker does not know (yet).

    Not the diff's fault: a web process deployed before the workers registers a model they do
    not have. The worker keeps such a diff for later instead of rejecting it.
    """

    def __init__(self, message: str, labels: tuple[str, ...]) -> None:
        super().__init__(message)
        self.labels = labels


class CheckedDiff(NamedTuple):
    """A diff that passed :func:`parse_batch`, with its Redis members already encoded.

    ``database`` is the name in keys of the object's database ("" for the default one); its
    parents are in the same database. A named tuple, not a frozen dataclass: a worker makes
    one per diff, and a frozen dataclass's ``__init__`` (one ``object.__setattr__`` per
    field) cost more than a tenth of the whole check.
    """

    id: str
    label: str
    pk: int | str
    timestamp: float
    member: str
    parents: tuple[tuple[str, int | str], ...]
    parent_member: str
    raw: DiffPayload
    database: str = ""


#: ``known_label(label)``: whether the worker may name a key after the label.
LabelCheck = Callable[[str], bool]
#: ``pk_ok(label, pk)``: whether ``pk`` is a valid pk of the label's model, as the wire holds it.
PkCheck = Callable[[str, Any], bool]


@dataclass(frozen=True)
class ParsedBatch:
    """What :func:`parse_batch` made of a payload.

    ``good``: diffs ready to store. ``unknown``: diffs valid in every other respect whose models
    the worker does not know, with those labels. ``errors``: one message per rejected diff.
    """

    good: list[CheckedDiff]
    unknown: list[tuple[DiffPayload, tuple[str, ...]]]
    errors: list[str]


def parse_batch(
    envelope: Any, *, known_label: LabelCheck, pk_ok: PkCheck, max_bytes: int
) -> ParsedBatch:
    """Return the valid, the unknown-model and the rejected diffs of a task payload."""
    if not isinstance(envelope, dict) or envelope.get(BATCH_VERSION) != VERSION:
        return ParsedBatch([], [], [f"not a version {VERSION} diffs batch: {preview(envelope)}"])
    unknown_keys = set(envelope) - BATCH_FIELDS
    if unknown_keys:
        return ParsedBatch([], [], [f"unknown keys {sorted(unknown_keys)} in batch"])
    items = envelope.get(BATCH_DIFFS)
    if not isinstance(items, list):
        return ParsedBatch([], [], [f"batch has no list of diffs: {preview(envelope)}"])
    parsed = ParsedBatch([], [], [])
    objects = _Objects(known_label, pk_ok)
    for item in items:
        try:
            parsed.good.append(_check_diff(item, objects, max_bytes))
        except UnknownLabel as exc:
            parsed.unknown.append((item, exc.labels))
        except InvalidPayload as exc:
            parsed.errors.append(str(exc))
    return parsed


def check_diff(
    item: Any, *, known_label: LabelCheck, pk_ok: PkCheck, max_bytes: int
) -> CheckedDiff:
    """Return ``item`` checked and encoded for storage; raise ``InvalidPayload`` saying why not.

    A diff whose labels are well formed but unknown to ``known_label`` is checked in every other
    respect (its pks only for their type and size) and raises ``UnknownLabel``.
    """
    return _check_diff(item, _Objects(known_label, pk_ok), max_bytes)


#: What ``dict.get`` returns for a field a diff does not have (None may be a field's value).
_ABSENT: Any = object()


def _check_diff(item: Any, objects: _Objects, max_bytes: int) -> CheckedDiff:
    """:func:`check_diff`, with the labels and objects its batch checked already."""
    if not isinstance(item, dict):
        raise InvalidPayload(f"a diff must be an object: {preview(item)}")
    if not DIFF_FIELDS.issuperset(item):
        extra_keys = item.keys() - DIFF_FIELDS
        raise InvalidPayload(f"unknown keys {sorted(extra_keys)} in diff {preview(item)}")
    found_id = item.get(ID)
    if not isinstance(found_id, str) or not ID_PATTERN.fullmatch(found_id):
        raise InvalidPayload(f"bad or missing id in diff {preview(item)}")
    unknown: list[str] = []
    label, pk = objects.check(item.get(MODEL), item.get(PK), found_id, unknown)
    timestamp: Any = item.get(TIME)
    if (
        type(timestamp) not in (int, float)
        or not math.isfinite(timestamp)
        or timestamp < EARLIEST_TIME
    ):
        raise InvalidPayload(f"diff {found_id}: bad change time {timestamp!r}")
    member: dict[str, Any] = {ID: found_id}
    for flag in (CREATED, DELETED):
        if flag in item:
            if item[flag] not in (0, 1) or isinstance(item[flag], float):
                raise InvalidPayload(f"diff {found_id}: flag {flag!r} must be 0 or 1")
            if item[flag]:
                member[flag] = 1
    context = item.get(CONTEXT, _ABSENT)
    if context is not _ABSENT:
        try:
            check_context(context)
        except InvalidPayload as exc:
            raise InvalidPayload(f"diff {found_id}: {exc}") from exc
        if context:
            member[CONTEXT] = context
    new = item.get(NEW, _ABSENT)
    if new is _ABSENT:
        raise InvalidPayload(f"diff {found_id}: missing changed fields {NEW!r}")
    if not isinstance(new, dict) or not all(map(_is_str, new)):
        raise InvalidPayload(f"diff {found_id}: {NEW!r} must map field names to values")
    member[NEW] = new
    old = item.get(OLD, _ABSENT)
    if old is not _ABSENT:
        if not isinstance(old, dict) or not all(map(_is_str, old)):
            raise InvalidPayload(f"diff {found_id}: {OLD!r} must map field names to values")
        member[OLD] = old
    data = item.get(DATA, _ABSENT)
    if data is not _ABSENT:
        member[DATA] = data
    database = item.get(DATABASE, "")
    if database != "" and not (
        isinstance(database, str) and _DATABASE_PATTERN.fullmatch(database)
    ):
        raise InvalidPayload(f"diff {found_id}: bad database name {preview(database)}")
    listed = item.get(PARENTS, _ABSENT)
    parents = () if listed is _ABSENT else _check_parents(listed, objects, found_id, unknown)
    try:
        encoded = dumps(member)
    except ValueError as exc:  # NaN or infinity: JSON has no such numbers
        raise InvalidPayload(f"diff {found_id}: a value cannot be stored as JSON: {exc}") from exc
    if len(encoded) * 4 > max_bytes and len(encoded.encode()) > max_bytes:  # UTF-8: <= 4 bytes
        raise InvalidPayload(
            f"diff {found_id} of {label} pk={pk!r} is {len(encoded.encode())} bytes, over the "
            f"max_diff_bytes limit of {max_bytes}"
        )
    if unknown:
        raise UnknownLabel(
            f"diff {found_id} names models this worker does not know: {', '.join(unknown)}",
            tuple(dict.fromkeys(unknown)),
        )
    origin = _parent_member(encoded, label, pk) if parents else encoded
    # Every field of ``item`` was checked above: it is the DiffPayload it claims to be.
    return _checked((found_id, label, pk, float(timestamp), encoded, parents, origin, item,
                     database))


#: ``CheckedDiff`` from a tuple of all its fields, one C call (its ``__new__`` is Python).
_checked = CheckedDiff._make


def _parent_member(member: str, label: str, pk: int | str) -> str:
    """Return the copy of ``member`` kept by parents: ``dumps({**member, "m": label, "p": pk})``.

    Spliced into the text rather than encoded again: the member is already valid JSON, a
    checked label has no character JSON escapes, and an int pk is its own JSON text.
    """
    text = str(pk) if type(pk) is int else dumps(pk)
    return f'{member[:-1]},"{MODEL}":"{label}","{PK}":{text}}}'


def feed_member(member: str, pk: int | str) -> str:
    """Return the copy of ``member`` kept by its model's feed: ``dumps({**member, "p": pk})``
    (the feed's key names the model, not the object)."""
    text = str(pk) if type(pk) is int else dumps(pk)
    return f'{member[:-1]},"{PK}":{text}}}'


class _Objects:
    """The labels and objects one batch has checked already.

    A batch names a few models, and often the same parents, again and again: each label's
    pattern and ``known_label`` are checked once, and each valid ``(label, pk)`` once.
    """

    __slots__ = ("good", "known_label", "labels", "pk_ok")

    def __init__(self, known_label: LabelCheck, pk_ok: PkCheck) -> None:
        self.known_label = known_label
        self.pk_ok = pk_ok
        self.labels: dict[str, bool] = {}  # a well-formed label -> whether it is known
        self.good: set[tuple[str, int | str]] = set()  # a known label and a valid pk of it

    def check(
        self, label: Any, pk: Any, found_id: str, unknown: list[str]
    ) -> tuple[str, int | str]:
        """Return ``(label, pk)`` checked; a well-formed label ``known_label`` refuses goes to
        ``unknown`` (its pk is then checked only for its type and size)."""
        exact = type(label) is str and (type(pk) is int or type(pk) is str)
        if exact and (label, pk) in self.good:
            return label, pk
        known = self.labels.get(label) if type(label) is str else None
        if known is None:
            if not isinstance(label, str) or not _LABEL_PATTERN.fullmatch(label):
                raise InvalidPayload(f"diff {found_id}: unknown model label {preview(label)}")
            known = self.labels[label] = bool(self.known_label(label))
        if isinstance(pk, bool) or not isinstance(pk, (int, str)):
            raise InvalidPayload(f"diff {found_id}: pk of {label} must be an int or a string")
        if isinstance(pk, str) and (not pk or len(pk) > MAX_PK_LENGTH):
            raise InvalidPayload(f"diff {found_id}: pk of {label} is empty or too long")
        if not known:
            unknown.append(label)
        elif not self.pk_ok(label, pk):
            raise InvalidPayload(f"diff {found_id}: pk {preview(pk)} is not a valid pk of {label}")
        elif exact:
            self.good.add((label, pk))
        return label, pk


def _check_parents(
    parents: Any, objects: _Objects, found_id: str, unknown: list[str]
) -> tuple[tuple[str, int | str], ...]:
    if not isinstance(parents, list) or len(parents) > MAX_PARENTS:
        raise InvalidPayload(f"diff {found_id}: parents must be a list of at most {MAX_PARENTS}")
    checked = []
    for parent in parents:
        if not isinstance(parent, list) or len(parent) != 2:
            raise InvalidPayload(f"diff {found_id}: a parent must be [label, pk]")
        checked.append(objects.check(parent[0], parent[1], found_id, unknown))
    return tuple(checked)


def parse_pending(
    envelope: Any, known_alias: Callable[[str], bool]
) -> tuple[str, list[tuple[int, str]]]:
    """Return the database alias and ``(row id, diff id)`` pairs a batch asks to confirm."""
    pending = envelope.get(BATCH_PENDING) if isinstance(envelope, dict) else None
    if pending is None:
        return "", []
    if not isinstance(pending, dict) or not isinstance(pending.get(PENDING_ROWS), list):
        raise InvalidPayload(
            f"{BATCH_PENDING!r} must be {{{PENDING_DB!r}: alias, {PENDING_ROWS!r}: [...]}}: "
            f"{preview(pending)}"
        )
    alias = pending.get(PENDING_DB)
    if not isinstance(alias, str) or not known_alias(alias):
        raise InvalidPayload(f"{BATCH_PENDING!r} names an unknown database {preview(alias)}")
    rows = []
    for row in pending[PENDING_ROWS]:
        if (
            not isinstance(row, list) or len(row) != 2 or type(row[0]) is not int
            or not isinstance(row[1], str) or not ID_PATTERN.fullmatch(row[1])
        ):
            raise InvalidPayload(f"a pending row must be [int id, diff id]: {preview(row)}")
        rows.append((row[0], row[1]))
    return alias, rows
