"""Export stored articles with their detections as JSON lines, the format `replay` reads back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import IO

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsvigil.batching import SQL_CHUNK, batched
from newsvigil.records import SCHEMA_VERSION
from newsvigil.storage.mapping import article_of, mention_of, mentions_by_article, topics_by_article
from newsvigil.storage.models import ArticleRow, ArticleTopic, DetectionRow


def export_records(
    session: Session, since: datetime | None = None, until: datetime | None = None, topic: str | None = None
) -> Iterator[dict]:
    """Each stored article (oldest first) as {"schema", "article", "detection"}."""
    when = ArticleRow.when
    query = select(ArticleRow).order_by(when, ArticleRow.id)
    if since:
        query = query.where(when >= since)
    if until:
        query = query.where(when < until)
    if topic:
        query = query.where(ArticleRow.id.in_(select(ArticleTopic.article_id).where(ArticleTopic.topic == topic)))
    for chunk in batched(session.scalars(query.execution_options(yield_per=SQL_CHUNK))):
        yield from _with_detections(session, chunk)


def _with_detections(session: Session, rows: list[ArticleRow]) -> Iterator[dict]:
    ids = [r.id for r in rows]
    detections = {
        d.article_id: d for d in session.scalars(select(DetectionRow).where(DetectionRow.article_id.in_(ids)))
    }
    topics = topics_by_article(session, ids)
    mentions = mentions_by_article(session, ids)
    for row in rows:
        detection = detections.get(row.id)
        yield {
            "schema": SCHEMA_VERSION,
            "article": article_of(row).to_json(),
            "detection": {
                "id": row.id,
                "lang": detection.lang if detection else None,
                "topics": topics.get(row.id, []),
                "troops": [mention_of(m).to_json() for m in mentions.get(row.id, [])],
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
