"""Play a test's commits: run ``on_commit`` callbacks when a real transaction would commit.

A ``TestCase`` wraps each test in transactions that are rolled back, so Django never runs the
callbacks registered inside (``captureOnCommitCallbacks(execute=True)`` runs them only when its
block ends, too late to read a diff right after the save). :class:`CommitPlayer` runs them as
soon as the connection is back at the test's own level, the point at which, outside a test, the
transaction would have committed:

* a callback registered outside any block of the test's code (a plain ``save()``) runs at once,
  as it would in autocommit mode;
* callbacks registered inside ``atomic()`` blocks (the test's own, or ``delete()``'s and
  ``add()``'s) run when the outermost of them exits without an error; a block rolled back drops
  its callbacks, as Django does.

Exits are seen by wrapping ``Atomic.__exit__`` while a player is active (one per process: tests
run in one thread), and each connection's ``on_commit``. Callbacks that were already waiting
when the player started are not its own and are left alone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from ..exceptions import ConfigurationError

logger = logging.getLogger("diffs")


def at_test_level(connection: BaseDatabaseWrapper) -> bool:
    """Return whether every open atomic block of ``connection`` is one a test case opened."""
    return all(getattr(block, "_from_testcase", False) for block in connection.atomic_blocks)


class CommitPlayer:
    """Run the ``on_commit`` callbacks of a test's code when their transaction would commit."""

    def __init__(self) -> None:
        self.before: dict[str, list[Callable[[], Any]]] = {}
        self.connections: dict[str, BaseDatabaseWrapper] = {}
        self.original_exit: Any = None
        self.playing = False

    def start(self) -> None:
        """Start watching every database's connection of this thread (only this thread's)."""
        for alias in connections:
            connection = connections[alias]
            self.before[alias] = [entry[1] for entry in connection.run_on_commit]
            connection.on_commit = self._on_commit_of(connection, alias)  # type: ignore[method-assign]
            self.connections[alias] = connection
        self.original_exit = transaction.Atomic.__exit__
        player, original_exit = self, self.original_exit

        def __exit__(atomic: transaction.Atomic, *exc_info: Any) -> Any:
            result = original_exit(atomic, *exc_info)
            player.play(atomic.using or DEFAULT_DB_ALIAS)
            return result

        transaction.Atomic.__exit__ = __exit__  # type: ignore[method-assign]

    def stop(self) -> None:
        """Run what is still waiting (as ``captureOnCommitCallbacks`` does), then stop."""
        try:
            for alias in self.before:
                self.play(alias, force=True)
        finally:
            transaction.Atomic.__exit__ = self.original_exit  # type: ignore[method-assign]
            for connection in self.connections.values():
                connection.__dict__.pop("on_commit", None)
            self.connections = {}

    def _on_commit_of(self, connection: BaseDatabaseWrapper, alias: str) -> Any:
        original = type(connection).on_commit

        def on_commit(func: Callable[[], Any], robust: bool = False) -> None:
            original(connection, func, robust)
            self.play(alias)

        return on_commit

    def play(self, alias: str, force: bool = False) -> None:
        """Run the callbacks of ``alias`` whose transaction is over (all of them: ``force``)."""
        connection = connections[alias]
        if self.playing or self.connections.get(alias) is not connection:
            return  # busy, or another thread's connection: its commits are its own
        if connection.needs_rollback or not (force or at_test_level(connection)):
            return
        self.playing = True
        try:
            while True:
                known = self.before[alias]
                due = [entry for entry in connection.run_on_commit
                       if not any(entry[1] is func for func in known)]
                if not due:
                    return
                connection.run_on_commit = [
                    entry for entry in connection.run_on_commit if entry not in due
                ]
                for entry in due:  # (savepoint ids, callback, robust)
                    _run(entry[1], bool(entry[-1]))
        finally:
            self.playing = False


def _run(func: Callable[[], Any], robust: bool) -> None:
    """Run one callback the way Django runs it at a commit.

    A robust callback's error is logged, but a ``ConfigurationError`` (the test broke its own
    isolation) is raised: it must fail the test, not leave it reading nothing.
    """
    if not robust:
        func()
        return
    try:
        func()
    except ConfigurationError:
        raise
    except Exception as exc:
        logger.error("Error calling %s in on_commit() (%s).", func.__qualname__, exc,
                     exc_info=True)
