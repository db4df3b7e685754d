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

from newsvigil.errors import NotFound
from newsvigil.records import (
    AlertKind,
    AlertPayload,
    AlertStatus,
    Channel,
    ClaimedAlert,
    SentAlert,
    parse_time,
    utcnow,
)
from newsvigil.storage.models import AlertRow, Subscription
from newsvigil.storage.repositories import rows_changed, upsert


def new_secret() -> str:
    """A Standard Webhooks secret: 'whsec_' + base64 of 24 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def add_subscription(session: Session, **fields: Any) -> Subscription:
    """A new subscription with its secret: a Standard Webhooks key, or for Atom the feed URL's token."""
    secret = secrets.token_urlsafe(24) if fields.get("channel") == Channel.ATOM else new_secret()
    sub = Subscription(secret=secret, created_at=utcnow(), active=True, **fields)
    session.add(sub)
    session.flush()
    return sub


def active_subscriptions(session: Session) -> list[Subscription]:
    """The subscriptions that receive alerts."""
    return list(session.scalars(select(Subscription).where(Subscription.active.is_(True))))


def insert_alerts(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Add alerts to the outbox; the (subscription, event key) pair makes each one exactly once."""
    upsert(session, AlertRow, rows, ["subscription_id", "event_key"])


def subscriptions(session: Session) -> list[Subscription]:
    """Every subscription, oldest first."""
    return list(session.scalars(select(Subscription).order_by(Subscription.id)))


def find_subscription(session: Session, subscription_id: int) -> Subscription:
    """The subscription with this id; NotFound names it."""
    sub = session.get(Subscription, subscription_id)
    if sub is None:
        raise NotFound(f"no subscription {subscription_id}")
    return sub


def set_active(session: Session, subscription_id: int, active: bool) -> Subscription:
    """Pause or resume a subscription (resuming clears why it was disabled)."""
    sub = find_subscription(session, subscription_id)
    sub.active = active
    if active:
        sub.disabled_reason = None
    return sub


def delete_subscription(session: Session, subscription_id: int) -> None:
    """Delete a subscription and its alerts."""
    session.delete(find_subscription(session, subscription_id))


def due_alerts(session: Session, now: datetime, limit: int = 200) -> list[AlertRow]:
    return list(
        session.scalars(
            select(AlertRow)
            .where(AlertRow.status == AlertStatus.PENDING, AlertRow.next_attempt_at <= now)
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
            .where(AlertRow.status == AlertStatus.PENDING, AlertRow.next_attempt_at <= now)
        )
        or 0
    )
    later = (
        session.scalar(
            select(func.count())
            .select_from(AlertRow)
            .where(AlertRow.status == AlertStatus.PENDING, AlertRow.next_attempt_at > now)
        )
        or 0
    )
    return due, later


def claim(session: Session, alert: AlertRow, lease: timedelta) -> ClaimedAlert | None:
    """Take a due alert for one delivery attempt, under a lease so that two deliverers never send it
    at once; None when another deliverer took it first."""
    taken = rows_changed(
        session,
        update(AlertRow)
        .where(
            AlertRow.id == alert.id,
            AlertRow.status == AlertStatus.PENDING,
            AlertRow.next_attempt_at == alert.next_attempt_at,
        )
        .values(next_attempt_at=utcnow() + lease),
    )
    if taken != 1:
        return None
    return ClaimedAlert(
        id=alert.id,
        subscription_id=alert.subscription_id,
        attempts=alert.attempts,
        kind=AlertKind(alert.kind),
        payload=_payload(alert.payload),
    )


def record_attempt(
    session: Session,
    alert: ClaimedAlert,
    status: AlertStatus,
    *,
    error: str | None = None,
    retry_at: datetime | None = None,
) -> bool:
    """Record the delivery attempt of a claimed alert: sent, failed, or pending again from `retry_at`.

    False when the alert is no longer as it was claimed (deleted with its subscription while it was
    being sent, or taken and recorded by another deliverer once the lease ran out): nothing is
    recorded then.
    """
    values: dict[str, Any] = {"attempts": alert.attempts + 1, "status": status, "last_error": error}
    if status == AlertStatus.SENT:
        values["sent_at"] = utcnow()
    if retry_at is not None:
        values["next_attempt_at"] = retry_at
    return (
        rows_changed(
            session,
            update(AlertRow)
            .where(AlertRow.id == alert.id, AlertRow.status == AlertStatus.PENDING, AlertRow.attempts == alert.attempts)
            .values(**values),
        )
        == 1
    )


def disable_subscription(session: Session, subscription_id: int, reason: str) -> bool:
    """Stop delivering to a subscription, saying why; False when it no longer exists."""
    update_ = (
        update(Subscription).where(Subscription.id == subscription_id).values(active=False, disabled_reason=reason)
    )
    return rows_changed(session, update_) == 1


def held_digest(session: Session, subscription_id: int) -> list[AlertRow]:
    """Every pending alert of a digest subscription (sent together once the oldest is due)."""
    return list(
        session.scalars(
            select(AlertRow)
            .where(AlertRow.subscription_id == subscription_id, AlertRow.status == AlertStatus.PENDING)
            .order_by(AlertRow.created_at, AlertRow.id)
        )
    )


def retry_failed_alerts(session: Session) -> int:
    """Queue every failed alert for delivery again; how many."""
    return rows_changed(
        session,
        update(AlertRow)
        .where(AlertRow.status == AlertStatus.FAILED)
        .values(status=AlertStatus.PENDING, attempts=0, next_attempt_at=utcnow()),
    )


def recent_alerts(session: Session, limit: int, *, failed_only: bool = False) -> list[AlertRow]:
    """The latest alerts, newest first (only failed ones if asked)."""
    query = select(AlertRow).order_by(AlertRow.id.desc()).limit(limit)
    if failed_only:
        query = query.where(AlertRow.status == AlertStatus.FAILED)
    return list(session.scalars(query))


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


def sent_alerts(session: Session, subscription_id: int, limit: int = 50) -> list[SentAlert]:
    """A subscription's delivered alerts, newest first: its Atom feed."""
    rows = session.scalars(
        select(AlertRow)
        .where(AlertRow.subscription_id == subscription_id, AlertRow.status == AlertStatus.SENT)
        .order_by(AlertRow.id.desc())
        .limit(limit)
    )
    return [SentAlert(a.id, parse_time(a.sent_at or a.created_at), _payload(a.payload)) for a in rows]


def _payload(text: str) -> AlertPayload:
    """An alert's stored payload (JSON written from an AlertPayload)."""
    payload: AlertPayload = json.loads(text)
    return payload
