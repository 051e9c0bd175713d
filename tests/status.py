"""Running ``manage.py diffs_status --json`` in a test: its findings and its failure."""

from __future__ import annotations

import io
import json
from typing import Any

from django.core.management import CommandError, call_command


def run_status(*args: str) -> tuple[dict[str, Any], str | None]:
    """Return the JSON the command printed and its error (None: it exited 0)."""
    out = io.StringIO()
    try:
        call_command("diffs_status", "--json", *args, stdout=out)
    except CommandError as exc:
        return json.loads(out.getvalue()), str(exc)
    return json.loads(out.getvalue()), None
