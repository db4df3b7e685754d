"""Subscriptions: validating what a subscriber asks for, reading it as a rule, and queuing the alerts
each story event earns (exactly once per subscriber). The CLI, the API and the dashboard share these."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
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
    decide_spike_alert,
    figure_alert_payload,
    spike_payload,
)
from newsvigil.processors.series import FigureChange
from newsvigil.processors.spikes import RecordedSpike
from newsvigil.records import AlertKind, AlertPayload, AlertStatus, Channel, DeliveryMode, utcnow
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


def enqueue_alerts(
    session: Session,
    story_events: Sequence[StoryEvent],
    spikes: Sequence[RecordedSpike] = (),
    changes: Sequence[FigureChange] = (),
) -> int:
    """Create the alerts the subscriptions want for a batch's story events, the spikes its reports
    crossed and the figure changes they brought (subscriptions read once); the (subscription, event)
    key makes each exactly once. A spike's and a change's alert carry the story event of their report
    (among `story_events`)."""
    if not story_events:
        return 0
    subscriptions = [(rule_of(s), s) for s in active_subscriptions(session)]
    now = utcnow()
    rows: list[dict[str, Any]] = []
    for story_event in story_events:
        for rule, sub in subscriptions:
            decision = decide_alert(rule, story_event)
            if decision is not None:
                payload = alert_payload(story_event, decision.kind)
                rows.append(_alert_row(sub, story_event.key, story_event, decision.kind, decision.urgent, payload, now))
    by_article = {e.event.article.id: e for e in story_events}
    for spike in spikes:
        crossed = by_article.get(spike.spike.article_id)
        if crossed is None:  # the crossing report is always among the batch's story events
            continue
        for rule, sub in subscriptions:
            if decide_spike_alert(rule, spike):
                payload = spike_payload(crossed, spike)
                rows.append(_alert_row(sub, f"spike:{spike.id}", crossed, AlertKind.SPIKE, False, payload, now))
    for change in changes:
        # The key "series:<series id>:<article id>" makes each change one alert per subscriber.
        reported = by_article.get(change.current.article_id)
        if reported is None:
            continue
        for rule, sub in subscriptions:
            figure = decide_figure_alert(rule, change, reported)
            if figure is not None:
                payload = figure_alert_payload(change, reported)
                rows.append(_alert_row(sub, change.event_key, reported, figure.kind, figure.urgent, payload, now))
    insert_alerts(session, rows)
    return len(rows)


def _alert_row(
    sub: Subscription,
    key: str,
    story_event: StoryEvent,
    kind: AlertKind,
    urgent: bool,
    payload: AlertPayload,
    now: datetime,
) -> dict[str, Any]:
    """An alert's row: pending now, or held until the digest is due when the subscriber takes
    digests and the alert is not urgent."""
    held = sub.mode == DeliveryMode.DIGEST and not urgent
    return {
        "subscription_id": sub.id,
        "event_key": key,
        "story_id": story_event.story_id,
        "article_id": story_event.event.article.id,
        "kind": kind,
        "urgent": urgent,
        "payload": json.dumps(payload, ensure_ascii=False),
        "status": AlertStatus.PENDING,
        "attempts": 0,
        "next_attempt_at": now + timedelta(minutes=sub.digest_minutes) if held else now,
        "created_at": now,
    }
