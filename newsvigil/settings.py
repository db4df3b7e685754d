"""All configuration, read once from NEWSVIGIL_* environment variables (or a .env file)."""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from newsvigil.defaults import (
    DEFAULT_LANGUAGES,
    DEFAULT_SPIKE_ALPHA,
    DEFAULT_SPIKE_BASELINE_DAYS,
    DEFAULT_SPIKE_COOLDOWN_HOURS,
    DEFAULT_SPIKE_FLOOR,
    DEFAULT_SPIKE_HALFLIFE_HOURS,
    DEFAULT_SPIKE_LATE_HOURS,
    DEFAULT_SPIKE_MIN_REPORTS,
    DEFAULT_SPIKE_WARMUP_HOURS,
    DEFAULT_STORY_WINDOW_HOURS,
)

SEEDS = Path(__file__).resolve().parent / "seeds"  # seeds/ in a checkout, package data when installed


def _seed(name: str) -> str:
    """Path of a shipped seed file."""
    return str(SEEDS / name)


class Settings(BaseSettings):
    """newsvigil settings; every field is NEWSVIGIL_<FIELD> in the environment."""

    model_config = SettingsConfigDict(env_prefix="NEWSVIGIL_", env_file=".env", extra="ignore")

    database_url: str = Field("sqlite:///./newsvigil.db", description="SQLAlchemy URL of the database")
    broker: str = Field("memory://", description="memory:// (in-process) or kafka://host:port[,host:port]")
    feeds: str = Field(default_factory=lambda: _seed("feeds.opml"), description="OPML file or text file of feed URLs")
    topics: str = Field(default_factory=lambda: _seed("topics.yaml"), description="detection rules (YAML)")
    poll_interval: float = Field(
        300.0, gt=0, description="seconds between two polls of a feed, unless the feed asks for more"
    )
    poll_min_interval: float = Field(60.0, gt=0, description="shortest time between two polls of a feed")
    poll_max_interval: float = Field(
        6 * 3600.0,
        gt=0,
        description="longest time between two polls of a feed (ttl, caching and backoff are capped here)",
    )
    allow_private_networks: bool = Field(
        False, description="allow feeds, pages and alert delivery on loopback/private addresses"
    )
    allowed_networks: str = Field(
        "", description="comma-separated networks allowed despite the guard, e.g. an intranet feed server: 10.1.2.0/24"
    )
    feed_failing_after: int = Field(5, ge=1, description="consecutive failed polls after which a feed is flagged")
    fetch_timeout: float = Field(20.0, gt=0, description="seconds a single feed fetch may take in total")
    fetch_concurrency: int = Field(8, ge=1, description="feeds fetched at once")
    fetch_per_host: int = Field(2, ge=1, description="feeds of one host fetched at once")
    host_backoff_after: int = Field(
        3, ge=1, description="429/503 answers in a row from one host before the whole host backs off"
    )
    max_body_bytes: int = Field(15 * 1024 * 1024, gt=0, description="largest feed body accepted, after decompression")
    max_archive_bytes: int = Field(
        64 * 1024 * 1024,
        gt=0,
        description="largest document (feed file, export line, WARC record) replay reads from an archive, after decompression",
    )
    user_agent: str = Field(
        "newsvigil/0.1 (+https://github.com/newsvigil/newsvigil; news monitoring bot)",
        description="User-Agent sent with every request",
    )
    languages: str = Field(
        ",".join(DEFAULT_LANGUAGES),
        description="languages the identifier may answer when a feed does not say (or its text contradicts the feed)",
    )
    story_window_hours: float = Field(
        DEFAULT_STORY_WINDOW_HOURS, gt=0, description="how long a story stays open to related reports"
    )
    spike_halflife_hours: float = Field(
        DEFAULT_SPIKE_HALFLIFE_HOURS, gt=0, description="spike baseline: an hour this long ago weighs half"
    )
    spike_baseline_days: int = Field(
        DEFAULT_SPIKE_BASELINE_DAYS, ge=1, le=90, description="spike baseline: days of hourly counts before the hour"
    )
    spike_floor: float = Field(
        DEFAULT_SPIKE_FLOOR, gt=0, description="least baseline rate (reports per hour) a spike is tested against"
    )
    spike_alpha: float = Field(
        DEFAULT_SPIKE_ALPHA, gt=0, lt=1, description="Poisson tail probability under which an hour is a spike"
    )
    spike_min_reports: int = Field(
        DEFAULT_SPIKE_MIN_REPORTS, ge=1, description="fewest reports in an hour that can be a spike"
    )
    spike_cooldown_hours: int = Field(
        DEFAULT_SPIKE_COOLDOWN_HOURS, ge=1, description="at most one spike per topic (and language) in this many hours"
    )
    spike_warmup_hours: int = Field(
        DEFAULT_SPIKE_WARMUP_HOURS, ge=0, description="hours of stored reports before the first hour judged"
    )
    spike_late_hours: int = Field(
        DEFAULT_SPIKE_LATE_HOURS,
        ge=0,
        description="a report this many hours older than the newest of its topic is counted but raises no spike",
    )
    delivery_interval: float = Field(
        5.0, gt=0, description="seconds between delivery rounds for retries and digests (new alerts go at once)"
    )
    smtp_host: str = Field("localhost", description="SMTP server for email alerts")
    smtp_port: int = Field(25, ge=1, description="SMTP port")
    smtp_from: str = Field("newsvigil@localhost", description="From address of email alerts")
    smtp_user: str = Field("", description="SMTP user (empty: no login)")
    smtp_password: str = Field("", description="SMTP password")
    smtp_starttls: bool = Field(False, description="upgrade the SMTP connection with STARTTLS")
    alert_max_attempts: int = Field(8, ge=1, description="delivery attempts before an alert is marked failed")
    alert_backoff_seconds: float = Field(2.0, gt=0, description="first retry delay; doubles each attempt, with jitter")
    kafka_partitions: int = Field(4, ge=1, description="partitions of the topics newsvigil creates")
    kafka_group: str = Field("newsvigil-worker", description="consumer group (faust app id) of the workers")
    kafka_topic_prefix: str = Field(
        "newsvigil", description="prefix of the bus topics: <prefix>.articles, .events, .deadletter"
    )
    kafka_send_timeout: float = Field(
        30.0, gt=1, description="seconds Kafka may take to acknowledge a batch of articles"
    )
    kafka_session_timeout: float = Field(
        10.0,
        gt=0,
        description="seconds after which the group evicts a worker that stopped heartbeating (faust's default 60 s stalled the group that long)",
    )
    kafka_heartbeat_interval: float = Field(
        2.0, gt=0, description="seconds between a worker's heartbeats to the group (well under the session timeout)"
    )
    worker_web_port: int = Field(6066, ge=0, description="port of the worker's /healthz and /metrics")
    web_host: str = Field("127.0.0.1", description="address `newsvigil serve` listens on")
    web_port: int = Field(8080, ge=1, le=65535, description="port `newsvigil serve` listens on")
    public_dashboard: bool = Field(
        True, description="read-only pages and API without a token (subscriptions, alerts and changes always need one)"
    )

    @field_validator("broker")
    @classmethod
    def _known_broker(cls, value: str) -> str:
        if not (value == "memory://" or value.startswith("kafka://")):
            raise ValueError("must be memory:// or kafka://host:port")
        return value

    @field_validator("allowed_networks")
    @classmethod
    def _networks(cls, value: str) -> str:
        parse_networks(value)
        return value

    @property
    def kafka_servers(self) -> list[str]:
        """Bootstrap servers of a kafka:// broker URL."""
        return [s for s in self.broker.removeprefix("kafka://").split(",") if s]

    @property
    def kafka_mode(self) -> bool:
        return self.broker.startswith("kafka://")

    def bus_topic(self, name: str) -> str:
        """Kafka topic of a bus channel: 'articles' -> 'newsvigil.articles'."""
        return f"{self.kafka_topic_prefix}.{name}"

    @property
    def language_list(self) -> list[str]:
        return [code.strip() for code in self.languages.split(",") if code.strip()]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cached; tests clear the cache after changing the environment)."""
    return Settings()


def parse_networks(spec: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """'10.1.0.0/16, 192.0.2.7' -> networks; ValueError names the bad entry."""
    networks = []
    for item in (s.strip() for s in spec.split(",")):
        if item:
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                raise ValueError(f"{item!r} is not an IP network (e.g. 10.1.0.0/16)") from None
    return tuple(networks)
