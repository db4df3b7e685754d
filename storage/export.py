"""Export stored articles with their detections as JSON lines, the format `replay` reads back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import IO

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from newsvigil.records import SCHEMA_VERSION, Article, TroopMention
from newsvigil.storage.models import ArticleRow, ArticleTopic, DetectionRow, TroopMentionRow

_CHUNK = 500


def _article(row: ArticleRow) -> Article:
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


def export_records(
    session: Session, since: datetime | None = None, until: datetime | None = None, topic: str | None = None
) -> Iterator[dict]:
    """Each stored article (oldest first) as {"schema", "article", "detection"}."""
    when = func.coalesce(ArticleRow.published_at, ArticleRow.fetched_at)
    query = select(ArticleRow).order_by(when, ArticleRow.id)
    if since:
        query = query.where(when >= since)
    if until:
        query = query.where(when < until)
    if topic:
        query = query.where(ArticleRow.id.in_(select(ArticleTopic.article_id).where(ArticleTopic.topic == topic)))
    rows = session.scalars(query.execution_options(yield_per=_CHUNK))
    chunk: list[ArticleRow] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == _CHUNK:
            yield from _with_detections(session, chunk)
            chunk = []
    if chunk:
        yield from _with_detections(session, chunk)


def _with_detections(session: Session, rows: list[ArticleRow]) -> Iterator[dict]:
    ids = [r.id for r in rows]
    detections = {
        d.article_id: d for d in session.scalars(select(DetectionRow).where(DetectionRow.article_id.in_(ids)))
    }
    topics: dict[str, list[str]] = {}
    for article_id, name in session.execute(
        select(ArticleTopic.article_id, ArticleTopic.topic).where(ArticleTopic.article_id.in_(ids))
    ):
        topics.setdefault(article_id, []).append(name)
    mentions: dict[str, list[dict]] = {}
    for m in session.scalars(
        select(TroopMentionRow).where(TroopMentionRow.article_id.in_(ids)).order_by(TroopMentionRow.start)
    ):
        mentions.setdefault(m.article_id, []).append(
            TroopMention(
                value=m.value,
                low=m.low,
                high=m.high,
                approx=m.approx,
                unit=m.unit,
                quote=m.quote,
                start=m.start,
                end=m.end,
                actor=m.actor,
                action=m.action,
            ).to_json()
        )
    for row in rows:
        detection = detections.get(row.id)
        yield {
            "schema": SCHEMA_VERSION,
            "article": _article(row).to_json(),
            "detection": {
                "id": row.id,
                "lang": detection.lang if detection else None,
                "topics": sorted(topics.get(row.id, [])),
                "troops": mentions.get(row.id, []),
                "rules_version": detection.rules_version if detection else None,
            },
        }


def write_jsonl(records: Iterator[dict], out: IO[str]) -> int:
    """Write records one JSON object per line; returns how many."""
    count = 0
    for record in records:
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        count += 1
    return count
