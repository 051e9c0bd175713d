"""Reading Server-Sent Events in tests, as the HTML standard's parser reads them."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Event:
    """One block of a stream: its fields (``data`` lines joined) and comments."""

    id: str | None = None
    data: str | None = None
    retry: int | None = None
    comments: list[str] = field(default_factory=list)

    @property
    def diff(self) -> dict[str, Any]:
        """Return the diff the event carries."""
        assert self.data is not None, self
        return json.loads(self.data)


class Reader:
    """Collects the events of a stream's chunks (bytes), however the chunks are cut."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._pending = ""

    def feed(self, chunk: bytes) -> None:
        self._pending += chunk.decode()
        while "\n\n" in self._pending:
            block, self._pending = self._pending.split("\n\n", 1)
            self.events.append(parse_block(block))

    @property
    def diffs(self) -> list[Event]:
        """Return the events that carry a diff."""
        return [event for event in self.events if event.data is not None]


def parse_block(block: str) -> Event:
    """Return the event of one block (the text between two blank lines)."""
    event = Event()
    for line in block.split("\n"):
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "":
            event.comments.append(value)
        elif name == "id":
            event.id = value
        elif name == "data":
            event.data = value if event.data is None else f"{event.data}\n{value}"
        elif name == "retry":
            event.retry = int(value)
    return event


async def read_async(
    chunks: AsyncIterator[bytes], reader: Reader, done: Callable[[Reader], bool]
) -> Reader:
    """Read ``chunks`` into ``reader`` until ``done(reader)`` or the stream ends."""
    while not done(reader):
        try:
            reader.feed(await chunks.__anext__())
        except StopAsyncIteration:
            break
    return reader


def read_sync(chunks: Iterator[bytes], reader: Reader, done: Callable[[Reader], bool]) -> Reader:
    """Read ``chunks`` into ``reader`` until ``done(reader)`` or the stream ends."""
    while not done(reader):
        try:
            reader.feed(next(chunks))
        except StopIteration:
            break
    return reader
