"""Publish articles to the bus: in-process (embedded) or Apache Kafka (kafka-python).

`publish` returns only once the bus has acknowledged every article; it raises otherwise, so the
caller never marks unacknowledged items as seen.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from newsvigil.bus import ALERTS_HEADER, ARTICLES, MemoryBus, encode_article
from newsvigil.records import Article


class PublishFailed(Exception):
    """The bus did not acknowledge every article."""


class ArticlePublisher(Protocol):
    # True when publish waits on the network (Kafka's acks): the poller then runs it in a thread, so a
    # broker outage never freezes polling nor makes other feeds' fetches time out.
    blocking: bool

    def publish(self, articles: Sequence[Article]) -> None: ...

    def close(self) -> None: ...


class MemoryPublisher:
    """Embedded mode: hand articles to the in-process bus."""

    blocking = False  # stores at once, on the poller's loop (SQLite takes one writer)

    def __init__(self, bus: MemoryBus) -> None:
        self.bus = bus

    def publish(self, articles: Sequence[Article]) -> None:
        if articles:
            self.bus.publish(ARTICLES, list(articles))

    def close(self) -> None:
        pass


class KafkaPublisher:
    """Kafka mode: idempotent producer, acks=all, each send's future checked."""

    blocking = True

    def __init__(self, servers: list[str], topic: str, timeout: float = 30.0) -> None:
        from kafka import KafkaProducer
        from kafka.errors import KafkaError

        self._kafka_error = KafkaError
        self.topic = topic
        self.timeout = timeout
        try:
            self.producer = KafkaProducer(
                bootstrap_servers=servers,
                client_id="newsvigil-ingest",
                acks="all",
                enable_idempotence=True,
                retries=2_147_483_647,
                max_in_flight_requests_per_connection=5,
                delivery_timeout_ms=int(timeout * 1000),
                request_timeout_ms=max(1000, int(timeout * 1000) - 5000),
                max_block_ms=int(timeout * 1000),
                linger_ms=5,
                compression_type="gzip",
            )
        except KafkaError as exc:
            raise PublishFailed(f"cannot reach Kafka at {','.join(servers)}: {exc}") from None

    def publish(self, articles: Sequence[Article], alerts: str | None = None) -> None:
        """Send and wait for every acknowledgement; `alerts` marks replayed articles' alert policy."""
        headers = [(ALERTS_HEADER, alerts.encode())] if alerts else None
        futures = [
            self.producer.send(self.topic, key=a.id.encode(), value=encode_article(a), headers=headers)
            for a in articles
        ]
        self.producer.flush(timeout=self.timeout)
        for future in futures:
            try:
                future.get(timeout=self.timeout)
            except self._kafka_error as exc:
                raise PublishFailed(f"Kafka did not acknowledge an article: {exc}") from None

    def close(self) -> None:
        self.producer.close(timeout=self.timeout)
