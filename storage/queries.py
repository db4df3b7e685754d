"""Read models of the dashboard and the HTTP API: stories, events, articles, the timeline series.

Lists are newest first and paged by an opaque cursor (the last row's sort key), so a page costs
the same however deep it is.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Select, and_, exists, func, literal, or_, select
from sqlalchemy.orm import Session

from newsvigil.records import parse_time, utc_iso
from newsvigil.storage.mapping import article_of, mention_json, mentions_by_article, topics_by_article
from newsvigil.storage.models import (
    ArticleRow,
    ArticleTopic,
    DetectionRow,
    EventRow,
    StoryArticle,
    StoryRow,
    TroopFeedback,
    TroopMentionRow,
)

T = TypeVar("T")

MAX_LIMIT = 200
TIMELINE_DAYS = 30


@dataclass(frozen=True, slots=True)
class Filters:
    """What the dashboard and the API filter on; None = any."""

    topic: str | None = None
    language: str | None = None
    outlet: str | None = None
    since: datetime | None = None
    until: datetime | None = None


class BadCursor(ValueError):
    """A cursor that this server did not hand out."""


def encode_cursor(when: datetime | None, key: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps([utc_iso(when), key]).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, Any]:
    """(time, key) of a cursor `encode_cursor` made; BadCursor for anything else (a key that is an
    object or a list, a null time, numbers past 64 bits, an oversized cursor)."""
    try:
        if len(cursor) > 512:
            raise ValueError("too long")
        when, key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(when, str) or not (
            (isinstance(key, str) and len(key) <= 256)
            or (isinstance(key, int) and not isinstance(key, bool) and abs(key) < 2**63)
        ):
            raise ValueError("not a (time, key) pair")
        parsed = parse_time(when)
        if parsed is None:
            raise ValueError("no time")
        return parsed, key
    except (ValueError, TypeError, OverflowError, RecursionError):
        raise BadCursor(f"cursor {cursor[:40]!r} is not one this server handed out") from None


def _after(query: Select, when_column: Any, key_column: Any, cursor: str | None) -> Select:
    """Rows strictly after the cursor in (when desc, key desc) order."""
    if not cursor:
        return query
    when, key = decode_cursor(cursor)
    return query.where(or_(when_column < when, and_(when_column == when, key_column < key)))


def _page(rows: Sequence[T], limit: int, cursor_of: Callable[[T], str]) -> tuple[list[T], str | None]:
    kept = list(rows[:limit])
    return kept, (cursor_of(kept[-1]) if len(rows) > limit and kept else None)


def _topic_list(topics: str) -> list[str]:
    return [t for t in topics.split(",") if t]


def story_json(story: StoryRow) -> dict[str, Any]:
    return {
        "id": story.id,
        "title": story.title,
        "topics": _topic_list(story.topics),
        "first_seen": utc_iso(story.first_seen),
        "last_seen": utc_iso(story.last_seen),
        "reports": story.article_count,
        "outlets": json.loads(story.sources),
        "languages": json.loads(story.languages),
        "figures": [{"low": low, "high": high} for low, high in json.loads(story.figures)],
    }


def stories_page(
    session: Session, filters: Filters, limit: int = 50, cursor: str | None = None
) -> tuple[list[dict], str | None]:
    """Stories, latest report first, matching the filters."""
    limit = max(1, min(limit, MAX_LIMIT))
    query = select(StoryRow)
    if filters.topic:
        query = query.where(
            (literal(",") + StoryRow.topics + literal(",")).like(f"%,{_like(filters.topic)},%", escape="\\")
        )
    member = select(StoryArticle.story_id).where(StoryArticle.story_id == StoryRow.id)
    if filters.language:
        query = query.where(exists(member.where(StoryArticle.language == filters.language)))
    if filters.outlet:
        query = query.where(exists(member.where(StoryArticle.source == filters.outlet)))
    if filters.since:
        query = query.where(StoryRow.last_seen >= filters.since)
    if filters.until:
        query = query.where(StoryRow.first_seen < filters.until)
    query = _after(query, StoryRow.last_seen, StoryRow.id, cursor)
    rows = list(session.scalars(query.order_by(StoryRow.last_seen.desc(), StoryRow.id.desc()).limit(limit + 1)))
    rows, next_cursor = _page(rows, limit, lambda s: encode_cursor(s.last_seen, s.id))
    return [story_json(s) for s in rows], next_cursor


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def figures_by_article(session: Session, article_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Each article's troop figures as the API shows them."""
    return {a: [mention_json(m) for m in rows] for a, rows in mentions_by_article(session, article_ids).items()}


def _article_json(article: ArticleRow, lang: str | None, topics: list[str], figures: list[dict]) -> dict[str, Any]:
    return {
        "id": article.id,
        "title": article.title,
        "summary": article.summary,
        "link": article.link,
        "outlet": article.source,
        "language": lang or article.language,
        "published": utc_iso(article.published_at),
        "topics": topics,
        "figures": figures,
    }


def story_detail(session: Session, story_id: int) -> dict[str, Any] | None:
    """A story with every report in it (oldest first): what each added, its figures with quotes."""
    story = session.get(StoryRow, story_id)
    if story is None:
        return None
    rows = session.execute(
        select(StoryArticle, ArticleRow)
        .join(ArticleRow, ArticleRow.id == StoryArticle.article_id)
        .where(StoryArticle.story_id == story_id)
        .order_by(ArticleRow.when, ArticleRow.id)
    ).all()
    ids = [a.id for _, a in rows]
    topics = topics_by_article(session, ids)
    figures = figures_by_article(session, ids)
    reports = []
    for member, article in rows:
        report = _article_json(article, member.language, topics.get(article.id, []), figures.get(article.id, []))
        report["added"] = json.loads(member.additions)
        reports.append(report)
    return {**story_json(story), "articles": reports}


def articles_page(
    session: Session, filters: Filters, limit: int = 50, cursor: str | None = None, events_only: bool = False
) -> tuple[list[dict], str | None]:
    """Articles (or only events: articles on a topic), newest first, with topics and figures."""
    limit = max(1, min(limit, MAX_LIMIT))
    when = ArticleRow.when
    query = select(ArticleRow, DetectionRow.lang).outerjoin(DetectionRow, DetectionRow.article_id == ArticleRow.id)
    if events_only:
        query = query.where(exists(select(EventRow.id).where(EventRow.id == ArticleRow.id)))
    if filters.topic:
        query = query.where(
            exists(
                select(ArticleTopic.article_id).where(
                    ArticleTopic.article_id == ArticleRow.id, ArticleTopic.topic == filters.topic
                )
            )
        )
    if filters.language:
        query = query.where(func.coalesce(DetectionRow.lang, ArticleRow.language) == filters.language)
    if filters.outlet:
        query = query.where(ArticleRow.source == filters.outlet)
    if filters.since:
        query = query.where(when >= filters.since)
    if filters.until:
        query = query.where(when < filters.until)
    query = _after(query, when, ArticleRow.id, cursor)
    rows = session.execute(query.order_by(when.desc(), ArticleRow.id.desc()).limit(limit + 1)).all()
    rows, next_cursor = _page(rows, limit, lambda r: encode_cursor(r[0].when, r[0].id))
    ids = [a.id for a, _ in rows]
    topics, figures = topics_by_article(session, ids), figures_by_article(session, ids)
    return [_article_json(a, lang, topics.get(a.id, []), figures.get(a.id, [])) for a, lang in rows], next_cursor


def article_detail(session: Session, article_id: str) -> dict[str, Any] | None:
    """One article with its full text, topics and figures (offsets index into `text`)."""
    row = session.execute(
        select(ArticleRow, DetectionRow.lang, DetectionRow.vague)
        .outerjoin(DetectionRow, DetectionRow.article_id == ArticleRow.id)
        .where(ArticleRow.id == article_id)
    ).first()
    if row is None:
        return None
    article, lang, vague = row
    data = _article_json(
        article,
        lang,
        topics_by_article(session, [article.id]).get(article.id, []),
        figures_by_article(session, [article.id]).get(article.id, []),
    )
    data["text"] = article_of(article).text  # the text detection read: mention offsets index into it
    story = session.scalar(select(StoryArticle.story_id).where(StoryArticle.article_id == article.id))
    data["story"] = story
    data["vague"] = json.loads(vague) if vague else []
    data["not_troops"] = sorted(
        session.scalars(select(TroopFeedback.value).where(TroopFeedback.article_id == article.id))
    )
    return data


def timeline_window(session: Session, filters: Filters) -> tuple[datetime, datetime]:
    """The dashboard's time window: the filters', else the TIMELINE_DAYS up to the latest report."""
    until = filters.until
    if until is None:
        latest = session.scalar(select(func.max(StoryRow.last_seen)))
        until = (parse_time(latest) if latest else parse_time("2000-01-01")) + timedelta(seconds=1)
    since = filters.since
    if since is None:  # up to TIMELINE_DAYS, but no wider than the reports need
        earliest = session.scalar(
            select(func.min(StoryRow.first_seen)).where(StoryRow.last_seen >= until - timedelta(days=TIMELINE_DAYS))
        )
        since = max(
            until - timedelta(days=TIMELINE_DAYS), (parse_time(earliest) if earliest else until) - timedelta(days=1)
        )
    return since, until


def _on_topic_articles(filters: Filters, since: datetime, until: datetime):
    when = ArticleRow.when
    query = (
        select(ArticleRow.id, when.label("when"), ArticleTopic.topic)
        .join(ArticleTopic, ArticleTopic.article_id == ArticleRow.id)
        .where(when >= since, when < until)
    )
    if filters.topic:
        query = query.where(ArticleTopic.topic == filters.topic)
    if filters.outlet:
        query = query.where(ArticleRow.source == filters.outlet)
    if filters.language:
        query = query.outerjoin(DetectionRow, DetectionRow.article_id == ArticleRow.id).where(
            func.coalesce(DetectionRow.lang, ArticleRow.language) == filters.language
        )
    return query


def reports_per_day(session: Session, filters: Filters, since: datetime, until: datetime) -> dict[str, dict[str, int]]:
    """topic -> day (YYYY-MM-DD, UTC) -> number of reports."""
    series: dict[str, dict[str, int]] = {}
    for _, when, topic in session.execute(_on_topic_articles(filters, since, until)):
        day = parse_time(when).date().isoformat()
        per_day = series.setdefault(topic, {})
        per_day[day] = per_day.get(day, 0) + 1
    return series


def figure_points(session: Session, filters: Filters, since: datetime, until: datetime, limit: int = 400) -> list[dict]:
    """Troop figures over time: one point per mention in an on-topic article (the latest `limit`)."""
    articles = _on_topic_articles(filters, since, until).subquery()
    rows = session.execute(
        select(TroopMentionRow, ArticleRow.title, ArticleRow.source, articles.c.when)
        .join(articles, articles.c.id == TroopMentionRow.article_id)
        .join(ArticleRow, ArticleRow.id == TroopMentionRow.article_id)
        .distinct()
        .order_by(articles.c.when.desc(), TroopMentionRow.id)
        .limit(limit)
    ).all()
    return [
        {
            "mention": m.id,
            "article": m.article_id,
            "value": m.value,
            "low": m.low,
            "high": m.high,
            "unit": m.unit,
            "quote": m.quote,
            "title": title,
            "outlet": source,
            "when": parse_time(when),
        }
        for m, title, source, when in rows
    ]


def choices(session: Session) -> dict[str, list[str]]:
    """Values the dashboard's filters offer: topics, languages and outlets seen in stories."""
    return {
        "topics": sorted(session.scalars(select(ArticleTopic.topic).distinct())),
        "languages": sorted(lang for lang in session.scalars(select(StoryArticle.language).distinct()) if lang),
        "outlets": sorted(session.scalars(select(StoryArticle.source).distinct())),
    }
