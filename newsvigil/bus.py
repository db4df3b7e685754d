"""Bus topic names (shared by both modes) and the in-process bus of the embedded mode."""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Callable, Sequence

ARTICLES = "newsvigil.articles"
EVENTS = "newsvigil.events"
DEADLETTER = "newsvigil.deadletter"

Handler = Callable[[Sequence[Any]], None]


class MemoryBus:
    """Synchronous in-process bus: publish returns once every subscriber has handled the batch,
    which is the embedded mode's acknowledgement (a handler's exception propagates to the publisher)."""

    def __init__(self) -> None:
        self._handlers: dict[str, list[Handler]] = defaultdict(list)

    def subscribe(self, topic: str, handler: Handler) -> None:
        self._handlers[topic].append(handler)

    def publish(self, topic: str, records: Sequence[Any]) -> None:
        for handler in self._handlers[topic]:
            handler(records)
