"""Bus topic names (shared by both modes) and the in-process bus of the embedded mode."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from newsvigil.records import SCHEMA_VERSION, Article

ARTICLES = "newsvigil.articles"
EVENTS = "newsvigil.events"
DEADLETTER = "newsvigil.deadletter"
ALERTS_HEADER = "newsvigil-alerts"  # a message header: the alert policy of replayed articles

Handler = Callable[[Sequence[Any]], object]  # what a handler returns is ignored


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


def encode_article(article: Article) -> bytes:
    """The wire form of an article: compact JSON carrying its schema version."""
    return json.dumps(article.to_json(), ensure_ascii=False, separators=(",", ":")).encode()


def decode_article(data: bytes | None) -> Article:
    """Parse a wire article; ValueError says what is wrong with it."""
    if not data:
        raise ValueError("empty message")
    try:
        payload = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"not JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise ValueError("not a JSON object")
    if payload.get("schema") != SCHEMA_VERSION:
        raise ValueError(f"unsupported schema version {payload.get('schema')!r} (expected {SCHEMA_VERSION})")
    missing = [k for k in ("id", "feed_url") if not payload.get(k)]
    if missing:
        raise ValueError(f"missing field(s): {', '.join(missing)}")
    try:
        return Article.from_json(payload)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"bad field: {exc}") from None
