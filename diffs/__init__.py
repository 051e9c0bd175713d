"""django-diffs: record every change of registered Django models in Redis, via Celery.

    import diffs

    @diffs.register
    class Question(models.Model):
        ...

    question.diffs[-1].data
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from .delta import DeletedObject, ModelChange, ModelDelta
from .exceptions import (
    AlreadyRegistered,
    DiffsError,
    InvalidPayload,
    InvalidPruneOption,
    NotAModel,
    NotRegistered,
    RecordingError,
    UnknownField,
    UnsavedInstance,
)
from .records import Diff
from .registry import is_registered, register

try:
    __version__ = version("django-diffs")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    "AlreadyRegistered",
    "DeletedObject",
    "Diff",
    "DiffsError",
    "InvalidPayload",
    "InvalidPruneOption",
    "ModelChange",
    "ModelDelta",
    "NotAModel",
    "NotRegistered",
    "RecordingError",
    "UnknownField",
    "UnsavedInstance",
    "__version__",
    "is_registered",
    "register",
]
