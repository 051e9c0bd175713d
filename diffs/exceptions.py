"""Named errors raised on misuse; each message says what to do about it."""

from __future__ import annotations


class DiffsError(Exception):
    """Base class of every error this library raises on purpose."""


class NotAModel(DiffsError, TypeError):
    """``register`` was given something that is not a concrete Django model class (an abstract
    model, or a proxy: a proxy's saves are recorded in its concrete model's history)."""


class AlreadyRegistered(DiffsError):
    """The model is registered twice."""


class NotRegistered(DiffsError, LookupError):
    """Diffs were asked of a model that was never registered."""


class InvalidOption(DiffsError, ValueError):
    """An option given to ``register`` (or another call) has a value it cannot use."""


class UnknownField(InvalidOption):
    """A field name given to ``register`` or a delta does not exist on the model."""


class InvalidPruneOption(InvalidOption):
    """``prune`` was given a max age or batch size it cannot use."""


class UnsavedInstance(DiffsError, ValueError):
    """Diffs were asked of an instance that has no primary key yet."""


class RecordingError(DiffsError):
    """Building a diff failed (a bad value, a raising hook); raised only with ``raise_errors``."""


class NotRecordable(RecordingError):
    """A bulk write whose rows cannot be known, such as ``bulk_create(ignore_conflicts=True)``.

    Raised before anything is written, and only with ``raise_errors``; otherwise the write goes
    ahead unrecorded and an error is logged.
    """


class ConfigurationError(DiffsError):
    """The project is set up so that diffs cannot be sent or stored (not an outage)."""


class StorageUnavailable(DiffsError, ConnectionError):
    """The storage Redis did not answer a read (stopped, unreachable, refusing the command).

    Its message names the storage (never its password) and what redis-py reported; ``storage``
    holds the same description. Also a ``ConnectionError``, so code that already handles
    network failures handles it too.
    """

    def __init__(self, message: str, *, storage: str = "") -> None:
        super().__init__(message)
        self.storage = storage
