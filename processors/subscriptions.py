"""Subscriptions: validating what a subscriber asks for, reading it as a rule, and queuing the alerts
each story event earns (exactly once per subscriber). The CLI, the API and the dashboard share these."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from newsvigil.errors import InvalidInput
from newsvigil.ingest.guard import apprise_refusal
from newsvigil.processors.alerts import (
    KINDS,
    StoryEvent,
    SubscriptionRule,
    alert_payload,
    decide_alert,
    decide_figure_alert,
    figure_alert_payload,
)
from newsvigil.processors.series import FigureChange
from newsvigil.records import AlertKind, AlertStatus, Channel, DeliveryMode, utcnow
from newsvigil.storage.alerts import active_subscriptions, add_subscription, insert_alerts
from newsvigil.storage.models import Subscription

CHANNELS = tuple(Channel)


def _split(value: str) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def rule_of(sub: Subscription) -> SubscriptionRule:
    """A stored subscription as the filters decide_alert reads."""
    return SubscriptionRule(
        id=sub.id,
        topics=frozenset(_split(sub.topics)),
        languages=frozenset(_split(sub.languages)),
        keywords=tuple(_split(sub.keywords)),
        min_figure=sub.min_figure,
        kinds=frozenset(AlertKind(k) for k in _split(sub.kinds)) or frozenset(KINDS),
        urgent_figure=sub.urgent_figure,
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
    mode: str = DeliveryMode.INSTANT,
    digest_minutes: int = 60,
    urgent_figure: float | None = None,
) -> dict[str, Any]:
    """Validated, normalised columns of a subscription; InvalidInput names the bad field."""
    if not name.strip():
        raise InvalidInput("name: give the subscription a name")
    if channel not in CHANNELS:
        raise InvalidInput(f"channel: {channel!r} is not one of {', '.join(CHANNELS)}")
    if mode not in tuple(DeliveryMode):
        raise InvalidInput(f"mode: {mode!r} is not instant or digest")
    if channel in ("webhook", "apprise") and "://" not in target:
        raise InvalidInput(f"target: {target!r} is not a URL (e.g. https://example.org/hook)")
    if channel == "webhook" and not target.lower().startswith(("http://", "https://")):
        raise InvalidInput(f"target: {target!r} is not an http(s) URL")
    if channel == "apprise" and (problem := apprise_refusal(target)):
        raise InvalidInput(f"target: {problem}")
    if channel == "email" and "@" not in target:
        raise InvalidInput(f"target: {target!r} is not an email address")
    if digest_minutes < 1:
        raise InvalidInput("digest_minutes: must be at least 1")
    kind_list = _split(kinds)
    bad = [k for k in kind_list if k not in KINDS]
    if bad or not kind_list:
        raise InvalidInput(f"kinds: {','.join(bad) or '(none)'} is not one of {', '.join(KINDS)}")
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


def create_subscription(session: Session, **requested: Any) -> Subscription:
    """Validate a subscriber's request and store it with its new secret."""
    return add_subscription(session, **subscription_fields(**requested))


def enqueue_alerts(session: Session, story_events: Sequence[StoryEvent]) -> int:
    """Create the alerts the subscriptions want; the (subscription, event) key makes it exactly once."""
    if not story_events:
        return 0
    subscriptions = [(rule_of(s), s) for s in active_subscriptions(session)]
    now = utcnow()
    rows = []
    for story_event in story_events:
        for rule, sub in subscriptions:
            decision = decide_alert(rule, story_event)
            if decision is None:
                continue
            held = sub.mode == DeliveryMode.DIGEST and not decision.urgent
            rows.append(
                {
                    "subscription_id": sub.id,
                    "event_key": story_event.key,
                    "story_id": story_event.story_id,
                    "article_id": story_event.event.article.id,
                    "kind": decision.kind,
                    "urgent": decision.urgent,
                    "payload": json.dumps(alert_payload(story_event, decision.kind), ensure_ascii=False),
                    "status": AlertStatus.PENDING,
                    "attempts": 0,
                    "next_attempt_at": now + timedelta(minutes=sub.digest_minutes) if held else now,
                    "created_at": now,
                }
            )
    insert_alerts(session, rows)
    return len(rows)


def enqueue_figure_alerts(session: Session, changes: Sequence[FigureChange], story_events: Sequence[StoryEvent]) -> int:
    """Create the figure_changed alerts the subscriptions want, each change with the story event of its
    report; the key "series:<series id>:<article id>" makes each exactly once per subscriber."""
    by_article = {e.event.article.id: e for e in story_events}
    wanted = [(c, by_article[c.current.article_id]) for c in changes if c.current.article_id in by_article]
    if not wanted:
        return 0
    subscriptions = [(rule_of(s), s) for s in active_subscriptions(session)]
    now = utcnow()
    rows = []
    for change, story_event in wanted:
        for rule, sub in subscriptions:
            decision = decide_figure_alert(rule, change, story_event)
            if decision is None:
                continue
            held = sub.mode == DeliveryMode.DIGEST and not decision.urgent
            rows.append(
                {
                    "subscription_id": sub.id,
                    "event_key": change.event_key,
                    "story_id": story_event.story_id,
                    "article_id": change.current.article_id,
                    "kind": decision.kind,
                    "urgent": decision.urgent,
                    "payload": json.dumps(figure_alert_payload(change, story_event), ensure_ascii=False),
                    "status": AlertStatus.PENDING,
                    "attempts": 0,
                    "next_attempt_at": now + timedelta(minutes=sub.digest_minutes) if held else now,
                    "created_at": now,
                }
            )
    insert_alerts(session, rows)
    return len(rows)
