"""The plain records that flow through the pipeline: Article -> Detection (TroopMention) -> Event."""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, NotRequired, TypedDict, overload

SCHEMA_VERSION = 1


def utcnow() -> datetime:
    return datetime.now(UTC)


def article_id(feed_url: str, guid: str) -> str:
    """Stable id of an item: the same feed and guid (or canonical link) always give the same id."""
    return hashlib.sha256(f"{feed_url}\n{guid}".encode()).hexdigest()[:32]


@overload
def parse_time(value: datetime | str) -> datetime: ...
@overload
def parse_time(value: object) -> datetime | None: ...
def parse_time(value: object) -> datetime | None:
    """An ISO 8601 string (or datetime) as an aware UTC datetime; None (or "") stays None."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        dt = value
    else:
        dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def hour_of(when: datetime) -> int:
    """The clock hour (UTC) a time falls in, numbered from 1970-01-01T00:00Z: how reports are counted."""
    return math.floor(when.timestamp() / 3600)


def hour_start(hour: int) -> datetime:
    """The start of an hour numbered by `hour_of`."""
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(hours=hour)


def utc_iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC; a naive datetime (as SQLite returns them) is taken as UTC."""
    return parse_time(value).isoformat() if value else None


@dataclass(slots=True)
class Article:
    """One feed item, normalised: plain-text title and summary, UTC times."""

    id: str
    feed_url: str
    source: str
    title: str
    summary: str
    link: str | None = None
    published: datetime | None = None
    fetched_at: datetime = field(default_factory=utcnow)
    language: str | None = None
    body: str = ""  # main text of the article page, fetched for topics that ask for full text

    @property
    def when(self) -> datetime:
        """The time the article is placed at: published, else fetched."""
        return self.published or self.fetched_at

    @property
    def text(self) -> str:
        """The text detection reads; mention offsets index into it."""
        text = join_text(self.title, self.summary)
        return f"{text}\n{self.body}" if self.body else text

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["published"] = utc_iso(self.published)
        data["fetched_at"] = utc_iso(self.fetched_at)
        data["schema"] = SCHEMA_VERSION
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Article:
        return bounded(
            cls(
                id=str(data["id"]),
                feed_url=str(data.get("feed_url") or ""),
                source=str(data.get("source") or ""),
                title=str(data.get("title") or ""),
                summary=str(data.get("summary") or ""),
                link=_string(data.get("link")),
                published=parse_time(data.get("published")),
                fetched_at=parse_time(data.get("fetched_at")) or utcnow(),
                language=_string(data.get("language")) or _string(data.get("lang")),
                body=str(data.get("body") or ""),
            )
        )


def _string(value: Any) -> str | None:
    """A text field of a JSON record: a string, or None for anything else (a list, a number)."""
    return value if isinstance(value, str) and value else None


FUTURE_SKEW = timedelta(days=1)

# Column sizes of the stored article (storage/models.py): a longer value cannot be stored whole.
LINK_CHARS, FEED_URL_CHARS, SOURCE_CHARS = 4096, 2048, 512
_LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*")


def bounded(article: Article) -> Article:
    """The article as it can be stored anywhere: no NUL characters (PostgreSQL refuses them), a
    link or feed URL too long for its column dropped rather than cut (a cut URL leads elsewhere), the
    source name shortened, the language a well-formed tag of at most 16 characters or none, the
    publication time never after the fetch."""

    def text(value: str) -> str:
        if "\x00" in value:
            value = value.replace("\x00", "")
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:  # a lone surrogate ("\ud800" in JSON): no database stores it
                value = value.encode("utf-8", "replace").decode("utf-8")
        return value

    link = text(article.link) if article.link else None
    language = text(article.language or "").strip()
    if language and not (len(language) <= 16 and _LANGUAGE_TAG.fullmatch(language)):
        primary = re.split(r"[-_\s]", language, maxsplit=1)[0]
        language = primary if _LANGUAGE_TAG.fullmatch(primary) and len(primary) <= 3 else ""
    changes = {
        "id": text(article.id),
        "feed_url": text(article.feed_url)[:FEED_URL_CHARS],
        "source": text(article.source)[:SOURCE_CHARS],
        "title": text(article.title),
        "summary": text(article.summary),
        "link": link if link and len(link) <= LINK_CHARS else None,
        "language": language or None,
        "body": text(article.body),
        "published": _publication_time(article.published, article.fetched_at),
    }
    # Most articles need nothing: `replace` (a new instance through __init__) was 5 % of a busy
    # Kafka worker's event loop.
    if all(value is getattr(article, name) or value == getattr(article, name) for name, value in changes.items()):
        return article
    return replace(article, **changes)  # type: ignore[arg-type]


def _publication_time(published: datetime | None, fetched_at: datetime) -> datetime | None:
    """A date after the item was fetched by more than clock skew is not a publication date (None); one
    within the skew is the fetch time: an item cannot be out before it is read, and a feed writing local
    time as UTC would otherwise stand hours ahead of every other report (the newest of its series and
    topic, so that reports in time would look late to spikes and figure series)."""
    if published is None or published <= fetched_at:
        return published
    return fetched_at if published <= fetched_at + FUTURE_SKEW else None


def join_text(title: str, summary: str) -> str:
    """Title and summary as one text, title first, separated by a line break."""
    if title and summary:
        return f"{title}\n{summary}"
    return title or summary


@dataclass(slots=True)
class TroopMention:
    """A count of military personnel in a text: 'près de 1 200 militaires' -> value 1200, approx."""

    value: float
    low: float
    high: float
    approx: bool
    unit: str
    quote: str
    start: int
    end: int
    actor: str | None = None
    action: str | None = None
    place: str | None = None  # the gazetteer id of the place the figure is about ("greenland")
    place_name: str | None = None  # that place as the text names it ("Groenland")

    def to_json(self) -> dict[str, Any]:
        return {
            "value": _number(self.value),
            "low": _number(self.low),
            "high": _number(self.high),
            "approx": self.approx,
            "unit": self.unit,
            "quote": self.quote,
            "start": self.start,
            "end": self.end,
            "actor": self.actor,
            "action": self.action,
            "place": {"id": self.place, "name": self.place_name} if self.place else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TroopMention:
        place = data.get("place")
        fields = {k: data.get(k) for k in cls.__slots__ if k not in ("place", "place_name")}
        if isinstance(place, dict) and place.get("id"):
            fields |= {"place": str(place["id"]), "place_name": _string(place.get("name"))}
        return cls(**fields)  # type: ignore[arg-type]

    def label(self) -> str:
        """Short human form: '~1,200 militaires' or '3,000-5,000 troops'."""
        if self.low != self.high:
            figure = f"{_number(self.low):,}-{_number(self.high):,}"
        else:
            figure = f"{_number(self.value):,}"
        return f"{'~' if self.approx else ''}{figure} {self.unit}"


@dataclass(slots=True)
class VagueMention:
    """A quantity of troops with no figure: 'thousands of troops' -> magnitude 1000. Never a figure."""

    magnitude: int
    unit: str
    quote: str
    start: int
    end: int

    def to_json(self) -> dict[str, Any]:
        return {
            "magnitude": self.magnitude,
            "unit": self.unit,
            "quote": self.quote,
            "start": self.start,
            "end": self.end,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> VagueMention:
        return cls(**{k: data.get(k) for k in cls.__slots__})  # type: ignore[arg-type]


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


@dataclass(slots=True)
class Detection:
    """What the rules found in one article."""

    article_id: str
    lang: str | None
    topics: list[str]
    troops: list[TroopMention]
    rules_version: str
    vague: list[VagueMention] = field(default_factory=list)
    # The MinHash signature (uint64 bytes) of the article's text, computed where the article was
    # detected (replay's pool processes, the poller before its transaction) so that storing only
    # compares: a cache, never serialised nor compared; None means compute it when storing.
    text_signature: bytes | None = field(default=None, compare=False, repr=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.article_id,
            "lang": self.lang,
            "topics": list(self.topics),
            "troops": [m.to_json() for m in self.troops],
            "vague": [v.to_json() for v in self.vague],
            "rules_version": self.rules_version,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Detection:
        return cls(
            article_id=str(data["id"]),
            lang=data.get("lang"),
            topics=list(data.get("topics") or []),
            troops=[TroopMention.from_json(m) for m in data.get("troops") or []],
            rules_version=str(data.get("rules_version") or ""),
            vague=[VagueMention.from_json(v) for v in data.get("vague") or []],
        )


@dataclass(slots=True)
class Event:
    """An article that matched at least one topic, with what was detected: the unit of alerting."""

    article: Article
    detection: Detection

    @property
    def id(self) -> str:
        return self.article.id

    def to_json(self) -> dict[str, Any]:
        return {"schema": SCHEMA_VERSION, "article": self.article.to_json(), "detection": self.detection.to_json()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Event:
        return cls(article=Article.from_json(data["article"]), detection=Detection.from_json(data["detection"]))


# --- The alerting vocabulary, one spelling from storage to the API ------------------------------


class AlertKind(StrEnum):
    """What a story event is to a subscriber."""

    NEW_STORY = "new_story"
    NEW_REPORT = "new_report"
    NEW_FIGURE = "new_figure"
    FIGURE_CHANGED = "figure_changed"  # a report's figure for a series differs from the series' latest
    SPIKE = "spike"  # many more reports on a topic in an hour than usual (processors/spikes.py)


class Channel(StrEnum):
    """How a subscription is delivered."""

    WEBHOOK = "webhook"
    EMAIL = "email"
    APPRISE = "apprise"
    ATOM = "atom"


class DeliveryMode(StrEnum):
    """Each alert as it comes, or held and sent together."""

    INSTANT = "instant"
    DIGEST = "digest"


class AlertStatus(StrEnum):
    """Where an alert is in the outbox."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class AlertPolicy(StrEnum):
    """Which alerts a replay or reprocess queues: none, new reports only, or history too."""

    NONE = "none"
    NEW = "new"
    ALL = "all"


# --- The alert outbox: the JSON an alert's payload holds, and what a deliverer takes out ----------


class AlertStory(TypedDict):
    """The story an alert is about, as it stood when the alert was made."""

    id: int
    title: str
    topics: list[str]
    sources: list[str]  # the outlets that reported it
    languages: list[str]


class AlertArticle(TypedDict):
    """The report that made the alert."""

    id: str
    title: str
    link: str | None
    source: str
    language: str | None  # the detected language
    published: str | None  # ISO 8601


class AlertNews(TypedDict):
    """What the report adds to its story."""

    figures: list[dict[str, Any]]  # figures the story did not have yet, as TroopMention.to_json()
    source: str | None  # the outlet, if the story had no report from it yet
    language: str | None  # the language, if the story had no report in it yet


class AlertSeries(TypedDict):
    """The figure series a figure_changed alert is about."""

    id: int
    actor: str
    place: str  # gazetteer id
    place_name: str | None
    unit_class: str  # troops, officers...
    kind: str  # level | movement
    label: str  # "US · Europe · troops"


class AlertSeriesPoint(TypedDict):
    """A series' figure in a figure_changed alert, with the report it was read in."""

    figure: dict[str, Any]  # TroopMention.to_json(), quote included
    article_id: str
    source: str  # the outlet
    title: str
    link: str | None
    published: str | None  # ISO 8601


class AlertSpike(TypedDict):
    """What a spike alert is about: the hour, its count when the report crossed, and the usual."""

    topic: str
    language: str  # "" for every language together
    count: int  # reports in the hour when the alert's report crossed the threshold
    window_start: str  # ISO 8601, the hour's start
    window_end: str
    baseline: float  # the usual reports per hour (weighted mean of the days before)
    sd: float
    p_value: float  # Poisson tail of the count at the baseline rate (held to the floor)


class AlertPayload(TypedDict):
    """An alert's content: the JSON stored in the outbox and delivered as it is (each item of a
    webhook's `alerts`; email, Apprise and Atom render it)."""

    kind: str  # an AlertKind value (a plain string once read back from JSON)
    story: AlertStory
    article: AlertArticle
    topics: list[str]  # the report's topics
    new: AlertNews
    figures: list[dict[str, Any]]  # every figure of the report, as TroopMention.to_json()
    # figure_changed only: the series, its previous figure and the report's new one.
    series: NotRequired[AlertSeries]
    previous: NotRequired[AlertSeriesPoint]
    current: NotRequired[AlertSeriesPoint]
    spike: NotRequired[AlertSpike]  # kind "spike" only; story and article are the report that crossed


@dataclass(frozen=True, slots=True)
class ClaimedAlert:
    """An alert a deliverer took from the outbox (under a lease) for one delivery attempt."""

    id: int  # the alert's id in the outbox: part of the webhook-id, the same for every attempt
    subscription_id: int  # the subscription it is for
    attempts: int  # delivery attempts made before this one
    kind: AlertKind  # new story, new report or new figure
    payload: AlertPayload  # what the alert says, as stored


@dataclass(frozen=True, slots=True)
class SentAlert:
    """A delivered alert, as a subscription's Atom feed lists it."""

    id: int  # the alert's id in the outbox
    sent_at: datetime  # when it was delivered (when it was made, for alerts from before sent_at was kept)
    payload: AlertPayload  # what the alert says, as stored
