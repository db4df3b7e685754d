"""Alert delivery from the outbox: webhook (Standard Webhooks), email (SMTP), Apprise, Atom.

Retries back off exponentially with jitter and honour Retry-After; HTTP 410 disables the
subscription. Each alert keeps a stable id (webhook-id), so a receiver can drop the rare
duplicate that a crash between sending and recording can cause.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import random
import smtplib
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from urllib.parse import urlsplit

import httpx
from sqlalchemy.orm import Session, sessionmaker

from newsvigil.ingest.guard import FetchRefused, apprise_refusal, guarded_sync_client, policy_for
from newsvigil.ingest.schedule import parse_retry_after, retry_delay
from newsvigil.outage import Outage
from newsvigil.processors.alerts import render_html, render_text
from newsvigil.records import AlertKind, AlertPayload, AlertStatus, Channel, ClaimedAlert, DeliveryMode, utcnow
from newsvigil.settings import Settings
from newsvigil.storage.alerts import (
    claim,
    disable_subscription,
    due_alerts,
    held_digest,
    pending_counts,
    record_attempt,
)
from newsvigil.storage.database import unreachable
from newsvigil.storage.models import Subscription

log = logging.getLogger("newsvigil.delivery")
LEASE = timedelta(seconds=120)
SEND_TIMEOUT = 10.0  # seconds one delivery may take
PER_TARGET = (
    2  # deliveries at once to one target (host of a webhook, the SMTP server, ...); one subscription's go in order
)
ROUND_THREADS = 16  # deliveries at once in a round
# Messages one round sends to one target: even if each takes the whole timeout, the round ends well
# before the leases it took expire (and another deliverer would send them again).
ROUND_PER_TARGET = PER_TARGET * int(LEASE.total_seconds() / SEND_TIMEOUT) // 2
MAX_BACKOFF = 3600.0  # seconds: the longest wait between two attempts (before jitter)
ALERT_JITTER = (0.5, 1.5)  # alerts: retried around the doubled delay, sooner or later (retry_delay's jitter)
_COUNTED = {
    AlertStatus.SENT: "sent",
    AlertStatus.FAILED: "failed",
    AlertStatus.PENDING: "retried",
}  # deliver_due's counts


@dataclass(slots=True)
class Outcome:
    """What one delivery attempt gave."""

    ok: bool
    error: str | None = None
    retry_after: float | None = None  # seconds the receiver asked us to wait
    gone: bool = False  # the endpoint said 410: stop sending


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """Standard Webhooks signature: 'v1,' + base64(HMAC-SHA256(secret, id.timestamp.body))."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def target_key(channel: str, target: str) -> str | None:
    """Where a delivery goes, for per-target limits: a webhook's or Apprise URL's host, the SMTP
    server; None for Atom (nothing is sent: the feed shows sent alerts)."""
    if channel == Channel.ATOM:
        return None
    if channel in (Channel.WEBHOOK, Channel.APPRISE):
        try:
            return f"{channel}:{urlsplit(target).hostname or ''}"
        except ValueError:
            return f"{channel}:?"
    return channel


@dataclass(frozen=True, slots=True)
class Recipient:
    """Where a subscription's alerts go: what sending needs, copied out of the session that claimed them."""

    id: int  # the subscription's id
    channel: Channel
    target: str  # webhook URL, email address or Apprise URL (empty for Atom)
    secret: str  # the Standard Webhooks key webhooks are signed with

    @classmethod
    def of(cls, sub: Subscription) -> Recipient:
        return cls(sub.id, Channel(sub.channel), sub.target, sub.secret)

    @property
    def limit_key(self) -> str | None:
        """The target_key() that per-target limits count by."""
        return target_key(self.channel, self.target)


@dataclass(frozen=True, slots=True)
class Message:
    """One delivery of a round: a subscription's claimed alerts, sent as one message (a digest
    holds several)."""

    recipient: Recipient
    alerts: tuple[ClaimedAlert, ...]


class Dispatcher:
    """Sends due alerts. Synchronous: runners call `deliver_due` after each batch and on a timer."""

    def __init__(self, sessions: sessionmaker[Session], settings: Settings, rng: random.Random | None = None) -> None:
        self.sessions = sessions
        self.settings = settings
        self.rng = rng or random.Random()
        # Webhooks go through the same guard as feeds (and NEWSVIGIL_ALLOWED_NETWORKS opens it alike):
        # a subscriber's URL must not reach the metadata service or anything on the internal network.
        self.policy = policy_for(settings)
        self.http = guarded_sync_client(
            self.policy,
            timeout=httpx.Timeout(SEND_TIMEOUT),
            headers={"User-Agent": settings.user_agent},
            limits=httpx.Limits(max_connections=ROUND_THREADS, max_keepalive_connections=ROUND_THREADS),
        )
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # Outcomes of messages sent whose recording failed (the database went away meanwhile): recorded
        # first in the next round. Dropped, their alerts would be sent again once their lease ran out.
        self._unrecorded: list[tuple[Message, Outcome]] = []
        self._unrecorded_lock = threading.Lock()

    def start(self, interval: float) -> Dispatcher:
        """Deliver in a background thread: at once after `notify()`, and every `interval` s for retries."""
        outage = Outage("database (alert delivery)", log)

        def loop() -> None:
            while not self._stop.is_set():
                self._wake.wait(interval)
                self._wake.clear()
                try:
                    self.deliver_due()
                except Exception as exc:  # a database outage must not end delivery for good: told once
                    outage.failed(exc)
                else:
                    outage.ok()

        self._thread = threading.Thread(target=loop, name="newsvigil-delivery", daemon=True)
        self._thread.start()
        return self

    def notify(self) -> None:
        """New alerts are in the outbox: deliver them now, in the background thread."""
        self._wake.set()

    def close(self) -> None:
        """Stop the background thread after one last delivery round, then close connections."""
        if self._thread:
            self._stop.set()
            self._wake.set()
            self._thread.join(timeout=30)
            try:
                self.deliver_due()
            except Exception as exc:  # the database is away at exit: what is queued stays queued, safely
                log.error(
                    "last alert delivery round not made (%s); queued alerts are sent at the next start",
                    exc.__class__.__name__,
                )
        self.http.close()

    def deliver_due(self, now: datetime | None = None) -> dict[str, int]:
        """Deliver every alert that is due; returns counts of sent, retried and failed alerts.

        One transaction claims the round's alerts and one records the outcomes, so a round of many
        alerts costs two commits, not two per alert.
        """
        now = now or utcnow()
        counts = {"sent": 0, "retried": 0, "failed": 0}
        with self._unrecorded_lock:
            earlier, self._unrecorded = self._unrecorded, []
        if earlier:
            self._record_or_keep(earlier, counts)
        messages: list[Message] = []
        per_target: dict[str | None, int] = {}
        with self.sessions.begin() as session:
            claimed: set[int] = set()
            subscriptions: dict[int, Subscription | None] = {}
            for alert in due_alerts(session, now):
                if alert.id in claimed:
                    continue
                sub = subscriptions.setdefault(alert.subscription_id, session.get(Subscription, alert.subscription_id))
                if sub is None or not sub.active:
                    continue
                recipient = Recipient.of(sub)
                target = recipient.limit_key
                if target is not None and per_target.get(target, 0) >= ROUND_PER_TARGET:
                    continue  # left for the next round: this round must end before its leases do
                if sub.mode == DeliveryMode.DIGEST and not alert.urgent:
                    batch = [a for a in held_digest(session, sub.id) if not a.urgent and a.id not in claimed]
                else:
                    batch = [alert]
                taken = tuple(c for a in batch if (c := claim(session, a, LEASE)))  # skip what another deliverer took
                if not taken:
                    continue
                claimed.update(c.id for c in taken)
                per_target[target] = per_target.get(target, 0) + 1  # one message, whatever it holds
                messages.append(Message(recipient, taken))
        outcomes = self._send_all(messages)
        if outcomes:
            self._record_or_keep(outcomes, counts)
        return counts

    def _record_or_keep(self, outcomes: list[tuple[Message, Outcome]], counts: dict[str, int]) -> None:
        """Record outcomes; kept for the next round if the database cannot be reached (the error is
        raised). Outcomes it refuses are not kept: they would block every round after."""
        try:
            self._record(outcomes, counts)
        except Exception as exc:
            if unreachable(exc):
                with self._unrecorded_lock:
                    self._unrecorded = outcomes + self._unrecorded
            raise

    def drain(self, on_round: Callable[[dict[str, int]], None] | None = None) -> tuple[int, int]:
        """Deliver rounds until nothing due is left or a round sends nothing (everything left waits for
        a retry time or a digest); returns (alerts delivered, alerts still pending)."""
        delivered = 0
        while True:
            counts = self.deliver_due()
            delivered += counts["sent"]
            if on_round:
                on_round(counts)
            with self.sessions() as session:
                due, later = pending_counts(session, utcnow())
            if not due or not any(counts.values()):
                return delivered, due + later

    def _send_all(self, messages: list[Message]) -> list[tuple[Message, Outcome]]:
        """Send a round's messages: each subscription's in order, one after the other; different
        subscriptions concurrently, at most PER_TARGET at a time to one target. An unresponsive
        webhook delays its own alerts, not every other subscriber's."""
        by_subscription: dict[int, list[int]] = {}
        for index, message in enumerate(messages):
            by_subscription.setdefault(message.recipient.id, []).append(index)
        outcomes: list[Outcome] = [Outcome(False, "not sent")] * len(messages)  # each is replaced: send() never raises
        limits: dict[str | None, threading.Semaphore] = {}
        for message in messages:
            limits.setdefault(message.recipient.limit_key, threading.Semaphore(PER_TARGET))

        def in_order(indexes: list[int]) -> None:
            for index in indexes:
                message = messages[index]
                with limits[message.recipient.limit_key]:
                    outcomes[index] = self.send(message.recipient, message.alerts)

        groups = list(by_subscription.values())
        if len(groups) <= 1:
            for group in groups:
                in_order(group)
        else:
            with ThreadPoolExecutor(
                max_workers=min(ROUND_THREADS, len(groups)), thread_name_prefix="newsvigil-send"
            ) as pool:
                for future in [pool.submit(in_order, group) for group in groups]:
                    future.result()
        return list(zip(messages, outcomes, strict=True))

    def send(self, recipient: Recipient, alerts: Sequence[ClaimedAlert]) -> Outcome:
        """Deliver claimed alerts to one subscription as one message."""
        payloads = [a.payload for a in alerts]
        try:
            if recipient.channel == Channel.WEBHOOK:
                return self._webhook(recipient, alerts)
            if recipient.channel == Channel.EMAIL:
                return self._email(recipient, payloads)
            if recipient.channel == Channel.APPRISE:
                return self._apprise(recipient, payloads)
            return Outcome(True)  # atom: the feed shows sent alerts
        except Exception as exc:  # one subscriber's failure must not stop delivery to the others
            return Outcome(False, f"{exc.__class__.__name__}: {exc}")

    def _webhook(self, recipient: Recipient, alerts: Sequence[ClaimedAlert]) -> Outcome:
        ids = "-".join(str(a.id) for a in alerts)
        msg_id = f"msg_{recipient.id}_{ids}"[:200]
        payloads = [a.payload for a in alerts]
        body = json.dumps(
            {"type": "newsvigil.alert" if len(payloads) == 1 else "newsvigil.digest", "alerts": payloads},
            ensure_ascii=False,
        ).encode()
        timestamp = int(time.time())
        target = recipient.target
        try:
            response = self.http.post(
                target,
                content=body,
                headers={
                    "content-type": "application/json",
                    "webhook-id": msg_id,
                    "webhook-timestamp": str(timestamp),
                    "webhook-signature": sign(recipient.secret, msg_id, timestamp, body),
                },
            )
        except FetchRefused as exc:  # the target is not allowed: retrying cannot help
            return Outcome(False, f"webhook {target} refused: {exc}", gone=True)
        except httpx.HTTPError as exc:
            return Outcome(False, f"webhook {target}: {exc.__class__.__name__}: {exc}")
        if 200 <= response.status_code < 300:
            return Outcome(True)
        retry_after = parse_retry_after(response.headers.get("retry-after"), utcnow())
        return Outcome(
            False,
            f"webhook {target}: HTTP {response.status_code}",
            retry_after,
            gone=response.status_code == 410,
        )

    def _email(self, recipient: Recipient, payloads: list[AlertPayload]) -> Outcome:
        subject, text = render_text(payloads)
        message = EmailMessage()
        message["Subject"], message["From"], message["To"] = subject, self.settings.smtp_from, recipient.target
        message.set_content(text)
        message.add_alternative(render_html(payloads), subtype="html")
        with smtplib.SMTP(self.settings.smtp_host, self.settings.smtp_port, timeout=SEND_TIMEOUT) as smtp:
            if self.settings.smtp_starttls:
                smtp.starttls()
            if self.settings.smtp_user:
                smtp.login(self.settings.smtp_user, self.settings.smtp_password)
            smtp.send_message(message)
        return Outcome(True)

    def _apprise(self, recipient: Recipient, payloads: list[AlertPayload]) -> Outcome:
        import apprise

        refusal = apprise_refusal(recipient.target, self.policy)
        if refusal:
            return Outcome(False, refusal, gone=True)
        notifier = apprise.Apprise()
        if not notifier.add(recipient.target):
            return Outcome(False, f"not a valid Apprise URL: {recipient.target}", gone=True)
        subject, text = render_text(payloads)
        return (
            Outcome(True)
            if notifier.notify(title=subject, body=text)
            else Outcome(False, "Apprise: notification failed")
        )

    def _verdict(self, attempts: int, outcome: Outcome) -> tuple[AlertStatus, datetime | None]:
        """What an alert becomes after its `attempts`-th attempt gave `outcome`: sent, failed for good,
        or pending again (with the time of its next attempt)."""
        if outcome.ok:
            return AlertStatus.SENT, None
        if outcome.gone or attempts >= self.settings.alert_max_attempts:
            return AlertStatus.FAILED, None
        delay = retry_delay(
            attempts,
            self.settings.alert_backoff_seconds,
            outcome.retry_after,
            self.rng,
            jitter=ALERT_JITTER,
            cap=MAX_BACKOFF,
        )
        return AlertStatus.PENDING, utcnow() + timedelta(seconds=delay)

    def _record(self, outcomes: list[tuple[Message, Outcome]], counts: dict[str, int]) -> None:
        """Record a round's outcomes in one transaction. An alert gone meanwhile (its subscription was
        deleted while it was being sent) is skipped with a log line: the others are recorded."""
        with self.sessions.begin() as session:
            for message, outcome in outcomes:
                sub_id = message.recipient.id
                for alert in message.alerts:
                    status, retry_at = self._verdict(alert.attempts + 1, outcome)
                    if not record_attempt(session, alert, status, error=outcome.error, retry_at=retry_at):
                        log.info(
                            "alert %s of subscription %s is no longer as it was claimed (the subscription was "
                            "deleted while it was sent?): its outcome (%s) is dropped",
                            alert.id,
                            sub_id,
                            "delivered" if outcome.ok else outcome.error,
                        )
                        continue
                    counts[_COUNTED[status]] += 1
                if outcome.gone:
                    reason = f"{outcome.error} (endpoint gone); re-enable with `newsvigil subscribe enable {sub_id}`"
                    if not disable_subscription(session, sub_id, reason):
                        log.info("subscription %s no longer exists: not disabled (%s)", sub_id, outcome.error)
                if not outcome.ok:
                    log.warning("alert delivery to subscription %s failed: %s", sub_id, outcome.error)


TEST_PAYLOAD: AlertPayload = {
    "kind": AlertKind.NEW_STORY,
    "story": {"id": 0, "title": "newsvigil test alert", "topics": [], "sources": [], "languages": []},
    "article": {
        "id": "test",
        "title": "This is a test of your subscription",
        "link": None,
        "source": "newsvigil",
        "language": "en",
        "published": None,
    },
    "topics": [],
    "new": {"figures": [], "source": None, "language": None},
    "figures": [],
}


def send_test_alert(sessions: sessionmaker[Session], settings: Settings, subscription: Subscription) -> Outcome:
    """Send a test alert to a subscription now, by the path real alerts take."""
    probe = ClaimedAlert(
        id=0, subscription_id=subscription.id, attempts=0, kind=AlertKind.NEW_STORY, payload=TEST_PAYLOAD
    )
    dispatcher = Dispatcher(sessions, settings)
    try:
        return dispatcher.send(Recipient.of(subscription), [probe])
    finally:
        dispatcher.close()
