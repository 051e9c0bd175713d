"""Named errors raised on misuse; each message says what to do about it."""

from __future__ import annotations


class DiffsError(Exception):
    """Base class of every error this library raises on purpose."""


class NotAModel(DiffsError, TypeError):
    """``register`` was given something that is not a concrete Django model class."""


class AlreadyRegistered(DiffsError):
    """The model is registered twice."""


class NotRegistered(DiffsError, LookupError):
    """Diffs were asked of a model that was never registered."""


class UnknownField(DiffsError, ValueError):
    """A field name given to ``register`` or a delta does not exist on the model."""


class UnsavedInstance(DiffsError, ValueError):
    """Diffs were asked of an instance that has no primary key yet."""


class InvalidPayload(DiffsError, ValueError):
    """A task payload or stored member failed validation; it is never written."""


class RecordingError(DiffsError):
    """Building a diff failed (a bad value, a raising hook); raised only with ``raise_errors``."""


class InvalidPruneOption(DiffsError, ValueError):
    """``prune`` was given a max age or batch size it cannot use."""
