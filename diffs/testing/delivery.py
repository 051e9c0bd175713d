"""Write diffs in this process, as the write task would, and take them back: no broker, no
worker, no thread.

The recording side builds the batch exactly as it does for Celery; it is then encoded to the
JSON text a task message carries and handed to the worker's own :func:`writer.write_batch`, so a
diff a worker would reject is rejected (and logged) here too. The outbox rows a batch names are
confirmed and deleted as the write task does, so ``durability="outbox"`` leaves no
``PendingDiff`` row behind. :meth:`Delivery.withdraw` removes written diffs again, from their
objects', parents' and model feeds' keys, when their transaction rolls back.
"""

from __future__ import annotations

from .. import wire
from ..conf import diffs_settings
from ..exceptions import ConfigurationError
from ..registry import keeps_model_feed
from ..storage import store, writer
from ..storage.connection import get_redis
from ..transport import pending
from ..wire import DiffPayload, PendingRef


class Delivery:
    """Store batches now, under one block's key prefix (a sink: called as the sink is)."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def __call__(self, diffs: list[DiffPayload], outbox: PendingRef | None = None) -> None:
        if diffs_settings.key_prefix != self.prefix:
            # A test replaced DIFFS_SETTINGS whole: writing now would reach development data.
            raise ConfigurationError(
                f"DIFFS_SETTINGS['key_prefix'] is {diffs_settings.key_prefix!r} inside "
                f"diffs.testing.isolated(), whose prefix is {self.prefix!r}: override "
                "DIFFS_SETTINGS by merging ({**settings.DIFFS_SETTINGS, ...}), not replacing "
                "it"
            )
        envelope = wire.batch(diffs, outbox)
        result = writer.write_batch(wire.dumps(envelope))
        pending.confirm_batch(envelope, result.stored_ids)

    def withdraw(self, diffs: list[DiffPayload]) -> None:
        """Remove ``diffs`` (written by this delivery) from the block's keys."""
        store.remove(get_redis(), self.prefix, writer.check(wire.batch(diffs)).good,
                     keeps_model_feed)
