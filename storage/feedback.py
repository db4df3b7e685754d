"""Users' feedback on detected troop figures: stored per article, listed for the corpus scorer."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsvigil.errors import InvalidInput, NotFound
from newsvigil.records import utc_iso, utcnow
from newsvigil.storage.models import ArticleRow, DetectionRow, TroopFeedback, TroopMentionRow

KINDS = ("not_troops",)


def record_feedback(
    session: Session,
    article_id: str,
    value: float,
    kind: str = "not_troops",
    note: str | None = None,
    created_by: str | None = None,
) -> tuple[TroopFeedback, bool]:
    """Record that `value` in an article is not a troop figure; (row, True if new). Marking the
    same figure twice keeps one row. The figure must be one the detector reported."""
    if kind not in KINDS:
        raise InvalidInput(f"unknown feedback kind {kind!r}", f"use one of: {', '.join(KINDS)}")
    if session.get(ArticleRow, article_id) is None:
        raise NotFound(f"no article {article_id!r} in the database")
    figures = list(session.scalars(select(TroopMentionRow.value).where(TroopMentionRow.article_id == article_id)))
    if value not in figures:
        shown = ", ".join(f"{v:g}" for v in sorted(set(figures))) or "none"
        raise InvalidInput(
            f"article {article_id} has no troop figure {value:g} (its figures: {shown})",
            "give one of the figures the article page lists",
        )
    existing = session.scalar(
        select(TroopFeedback).where(
            TroopFeedback.article_id == article_id, TroopFeedback.kind == kind, TroopFeedback.value == value
        )
    )
    if existing is not None:
        return existing, False
    row = TroopFeedback(
        article_id=article_id,
        kind=kind,
        value=value,
        note=note,
        created_by=created_by,
        rules_version=session.scalar(select(DetectionRow.rules_version).where(DetectionRow.article_id == article_id)),
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    return row, True


def list_feedback(session: Session) -> list[dict[str, Any]]:
    """Every feedback row with its article's title and text, oldest first."""
    rows = session.execute(
        select(TroopFeedback, ArticleRow)
        .join(ArticleRow, ArticleRow.id == TroopFeedback.article_id)
        .order_by(TroopFeedback.created_at, TroopFeedback.id)
    )
    return [
        {
            "article_id": f.article_id,
            "kind": f.kind,
            "value": f.value,
            "rules_version": f.rules_version,
            "note": f.note,
            "created_by": f.created_by,
            "created_at": utc_iso(f.created_at),
            "title": a.title,
            "summary": a.summary,
            "language": a.language,
        }
        for f, a in rows
    ]


def feedback_values(session: Session, article_id: str) -> set[float]:
    """The figures of one article that users marked as not troops."""
    return set(session.scalars(select(TroopFeedback.value).where(TroopFeedback.article_id == article_id)))
