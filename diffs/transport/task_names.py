"""The names of the Celery tasks: the web side sends by name, ``diffs_tasks`` registers them.

The library never imports its tasks (a web process need not have ``diffs_tasks`` loaded to
publish), so both sides take the names from here.
"""

from __future__ import annotations

from typing import Final

#: Stores a batch of diffs (its one argument: the batch as JSON text).
WRITE_TASK: Final = "diffs.write"
#: Removes the diffs older than their max age.
PRUNE_TASK: Final = "diffs.prune"
#: Sends again the diffs kept in the database.
RESEND_TASK: Final = "diffs.resend"
