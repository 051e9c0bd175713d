"""Names of their own for the kit's blocks and for a test run: a key prefix or a queue, and
``DIFFS_SETTINGS`` with them merged into what it is now."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.test.utils import override_settings


def fresh(name: str, kind: str) -> str:
    """Return ``<name>-<kind>-<random>``: a key prefix or a queue name no one else uses."""
    return f"{name}-{kind}-{uuid.uuid4().hex[:12]}"


def configured() -> dict[str, Any]:
    """Return ``settings.DIFFS_SETTINGS`` as it is now ({} when unset or not a dict)."""
    value = getattr(settings, "DIFFS_SETTINGS", None)
    return value if isinstance(value, dict) else {}


def merged(**keys: Any) -> override_settings:
    """Return an ``override_settings`` of ``DIFFS_SETTINGS`` with ``keys`` merged in."""
    return override_settings(DIFFS_SETTINGS={**configured(), **keys})
