"""django-diffs: record every change of registered Django models in Redis, via Celery.

    import diffs

    @diffs.register
    class Question(models.Model):
        ...

    question.diffs[-1].data
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from .exceptions import (
    AlreadyRegistered,
    ConfigurationError,
    DiffsError,
    InvalidOption,
    InvalidPruneOption,
    NotAModel,
    NotRecordable,
    NotRegistered,
    RecordingError,
    StorageUnavailable,
    UnknownField,
    UnsavedInstance,
)
from .installer import register
from .reading.delta import DeletedObject, ModelChange, ModelDelta
from .reading.diff import Diff
from .reading.diffset import DiffSet
from .recording.context import context, disabled
from .recording.queryset import RecordedManager, RecordedQuerySet
from .registry import is_registered
from .transport.runtime import flush, stats

try:
    __version__ = version("django-diffs")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    "AlreadyRegistered",
    "ConfigurationError",
    "DeletedObject",
    "Diff",
    "DiffSet",
    "DiffsError",
    "InvalidOption",
    "InvalidPruneOption",
    "ModelChange",
    "ModelDelta",
    "NotAModel",
    "NotRecordable",
    "NotRegistered",
    "RecordedManager",
    "RecordedQuerySet",
    "RecordingError",
    "StorageUnavailable",
    "UnknownField",
    "UnsavedInstance",
    "__version__",
    "context",
    "disabled",
    "flush",
    "is_registered",
    "register",
    "stats",
]
