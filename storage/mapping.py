"""Records <-> rows: the one place an Article or a TroopMention becomes a row and comes back, and
where a set of articles' topics and figures are loaded."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsvigil.batching import batched
from newsvigil.records import Article, TroopMention
from newsvigil.storage.models import ArticleRow, ArticleTopic, TroopMentionRow


def article_row(article: Article) -> dict[str, Any]:
    """The columns of an article's row."""
    return {
        "id": article.id,
        "feed_url": article.feed_url,
        "source": article.source[:512],
        "title": article.title,
        "summary": article.summary,
        "link": article.link,
        "published_at": article.published,
        "fetched_at": article.fetched_at,
        "language": article.language,
        "body": article.body or None,
    }


def article_of(row: ArticleRow) -> Article:
    """A stored article as the record detection read (so `text`, which offsets index into, is the same)."""
    return Article(
        id=row.id,
        feed_url=row.feed_url,
        source=row.source,
        title=row.title,
        summary=row.summary,
        link=row.link,
        published=row.published_at,
        fetched_at=row.fetched_at,
        language=row.language,
        body=row.body or "",
    )


def figure_columns(m: TroopMention) -> dict[str, Any]:
    """The columns a figure's row holds, a troop mention's and a series point's alike (actor and
    place aside: a point takes them from its series), cut to their sizes."""
    return {
        "value": m.value,
        "low": m.low,
        "high": m.high,
        "approx": m.approx,
        "unit": m.unit[:128],
        "quote": m.quote,
        "start": m.start,
        "end": m.end,
        "action": m.action,
        "place_name": m.place_name[:128] if m.place_name else None,
    }


def mention_row(article_id: str, m: TroopMention) -> dict[str, Any]:
    """The columns of a troop mention's row."""
    return {"article_id": article_id, **figure_columns(m), "actor": m.actor, "place": m.place}


def figure_of(row: Any, actor: str | None, place: str | None) -> TroopMention:
    """A stored figure (a troop mention's row, a series point) as the record detection made."""
    return TroopMention(
        value=row.value,
        low=row.low,
        high=row.high,
        approx=row.approx,
        unit=row.unit,
        quote=row.quote,
        start=row.start,
        end=row.end,
        actor=actor,
        action=row.action,
        place=place,
        place_name=row.place_name,
    )


def mention_of(row: TroopMentionRow) -> TroopMention:
    """A stored troop mention as the record detection made."""
    return figure_of(row, row.actor, row.place)


def mention_json(row: TroopMentionRow) -> dict[str, Any]:
    """A stored troop mention as the API shows it: the record's JSON plus the row id (for feedback)."""
    return {"id": row.id, **mention_of(row).to_json()}


def topics_by_article(session: Session, article_ids: Iterable[str]) -> dict[str, list[str]]:
    """Each article's topics, sorted."""
    found: dict[str, list[str]] = {}
    for chunk in batched(dict.fromkeys(article_ids)):
        query = select(ArticleTopic.article_id, ArticleTopic.topic).where(ArticleTopic.article_id.in_(chunk))
        for article_id, topic in session.execute(query.order_by(ArticleTopic.topic)):
            found.setdefault(article_id, []).append(topic)
    return found


def mentions_by_article(session: Session, article_ids: Iterable[str]) -> dict[str, list[TroopMentionRow]]:
    """Each article's troop mention rows, in text order."""
    found: dict[str, list[TroopMentionRow]] = {}
    for chunk in batched(dict.fromkeys(article_ids)):
        query = select(TroopMentionRow).where(TroopMentionRow.article_id.in_(chunk))
        for m in session.scalars(query.order_by(TroopMentionRow.article_id, TroopMentionRow.start)):
            found.setdefault(m.article_id, []).append(m)
    return found
