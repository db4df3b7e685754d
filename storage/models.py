"""Database tables. Natural keys everywhere, so every write can be an idempotent upsert."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    ColumnElement,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    func,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Feed(Base):
    """A polled feed and its fetch state."""

    __tablename__ = "feeds"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    url: Mapped[str] = mapped_column(String(2048), unique=True)
    title: Mapped[str | None] = mapped_column(String(512))
    language: Mapped[str | None] = mapped_column(String(16))
    etag: Mapped[str | None] = mapped_column(String(1024))
    last_modified: Mapped[str | None] = mapped_column(String(128))
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_polled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_success_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    consecutive_errors: Mapped[int] = mapped_column(Integer, default=0)
    next_poll_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    added_by_user: Mapped[bool] = mapped_column(Boolean, default=False)  # `feeds add`/`import`, polled with the list


class SeenItem(Base):
    """An item a feed delivered and the bus acknowledged: never published twice."""

    __tablename__ = "seen_items"
    feed_url: Mapped[str] = mapped_column(String(2048), primary_key=True)
    article_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ArticleRow(Base):
    __tablename__ = "articles"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    feed_url: Mapped[str] = mapped_column(String(2048))
    source: Mapped[str] = mapped_column(String(512))
    title: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(4096))
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    fetched_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    language: Mapped[str | None] = mapped_column(String(16))
    body: Mapped[str | None] = mapped_column(Text)  # full text of the page, when a topic asked for it

    @hybrid_property
    def when(self) -> datetime:
        """The time the article is placed at: published, else fetched (Article.when, in SQL too)."""
        return self.published_at or self.fetched_at

    @when.inplace.expression
    @classmethod
    def _when_expression(cls) -> ColumnElement[datetime]:
        return func.coalesce(cls.published_at, cls.fetched_at)


class DetectionRow(Base):
    """What the rules of `rules_version` found in an article (one row per article)."""

    __tablename__ = "detections"
    article_id: Mapped[str] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True)
    lang: Mapped[str | None] = mapped_column(String(16))
    rules_version: Mapped[str] = mapped_column(String(64))
    detected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Vague quantities ("thousands of troops") as JSON: shown on the article page, never figures.
    vague: Mapped[str | None] = mapped_column(Text)


class ArticleTopic(Base):
    __tablename__ = "article_topics"
    article_id: Mapped[str] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True)
    topic: Mapped[str] = mapped_column(String(128), primary_key=True, index=True)


class TroopMentionRow(Base):
    __tablename__ = "troop_mentions"
    __table_args__ = (UniqueConstraint("article_id", "start", "end", name="uq_troop_mentions_span"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    article_id: Mapped[str] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    value: Mapped[float] = mapped_column(Float)
    low: Mapped[float] = mapped_column(Float)
    high: Mapped[float] = mapped_column(Float)
    approx: Mapped[bool] = mapped_column(Boolean)
    unit: Mapped[str] = mapped_column(String(128))
    quote: Mapped[str] = mapped_column(Text)
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    actor: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str | None] = mapped_column(String(64))
    place: Mapped[str | None] = mapped_column(String(64))  # gazetteer id
    place_name: Mapped[str | None] = mapped_column(String(128))  # as the text names it


class TroopFeedback(Base):
    """A user's word that a detected figure was wrong: real mistakes become labelled cases."""

    __tablename__ = "troop_feedback"
    __table_args__ = (UniqueConstraint("article_id", "kind", "value", name="uq_troop_feedback_figure"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    article_id: Mapped[str] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # "not_troops"
    value: Mapped[float] = mapped_column(Float)
    rules_version: Mapped[str | None] = mapped_column(String(64))  # the rules that reported the figure
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(String(255))  # "cli" or the API token's name
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class EventRow(Base):
    """An article on at least one topic: what alerting works from. Its id is the article's."""

    __tablename__ = "events"
    id: Mapped[str] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True)
    topics: Mapped[str] = mapped_column(String(1024))  # comma-separated, for display; article_topics is the index
    rules_version: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


Index("ix_events_created_at", EventRow.created_at)


class DeadLetter(Base):
    """A bus message that could not be processed, kept with its reason (also sent to the deadletter topic)."""

    __tablename__ = "dead_letters"
    topic: Mapped[str] = mapped_column(String(255), primary_key=True)
    partition: Mapped[int] = mapped_column(Integer, primary_key=True)
    offset: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str | None] = mapped_column(Text)
    value: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class StoryRow(Base):
    """Reports about the same thing: near duplicates and related reports within a time window."""

    __tablename__ = "stories"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(Text)
    topics: Mapped[str] = mapped_column(String(1024))
    first_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    article_count: Mapped[int] = mapped_column(Integer, default=1)
    sources: Mapped[str] = mapped_column(Text, default="[]")  # JSON lists, kept up to date as reports join
    languages: Mapped[str] = mapped_column(Text, default="[]")
    figures: Mapped[str] = mapped_column(Text, default="[]")


class StoryArticle(Base):
    """An article's place in its story, its text signature, and what it added."""

    __tablename__ = "story_articles"
    article_id: Mapped[str] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"))
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    source: Mapped[str] = mapped_column(String(512))
    language: Mapped[str | None] = mapped_column(String(16))
    figures: Mapped[str] = mapped_column(Text)  # JSON [[low, high], ...]
    entities: Mapped[str] = mapped_column(Text)  # JSON list
    additions: Mapped[str] = mapped_column(Text)  # JSON: what this report added to the story
    joined_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


# A story's latest members, read by index with a per-story LIMIT (storage.stories.recent_members); its
# story_id prefix serves every other lookup by story (members of a story, cascades).
Index("ix_story_articles_recent", StoryArticle.story_id, StoryArticle.joined_at.desc(), StoryArticle.article_id)


class StoryKey(Base):
    """Lookup keys of a story's reports (LSH bands of their text, their figures): candidates in one query."""

    __tablename__ = "story_keys"
    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"), primary_key=True, index=True)


class Subscription(Base):
    __tablename__ = "subscriptions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(255))
    topics: Mapped[str] = mapped_column(String(1024), default="")  # comma-separated; empty = any
    languages: Mapped[str] = mapped_column(String(255), default="")
    keywords: Mapped[str] = mapped_column(Text, default="")
    min_figure: Mapped[float | None] = mapped_column(Float)
    kinds: Mapped[str] = mapped_column(String(255))  # new_story,new_report,new_figure
    mode: Mapped[str] = mapped_column(String(16), default="instant")  # instant | digest
    digest_minutes: Mapped[int] = mapped_column(Integer, default=60)
    urgent_figure: Mapped[float | None] = mapped_column(Float)  # new figure >= this bypasses the digest
    channel: Mapped[str] = mapped_column(String(16))  # webhook | email | apprise | atom
    target: Mapped[str] = mapped_column(Text, default="")
    secret: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AlertRow(Base):
    """The outbox: one alert per (subscription, story event), delivered with retries."""

    __tablename__ = "alerts"
    __table_args__ = (UniqueConstraint("subscription_id", "event_key", name="uq_alerts_subscription_event"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id", ondelete="CASCADE"), index=True)
    event_key: Mapped[str] = mapped_column(String(128))  # "<story id>:<article id>"
    story_id: Mapped[int] = mapped_column(Integer)
    article_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    payload: Mapped[str] = mapped_column(Text)  # JSON
    status: Mapped[str] = mapped_column(String(16), index=True)  # pending | sent | failed | dropped
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ApiToken(Base):
    """A token for the HTTP API and dashboard; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(255))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    # Admin tokens see network details of delivery tests ("Connection refused" would make /test a port scanner).
    admin: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class SeriesRow(Base):
    """A figure series: one quantity followed over time (processors/series.py SeriesKey)."""

    __tablename__ = "series"
    __table_args__ = (UniqueConstraint("actor", "place", "unit_class", "kind", name="uq_series_key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    actor: Mapped[str] = mapped_column(String(64))
    place: Mapped[str] = mapped_column(String(64))  # gazetteer id
    unit_class: Mapped[str] = mapped_column(String(32))  # troops, officers...
    kind: Mapped[str] = mapped_column(String(16))  # level | movement
    place_name: Mapped[str | None] = mapped_column(String(128))  # as its first report named the place
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SeriesPoint(Base):
    """A report's figure for a series. The figure is copied here, not referred to: troop_mentions rows
    are replaced whenever an article is stored again, and a point keeps its id (alerts and later points
    refer to it). One point per (series, article)."""

    __tablename__ = "series_points"
    __table_args__ = (UniqueConstraint("series_id", "article_id", name="uq_series_points_series_article"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id", ondelete="CASCADE"))
    article_id: Mapped[str] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    published: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # the article's time (published, else fetched)
    value: Mapped[float] = mapped_column(Float)
    low: Mapped[float] = mapped_column(Float)
    high: Mapped[float] = mapped_column(Float)
    approx: Mapped[bool] = mapped_column(Boolean)
    unit: Mapped[str] = mapped_column(String(128))
    quote: Mapped[str] = mapped_column(Text)
    start: Mapped[int] = mapped_column(Integer)  # the mention's span in the article's text
    end: Mapped[int] = mapped_column(Integer)
    action: Mapped[str | None] = mapped_column(String(64))
    place_name: Mapped[str | None] = mapped_column(String(128))
    # The latest earlier point of the series (from another report) this one was compared with, and the outcome.
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("series_points.id", ondelete="SET NULL"))
    changed: Mapped[bool] = mapped_column(Boolean, default=False)
    # It was the newest point of its series when stored: a change then was news (alerted); a late
    # report of an older figure is recorded, never alerted.
    newest: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


# A series' points in time order (the latest before a time, the plot) by index.
Index("ix_series_points_series_published", SeriesPoint.series_id, SeriesPoint.published)
