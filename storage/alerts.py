"""Subscriptions and the alert outbox: enqueue exactly once, claim, mark sent or failed."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from newsvigil.ingest.guard import apprise_refusal
from newsvigil.processors.alerts import KINDS, StoryEvent, SubscriptionRule, alert_payload, decide_alert
from newsvigil.records import parse_time, utcnow
from newsvigil.storage.models import AlertRow, Subscription
from newsvigil.storage.repositories import upsert

CHANNELS = ("webhook", "email", "apprise", "atom")


def _split(value: str) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def rule_of(sub: Subscription) -> SubscriptionRule:
    return SubscriptionRule(
        id=sub.id,
        topics=frozenset(_split(sub.topics)),
        languages=frozenset(_split(sub.languages)),
        keywords=tuple(_split(sub.keywords)),
        min_figure=sub.min_figure,
        kinds=frozenset(_split(sub.kinds)) or frozenset(KINDS),
        urgent_figure=sub.urgent_figure,
    )


def new_secret() -> str:
    """A Standard Webhooks secret: 'whsec_' + base64 of 24 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def add_subscription(session: Session, **fields: Any) -> Subscription:
    """A new subscription with its secret: a Standard Webhooks key, or for Atom the feed URL's token."""
    secret = secrets.token_urlsafe(24) if fields.get("channel") == "atom" else new_secret()
    sub = Subscription(secret=secret, created_at=utcnow(), active=True, **fields)
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
            rows.append(
                {
                    "subscription_id": sub.id,
                    "event_key": story_event.key,
                    "story_id": story_event.story_id,
                    "article_id": story_event.event.article.id,
                    "kind": decision.kind,
                    "urgent": decision.urgent,
                    "payload": json.dumps(alert_payload(story_event, decision.kind), ensure_ascii=False),
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": now + timedelta(minutes=sub.digest_minutes) if held else now,
                    "created_at": now,
                }
            )
    upsert(session, AlertRow, rows, ["subscription_id", "event_key"])
    return len(rows)


def due_alerts(session: Session, now: datetime, limit: int = 200) -> list[AlertRow]:
    return list(
        session.scalars(
            select(AlertRow)
            .where(AlertRow.status == "pending", AlertRow.next_attempt_at <= now)
            .order_by(AlertRow.next_attempt_at, AlertRow.id)
            .limit(limit)
        )
    )


def pending_counts(session: Session, now: datetime) -> tuple[int, int]:
    """(alerts due now, alerts waiting for a later attempt or a digest)."""
    due = (
        session.scalar(
            select(func.count())
            .select_from(AlertRow)
            .where(AlertRow.status == "pending", AlertRow.next_attempt_at <= now)
        )
        or 0
    )
    later = (
        session.scalar(
            select(func.count())
            .select_from(AlertRow)
            .where(AlertRow.status == "pending", AlertRow.next_attempt_at > now)
        )
        or 0
    )
    return due, later


def claim(session: Session, alert: AlertRow, lease: timedelta) -> bool:
    """Take an alert for delivery (a lease, so that two deliverers never send it at once)."""
    result = session.execute(
        update(AlertRow)
        .where(AlertRow.id == alert.id, AlertRow.status == "pending", AlertRow.next_attempt_at == alert.next_attempt_at)
        .values(next_attempt_at=utcnow() + lease)
    )
    return result.rowcount == 1


def held_digest(session: Session, subscription_id: int) -> list[AlertRow]:
    """Every pending alert of a digest subscription (sent together once the oldest is due)."""
    return list(
        session.scalars(
            select(AlertRow)
            .where(AlertRow.subscription_id == subscription_id, AlertRow.status == "pending")
            .order_by(AlertRow.created_at, AlertRow.id)
        )
    )


def subscription_fields(
    *,
    name: str,
    channel: str,
    target: str = "",
    topics: str = "",
    languages: str = "",
    keywords: str = "",
    min_figure: float | None = None,
    kinds: str = ",".join(KINDS),
    mode: str = "instant",
    digest_minutes: int = 60,
    urgent_figure: float | None = None,
) -> dict[str, Any]:
    """Validated, normalised columns of a subscription; ValueError names the bad field."""
    if not name.strip():
        raise ValueError("name: give the subscription a name")
    if channel not in CHANNELS:
        raise ValueError(f"channel: {channel!r} is not one of {', '.join(CHANNELS)}")
    if mode not in ("instant", "digest"):
        raise ValueError(f"mode: {mode!r} is not instant or digest")
    if channel in ("webhook", "apprise") and "://" not in target:
        raise ValueError(f"target: {target!r} is not a URL (e.g. https://example.org/hook)")
    if channel == "webhook" and not target.lower().startswith(("http://", "https://")):
        raise ValueError(f"target: {target!r} is not an http(s) URL")
    if channel == "apprise" and (problem := apprise_refusal(target)):
        raise ValueError(f"target: {problem}")
    if channel == "email" and "@" not in target:
        raise ValueError(f"target: {target!r} is not an email address")
    if digest_minutes < 1:
        raise ValueError("digest_minutes: must be at least 1")
    kind_list = _split(kinds)
    bad = [k for k in kind_list if k not in KINDS]
    if bad or not kind_list:
        raise ValueError(f"kinds: {','.join(bad) or '(none)'} is not one of {', '.join(KINDS)}")
    return {
        "name": name.strip(),
        "channel": channel,
        "target": target.strip(),
        "topics": ",".join(_split(topics)),
        "languages": ",".join(_split(languages)),
        "keywords": ",".join(_split(keywords)),
        "min_figure": min_figure,
        "kinds": ",".join(kind_list),
        "mode": mode,
        "digest_minutes": digest_minutes,
        "urgent_figure": urgent_figure,
    }


def subscription_json(sub: Subscription) -> dict[str, Any]:
    """A subscription as the CLI and the API show it (never its secret)."""
    return {
        "id": sub.id,
        "name": sub.name,
        "channel": sub.channel,
        "target": sub.target,
        "topics": sub.topics,
        "languages": sub.languages,
        "keywords": sub.keywords,
        "min_figure": sub.min_figure,
        "kinds": sub.kinds,
        "mode": sub.mode,
        "digest_minutes": sub.digest_minutes,
        "urgent_figure": sub.urgent_figure,
        "active": sub.active,
        "disabled_reason": sub.disabled_reason,
    }


def sent_alerts(session: Session, subscription_id: int, limit: int = 50) -> list[tuple[int, datetime, dict[str, Any]]]:
    """(alert id, time, payload) of a subscription's delivered alerts, newest first: its Atom feed."""
    rows = session.scalars(
        select(AlertRow)
        .where(AlertRow.subscription_id == subscription_id, AlertRow.status == "sent")
        .order_by(AlertRow.id.desc())
        .limit(limit)
    )
    return [(a.id, parse_time(a.sent_at or a.created_at), json.loads(a.payload)) for a in rows]
