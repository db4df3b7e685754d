"""Subscriptions and the alert outbox: enqueue exactly once, claim, mark sent or failed."""

from __future__ import annotations

import base64
import json
import secrets
from datetime import datetime, timedelta
from typing import Any, Sequence

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from newsvigil.records import utcnow
from processors.alerts import KINDS, StoryEvent, SubscriptionRule, alert_payload, decide_alert
from storage.models import AlertRow, Subscription
from storage.repositories import upsert

CHANNELS = ("webhook", "email", "apprise", "atom")


def _split(value: str) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def rule_of(sub: Subscription) -> SubscriptionRule:
    return SubscriptionRule(
        id=sub.id, topics=frozenset(_split(sub.topics)), languages=frozenset(_split(sub.languages)),
        keywords=tuple(_split(sub.keywords)), min_figure=sub.min_figure,
        kinds=frozenset(_split(sub.kinds)) or frozenset(KINDS), urgent_figure=sub.urgent_figure,
    )


def new_secret() -> str:
    """A Standard Webhooks secret: 'whsec_' + base64 of 24 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def add_subscription(session: Session, **fields: Any) -> Subscription:
    sub = Subscription(secret=new_secret(), created_at=utcnow(), active=True, **fields)
    session.add(sub)
    session.flush()
    return sub


def active_rules(session: Session) -> list[tuple[SubscriptionRule, Subscription]]:
    return [(rule_of(s), s) for s in session.scalars(select(Subscription).where(Subscription.active.is_(True)))]


def enqueue_alerts(session: Session, story_events: Sequence[StoryEvent]) -> int:
    """Create the alerts the subscriptions want; the (subscription, event) key makes it exactly once."""
    if not story_events:
        return 0
    subscriptions = active_rules(session)
    now = utcnow()
    rows = []
    for story_event in story_events:
        for rule, sub in subscriptions:
            decision = decide_alert(rule, story_event)
            if decision is None:
                continue
            held = sub.mode == "digest" and not decision.urgent
            rows.append({
                "subscription_id": sub.id, "event_key": story_event.key, "story_id": story_event.story_id,
                "article_id": story_event.event.article.id, "kind": decision.kind, "urgent": decision.urgent,
                "payload": json.dumps(alert_payload(story_event, decision.kind), ensure_ascii=False),
                "status": "pending", "attempts": 0,
                "next_attempt_at": now + timedelta(minutes=sub.digest_minutes) if held else now,
                "created_at": now,
            })
    upsert(session, AlertRow, rows, ["subscription_id", "event_key"])
    return len(rows)


def due_alerts(session: Session, now: datetime, limit: int = 200) -> list[AlertRow]:
    return list(session.scalars(
        select(AlertRow).where(AlertRow.status == "pending", AlertRow.next_attempt_at <= now)
        .order_by(AlertRow.next_attempt_at, AlertRow.id).limit(limit)
    ))


def claim(session: Session, alert: AlertRow, lease: timedelta) -> bool:
    """Take an alert for delivery (a lease, so that two deliverers never send it at once)."""
    result = session.execute(
        update(AlertRow).where(AlertRow.id == alert.id, AlertRow.status == "pending",
                               AlertRow.next_attempt_at == alert.next_attempt_at)
        .values(next_attempt_at=utcnow() + lease)
    )
    return result.rowcount == 1


def held_digest(session: Session, subscription_id: int) -> list[AlertRow]:
    """Every pending alert of a digest subscription (sent together once the oldest is due)."""
    return list(session.scalars(
        select(AlertRow).where(AlertRow.subscription_id == subscription_id, AlertRow.status == "pending")
        .order_by(AlertRow.created_at, AlertRow.id)
    ))
