"""A model's feed: every diff of its objects in the order they were stored.

Kept by the worker for a model registered with ``model_feed=True``
(:func:`diffs.storage.keys.feed_key`); each member names its object's pk. Read a page at a
time after a position, as an object's feed is (:mod:`.page`).
"""

from __future__ import annotations

from ..conf import diffs_settings
from ..storage import store
from ..storage.connection import get_redis
from ..storage.keys import feed_key
from . import aio
from .diff import Diff, decode_many
from .outage import translated
from .page import Page, Position, page_of


class ModelFeed:
    """The feed of one model (``app_label.model``) in one database, oldest stored first."""

    def __init__(self, label: str, *, using: str = "default") -> None:
        self.label = label
        self.using = using

    @property
    def key(self) -> str:
        """Return the Redis key this feed reads."""
        return feed_key(diffs_settings.key_prefix, self.label,
                        diffs_settings.database_key(self.using))

    def decode(self, pairs: list[tuple[str, float]]) -> list[Diff]:
        """Return the diffs stored as ``(member, score)`` pairs of this feed's key."""
        return decode_many(pairs, self.label, None, self.using)

    @translated
    def page(self, after: Position | None = None, limit: int = 100) -> Page:
        """Return up to ``limit`` diffs stored after the position ``after``."""
        pipe = store.read_after(get_redis(), self.key, None if after is None else after[0], limit)
        return page_of(pipe.execute(), after, limit, self.decode)

    async def apage(self, after: Position | None = None, limit: int = 100) -> Page:
        """Return up to ``limit`` diffs stored after ``after``, through the async client."""
        return await aio.apage(self, after, limit)

    def __repr__(self) -> str:
        return f"<ModelFeed {self.label} using={self.using!r}>"
