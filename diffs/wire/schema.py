"""The shape of a diff and of a batch on the wire: field names, limits and their types.

One diff is a flat JSON object::

    {"i": id, "m": "app.model", "p": pk, "t": unix_time,
     "f": {field: new}, "o": {field: old},        # "o" is absent on create
     "c": 1, "x": 1,                              # created / deleted flags, absent when false
     "d": data,                                   # only when the model defines serialize_diff
     "a": {"actor": 5, ...},                      # the change context, only when there is one
     "u": "replica",                              # its database's name in keys; absent: default
     "r": [["app.model", pk], ...]}               # parents, nearest first

A batch is ``{"v": 1, "diffs": [diff, ...], "pending": {"db": alias, "rows": [[row, id]]}}``;
``pending`` names the ``PendingDiff`` rows that hold its diffs (outbox, or resent spool).

In Redis, the key names the object and the score is the time, so a stored member keeps only
``i``, ``c``, ``x``, ``f``, ``o``, ``d`` and ``a``; the copy rolled up to a parent also keeps
``m`` and ``p``, naming the child. No other module spells a field name.
"""

from __future__ import annotations

from typing import Any, Final, TypedDict

#: The batch format version; a worker rejects any other.
VERSION: Final = 1

# The fields of one diff.
ID: Final = "i"
MODEL: Final = "m"
PK: Final = "p"
TIME: Final = "t"
NEW: Final = "f"
OLD: Final = "o"
CREATED: Final = "c"
DELETED: Final = "x"
DATA: Final = "d"
CONTEXT: Final = "a"
DATABASE: Final = "u"
PARENTS: Final = "r"
DIFF_FIELDS: Final = frozenset(
    {ID, MODEL, PK, TIME, NEW, OLD, CREATED, DELETED, DATA, CONTEXT, DATABASE, PARENTS}
)

# The batch envelope, and the reference to the PendingDiff rows holding its diffs.
BATCH_VERSION: Final = "v"
BATCH_DIFFS: Final = "diffs"
BATCH_PENDING: Final = "pending"
BATCH_FIELDS: Final = frozenset({BATCH_VERSION, BATCH_DIFFS, BATCH_PENDING})
PENDING_DB: Final = "db"
PENDING_ROWS: Final = "rows"

#: How many ancestors a diff rolls up to: the recording side stops there, the worker refuses more.
MAX_PARENTS: Final = 32
#: The longest string pk a diff may name (it becomes part of a Redis key).
MAX_PK_LENGTH: Final = 1024
#: 2000-01-01: an older change time is not a real one.
EARLIEST_TIME: Final = 946684800.0
#: The key of the stand-in recorded for a value too large to store.
OMITTED: Final = "$omitted"
#: The change context's limits: its encoded size, how deep it nests (the object itself is
#: depth 1), how long a name of it may be.
MAX_CONTEXT_BYTES: Final = 4096
MAX_CONTEXT_DEPTH: Final = 8
MAX_CONTEXT_NAME: Final = 100

#: A value a diff does not carry: an old value never loaded, a new one only the database has.
#: On the wire such a field is simply absent from ``o`` (or ``f``).
UNKNOWN: Any = type("Unknown", (), {"__repr__": lambda self: "<unknown>"})()

#: A primary key as it travels and names keys.
Pk = int | str

class _DiffRequired(TypedDict):
    i: str
    m: str
    p: Pk
    t: float
    f: dict[str, Any]


class DiffPayload(_DiffRequired, total=False):
    """One diff as the web process builds it (:func:`diffs.wire.build.new_diff`).

    A worker never trusts this shape: it checks every payload (:mod:`diffs.wire.validation`).
    """

    o: dict[str, Any]
    c: int
    x: int
    d: Any
    a: dict[str, Any]
    u: str
    r: list[list[Any]]


#: The ``PendingDiff`` rows a batch names: ``{"db": alias, "rows": [[row id, diff id], ...]}``.
class PendingRef(TypedDict):
    """``{"db": alias, "rows": [[row id, diff id], ...]}``."""

    db: str
    rows: list[list[Any]]


class _BatchRequired(TypedDict):
    v: int
    diffs: list[DiffPayload]


class BatchPayload(_BatchRequired, total=False):
    """A batch of diffs, the one argument of the write task (as JSON text)."""

    pending: PendingRef
