"""Reads the storage does not answer raise ``diffs.StorageUnavailable``, never redis-py's errors.

Whatever the storage (one server, a cluster, a Sentinel's master) and whichever of redis-py's
errors it gave, a caller of ``instance.diffs`` handles one error of this library, whose message
names the storage (without its password) and says what to do. ``ConfigurationError`` (the
settings name no usable storage) passes through as it is: it is not an outage.
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable
from typing import Any, TypeVar

import redis
import redis.exceptions

from ..conf import diffs_settings
from ..exceptions import StorageUnavailable

FuncT = TypeVar("FuncT", bound=Callable[..., Any])

#: What redis-py raises when a storage does not answer (a cluster's own errors included).
STORAGE_ERRORS = (redis.RedisError, redis.exceptions.RedisClusterException)

#: The password of a URL (``//user:password@``), wherever it sits in a description.
_PASSWORD = re.compile(r"(//[^/:@\s]*:)[^@\s]*@")


def without_password(text: str) -> str:
    """Return ``text`` with the password of each URL in it replaced by ``***``."""
    return _PASSWORD.sub(r"\1***@", text)


def storage_name() -> str:
    """Return where the configured storage is, for messages (no password)."""
    return without_password(diffs_settings.storage.describe())


def unavailable(exc: BaseException) -> StorageUnavailable:
    """Return the library's error for the storage error ``exc``."""
    name = storage_name()
    return StorageUnavailable(
        f"The diffs storage Redis at {name!r} did not answer ({type(exc).__name__}: "
        f"{without_password(str(exc))}). Start it, or correct DIFFS_SETTINGS['redis'].",
        storage=name,
    )


def translated(func: FuncT) -> FuncT:
    """Return ``func`` (a function or a coroutine function) raising ``StorageUnavailable``
    where the storage raised one of redis-py's errors."""
    if inspect.iscoroutinefunction(func):

        @functools.wraps(func)
        async def answering(*args: Any, **kwargs: Any) -> Any:
            try:
                return await func(*args, **kwargs)
            except STORAGE_ERRORS as exc:
                raise unavailable(exc) from exc

        return answering  # type: ignore[return-value]

    @functools.wraps(func)
    def answered(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except STORAGE_ERRORS as exc:
            raise unavailable(exc) from exc

    return answered  # type: ignore[return-value]
