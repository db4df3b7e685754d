"""Create the bus topics before any worker starts: faust does not create source topics, and a
partition count that differs from what the workers expect makes them skip messages."""

from __future__ import annotations

import contextlib
import time
from datetime import datetime

from newsvigil.errors import BrokerError, BrokerUnreachable, ConfigError, TopicMissing, WorkersRunning
from newsvigil.settings import Settings

CHANNELS = ("articles", "events", "deadletter")


def _admin(settings: Settings):
    """A Kafka admin client; an unreachable broker is a one-line error."""
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    try:
        return KafkaAdminClient(
            bootstrap_servers=settings.kafka_servers, client_id="newsvigil-admin", request_timeout_ms=30_000
        )
    except KafkaError as exc:
        raise BrokerUnreachable(f"cannot reach Kafka at {settings.broker}: {exc}") from None


def ensure_topics(settings: Settings) -> dict[str, int]:
    """Create missing bus topics with `kafka_partitions` partitions; refuse a mismatch. Returns name -> partitions."""
    from kafka.admin import NewTopic
    from kafka.errors import TopicAlreadyExistsError

    names = [settings.bus_topic(c) for c in CHANNELS]
    admin = _admin(settings)
    try:
        existing = set(admin.list_topics())
        missing = [n for n in names if n not in existing]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):  # another process created them first
                admin.create_topics([NewTopic(n, settings.kafka_partitions, 1) for n in missing])
        partitions = _described_partitions(admin, names)
    finally:
        admin.close()
    for name, count in partitions.items():
        if count != settings.kafka_partitions:
            raise ConfigError(
                f"Kafka topic {name} has {count} partitions but NEWSVIGIL_KAFKA_PARTITIONS is {settings.kafka_partitions}",
                "set NEWSVIGIL_KAFKA_PARTITIONS to match, or recreate the topic",
            )
    return partitions


def _described_partitions(admin, names: list[str], wait: float = 10.0) -> dict[str, int]:
    """Partitions of each topic. A topic created a moment ago (here or by another process) can be
    described with none until the controller's metadata reaches the broker: asked again then."""
    deadline = time.monotonic() + wait
    while True:
        described = admin.describe_topics(names)
        partitions = {t["name"]: len(t["partitions"]) for t in described}
        if all(partitions.values()):
            return partitions
        if time.monotonic() >= deadline:
            empty = next(t for t in described if not t["partitions"])
            raise BrokerError(
                f"Kafka describes topic {empty['name']} with no partitions after {wait:.0f} s "
                f"(error code {empty.get('error_code')})",
                "check the broker's log; the topic may be being deleted or its metadata not yet propagated",
            )
        time.sleep(0.2)


def articles_lag(settings: Settings) -> int:
    """Messages of <prefix>.articles the worker group has not committed yet (all partitions)."""
    from kafka import KafkaConsumer, TopicPartition

    topic = settings.bus_topic("articles")
    # A consumer that never subscribes or polls reads the group's offsets without joining it.
    consumer = KafkaConsumer(
        bootstrap_servers=settings.kafka_servers,
        group_id=settings.kafka_group,
        enable_auto_commit=False,
        client_id="newsvigil-lag",
    )
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
        ends = consumer.end_offsets(partitions)
        return sum(max(0, ends[tp] - (consumer.committed(tp) or 0)) for tp in partitions)
    finally:
        consumer.close()


def rewind_workers(settings: Settings, since: datetime) -> dict[int, int]:
    """Move the worker group's offsets on <prefix>.articles back to the first message at or after
    `since`, so that the workers re-run from there. Refused while workers are running (Kafka only
    lets an empty group's offsets be changed). Returns partition -> new offset."""
    from kafka import TopicPartition
    from kafka.admin import OffsetTimestamp
    from kafka.errors import KafkaError, NoError

    topic = settings.bus_topic("articles")
    group = settings.kafka_group
    admin = _admin(settings)
    try:
        described = admin.describe_groups([group])[group]
        if described["members"]:
            raise WorkersRunning(f"consumer group {group} has {len(described['members'])} running worker(s)")
        topics = {t["name"]: t for t in admin.describe_topics([topic])}
        partitions = sorted(p["partition_index"] for p in topics.get(topic, {}).get("partitions", []))
        if not partitions:
            raise TopicMissing(f"Kafka topic {topic} does not exist")
        at = OffsetTimestamp(int(since.timestamp() * 1000))
        result = admin.reset_group_offsets(group, {TopicPartition(topic, p): at for p in partitions})
    except KafkaError as exc:
        raise BrokerError(f"Kafka refused to move the offsets of {group}: {exc}") from None
    finally:
        admin.close()
    failed = {tp.partition: r["error"] for tp, r in result.items() if r["error"] not in (None, NoError)}
    if failed:
        raise BrokerError(f"Kafka refused to move the offsets of {group}: {failed}")
    return {tp.partition: r["offset"] for tp, r in sorted(result.items())}
