"""The wire format: what a diff and a batch of diffs are, and what the worker accepts of them.

Every producer and consumer goes through this package: the recording side builds diffs with
:func:`new_diff` and batches with :func:`batch` (:mod:`.build`), the worker checks them with
:func:`parse_batch` (:mod:`.validation`); :func:`squash` joins one transaction's repeated
saves of an object (:mod:`.squash`), the reading side decodes stored members with
:func:`decode_members` (:mod:`.decoding`). :mod:`.schema` names every field and limit, and the
types a diff and a batch travel as; :mod:`.ids` makes the ids; :mod:`.encoding` is the one JSON
encoding. The names other layers use are gathered here.
"""

from __future__ import annotations

from .build import (
    batch,
    batch_diffs,
    batch_ids,
    batch_pending,
    diff_id,
    merge_pending,
    new_diff,
    pending_database,
    pending_rows,
)
from .context import InvalidPayload, check_context
from .decoding import StoredDiff, decode_members
from .encoding import dumps, encode_pk
from .ids import change_time, id_micros, id_time, is_diff_id
from .schema import (
    CONTEXT,
    CREATED,
    DATA,
    DATABASE,
    DELETED,
    ID,
    MAX_CONTEXT_DEPTH,
    MAX_PARENTS,
    MAX_PK_LENGTH,
    MODEL,
    NEW,
    OLD,
    OMITTED,
    PARENTS,
    PK,
    TIME,
    UNKNOWN,
    BatchPayload,
    DiffPayload,
    PendingRef,
    Pk,
)
from .squash import squash
from .validation import (
    CheckedDiff,
    ParsedBatch,
    UnknownLabel,
    check_diff,
    feed_member,
    parse_batch,
    parse_pending,
)

__all__ = [
    "CONTEXT",
    "CREATED",
    "DATA",
    "DATABASE",
    "DELETED",
    "ID",
    "MAX_CONTEXT_DEPTH",
    "MAX_PARENTS",
    "MAX_PK_LENGTH",
    "MODEL",
    "NEW",
    "OLD",
    "OMITTED",
    "PARENTS",
    "PK",
    "TIME",
    "UNKNOWN",
    "BatchPayload",
    "CheckedDiff",
    "DiffPayload",
    "InvalidPayload",
    "ParsedBatch",
    "PendingRef",
    "Pk",
    "StoredDiff",
    "UnknownLabel",
    "batch",
    "batch_diffs",
    "batch_ids",
    "batch_pending",
    "change_time",
    "check_context",
    "check_diff",
    "decode_members",
    "diff_id",
    "dumps",
    "encode_pk",
    "feed_member",
    "id_micros",
    "id_time",
    "is_diff_id",
    "merge_pending",
    "new_diff",
    "parse_batch",
    "parse_pending",
    "pending_database",
    "pending_rows",
    "squash",
]
