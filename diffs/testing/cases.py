"""``DiffsTestMixin`` for ``TestCase`` classes, and two helpers that read what was recorded."""

from __future__ import annotations

from typing import Any

from django.db import models

from ..reading.diff import Diff
from .isolation import isolated

_UNSET: Any = object()


def recorded(obj: models.Model | type[models.Model], pk: Any = None) -> list[Diff]:
    """Return the diffs of ``obj`` (an instance, or a model class and ``pk``), oldest first.

    A model class and a pk reach an object that no longer has one: Django sets the pk of a
    deleted instance to None.
    """
    if isinstance(obj, type):
        return list(obj.diffs.get_by_object_id(pk))  # type: ignore[attr-defined]  # added by register()
    return list(obj.diffs)  # type: ignore[attr-defined]  # added by register()


def assert_diff_recorded(
    obj: models.Model | type[models.Model],
    pk: Any = None,
    *,
    created: bool | None = None,
    deleted: bool | None = None,
    **new: Any,
) -> Diff:
    """Assert that the newest diff of ``obj`` set each field of ``new``; return that diff.

    ``created`` and ``deleted``, when given, must match the diff's flags. Values are compared
    with what the diff holds, the JSON form of each field (a date is its ISO string).
    """
    diffs = recorded(obj, pk)
    if not diffs:
        raise AssertionError(f"no diff was recorded for {_name(obj, pk)}")
    diff = diffs[-1]
    wrong = [f"{field}={diff.new.get(field, '<unchanged>')!r}, expected {value!r}"
             for field, value in new.items() if diff.new.get(field, _UNSET) != value]
    for flag, expected in (("created", created), ("deleted", deleted)):
        if expected is not None and getattr(diff, flag) is not expected:
            wrong.append(f"{flag}={getattr(diff, flag)!r}, expected {expected!r}")
    if wrong:
        raise AssertionError(
            f"the newest diff of {_name(obj, pk)} has {'; '.join(wrong)} "
            f"(it changed {diff.new!r} from {diff.old!r})"
        )
    return diff


def _name(obj: models.Model | type[models.Model], pk: Any) -> str:
    if isinstance(obj, type):
        return f"{obj._meta.label} pk={pk!r}"
    return f"{obj._meta.label} pk={obj.pk!r}"


class DiffsTestMixin:
    """Run each test of a ``TestCase`` inside :func:`~diffs.testing.isolated`.

    Put it before ``TestCase`` in the bases and call ``super().setUp()`` first in your own
    ``setUp``: what is saved from then on is readable at once through ``obj.diffs``.
    """

    def setUp(self) -> None:
        block = isolated()
        self.diffs_prefix = block.__enter__().prefix
        # A mixin: addCleanup() comes from the TestCase it is mixed into.
        self.addCleanup(block.__exit__, None, None, None)  # type: ignore[attr-defined]
        super().setUp()  # type: ignore[misc]  # the TestCase mixed in has it

    def recorded(self, obj: models.Model | type[models.Model], pk: Any = None) -> list[Diff]:
        """Return the diffs of ``obj`` (see :func:`~diffs.testing.recorded`)."""
        return recorded(obj, pk)

    def assertDiffRecorded(
        self,
        obj: models.Model | type[models.Model],
        pk: Any = None,
        *,
        created: bool | None = None,
        deleted: bool | None = None,
        **new: Any,
    ) -> Diff:
        """Assert what the newest diff of ``obj`` holds (see ``assert_diff_recorded``)."""
        return assert_diff_recorded(obj, pk, created=created, deleted=deleted, **new)
