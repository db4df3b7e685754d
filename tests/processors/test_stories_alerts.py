"""Stories and alerts end to end with real receivers on 127.0.0.1: webhook, SMTP, Atom."""

import base64
import hashlib
import hmac
import json
import random
from datetime import UTC, datetime, timedelta

import feedparser
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select
from werkzeug import Response

from newsvigil.ingest.schedule import retry_delay
from newsvigil.processors.atom import alerts_feed
from newsvigil.processors.delivery import ALERT_JITTER, MAX_BACKOFF, Dispatcher, sign
from newsvigil.processors.pipeline import ArticleProcessor
from newsvigil.records import Article, SentAlert, utcnow
from newsvigil.settings import Settings
from newsvigil.storage.alerts import add_subscription
from newsvigil.storage.database import make_engine, session_factory
from newsvigil.storage.migrate import upgrade
from newsvigil.storage.models import AlertRow, StoryArticle, StoryRow, Subscription
from tests.kafka_support import free_port


def test_standard_webhooks_signature_vector():
    # The reference example of the Standard Webhooks specification.
    assert (
        sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            b'{"test": 2432232314}',
        )
        == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )


def test_alert_backoff():
    """Alerts retry around the doubled delay (sooner or later), at most an hour apart before jitter."""
    rng = random.Random(1)
    delays = [retry_delay(n, 2.0, None, rng, jitter=ALERT_JITTER, cap=MAX_BACKOFF) for n in range(1, 6)]
    assert all(d >= 1.0 for d in delays) and delays[-1] > delays[0] * 4
    assert any(d < 2.0 * 2 ** (n - 1) for n, d in enumerate(delays, 1))  # sooner too, unlike feeds
    assert retry_delay(40, 2.0, None, rng, jitter=ALERT_JITTER, cap=MAX_BACKOFF) <= MAX_BACKOFF * ALERT_JITTER[1]
    assert retry_delay(1, 2.0, 120.0, rng, jitter=ALERT_JITTER, cap=MAX_BACKOFF) == 120.0


class Receiver:
    """A webhook endpoint that verifies every signature and can be made to fail."""

    def __init__(self, secret: str):
        self.key = base64.b64decode(secret.removeprefix("whsec_"))
        self.deliveries: list[dict] = []
        self.fail_with: int | None = None

    def __call__(self, request):
        if self.fail_with:
            return Response("busy", status=self.fail_with, headers={"Retry-After": "1"})
        msg_id, ts, sig = (request.headers[h] for h in ("webhook-id", "webhook-timestamp", "webhook-signature"))
        expected = base64.b64encode(
            hmac.new(self.key, f"{msg_id}.{ts}.".encode() + request.get_data(), hashlib.sha256).digest()
        ).decode()
        if sig != f"v1,{expected}":
            return Response("bad signature", status=401)
        self.deliveries.append({"id": msg_id, **json.loads(request.get_data())})
        return Response("ok")


def article(n: int, title: str, summary: str, source: str = "Example", hours: float = 0, lang: str = "en") -> Article:
    return Article(
        id=f"art{n}",
        feed_url=f"https://{source.lower()}.example/rss",
        source=source,
        title=title,
        summary=summary,
        link=f"https://{source.lower()}.example/{n}",
        published=datetime(2026, 11, 20, 8, tzinfo=UTC) + timedelta(hours=hours),
        language=lang,
    )


WITHDRAWAL = (
    "US to withdraw about 3,000 troops from Nato's eastern flank",
    "The Pentagon told allies in Brussels that the troops would leave Romania and Poland by next summer, "
    "officials said on Tuesday.",
)


@pytest.fixture
def world(database_url, rules):
    upgrade(database_url)
    engine = make_engine(database_url)
    sessions = session_factory(engine)
    settings = Settings(database_url=database_url, allow_private_networks=True, alert_backoff_seconds=1.0)
    dispatcher = Dispatcher(sessions, settings, random.Random(3))
    processor = ArticleProcessor(rules, sessions, after_commit=dispatcher.deliver_due)
    yield sessions, processor, dispatcher, settings
    dispatcher.close()
    engine.dispose()


def subscribe(sessions, **fields):
    defaults = {
        "name": "t",
        "channel": "webhook",
        "target": "",
        "topics": "",
        "languages": "",
        "keywords": "",
        "min_figure": None,
        "kinds": "new_story,new_report,new_figure",
        "mode": "instant",
        "digest_minutes": 60,
        "urgent_figure": None,
    }
    defaults.update(fields)
    with sessions.begin() as session:
        sub = add_subscription(session, **defaults)
        return sub.id, sub.secret


def count(sessions, model, *where):
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def test_syndicated_copies_form_one_story_and_a_new_figure_alerts(world, httpserver):
    sessions, processor, _dispatcher, _ = world
    _sub_id, secret = subscribe(sessions, target=httpserver.url_for("/hook"))
    receiver = Receiver(secret)
    httpserver.expect_request("/hook").respond_with_handler(receiver)

    processor.handle([article(1, *WITHDRAWAL, source="Wire")])
    copy = (WITHDRAWAL[0].replace("about", "some"), WITHDRAWAL[1].replace("Tuesday", "Wednesday"))
    processor.handle([article(2, *copy, source="Daily", hours=2)])
    update = (
        "Nato allies brace as US confirms troop withdrawal from Romania",
        "The Pentagon said 3,000 troops will leave, and a further 1,200 troops will move from Poland to Germany, "
        "officials told allies in Brussels.",
    )
    processor.handle([article(3, *update, source="Post", hours=5)])
    processor.handle(
        [article(4, "Greenland votes on independence timetable", "Voters in Nuuk back a referendum.", hours=6)]
    )

    assert count(sessions, StoryRow) == 2
    with sessions() as session:
        members = dict(session.execute(select(StoryArticle.article_id, StoryArticle.story_id)).all())
    assert members["art1"] == members["art2"] == members["art3"] != members["art4"]
    kinds = [d["alerts"][0]["kind"] for d in receiver.deliveries]
    assert kinds == ["new_story", "new_report", "new_figure", "new_story"]
    figure_alert = receiver.deliveries[2]["alerts"][0]
    assert [m["value"] for m in figure_alert["new"]["figures"]] == [1200]
    assert figure_alert["new"]["figures"][0]["quote"] == "1,200 troops"
    assert figure_alert["new"]["source"] == "Post"
    assert len({d["id"] for d in receiver.deliveries}) == 4


def test_receiver_down_then_up_gets_each_alert_exactly_once(world, httpserver):
    sessions, processor, dispatcher, _ = world
    _, secret = subscribe(sessions, target=httpserver.url_for("/hook"))
    receiver = Receiver(secret)
    receiver.fail_with = 503
    httpserver.expect_request("/hook").respond_with_handler(receiver)
    processor.handle(
        [article(1, *WITHDRAWAL), article(5, "Greenland: Denmark sends 150 soldiers to Nuuk", "", hours=1)]
    )
    assert receiver.deliveries == []
    with sessions() as session:
        retried = session.scalars(select(AlertRow)).all()
        assert {a.status for a in retried} == {"pending"} and all(
            a.attempts == 1 and "HTTP 503" in a.last_error for a in retried
        )
    receiver.fail_with = None
    later = utcnow() + timedelta(minutes=5)
    assert dispatcher.deliver_due(later)["sent"] == 2
    assert dispatcher.deliver_due(later + timedelta(hours=1)) == {"sent": 0, "retried": 0, "failed": 0}
    assert len(receiver.deliveries) == 2 and len({d["id"] for d in receiver.deliveries}) == 2


def test_gone_endpoint_disables_the_subscription(world, httpserver):
    sessions, processor, _, _ = world
    sub_id, _ = subscribe(sessions, target=httpserver.url_for("/gone"))
    httpserver.expect_request("/gone").respond_with_data("gone", status=410)
    processor.handle([article(1, *WITHDRAWAL)])
    with sessions() as session:
        sub = session.get(Subscription, sub_id)
        assert not sub.active and "410" in sub.disabled_reason
        assert session.scalars(select(AlertRow.status)).all() == ["failed"]


def test_filters_and_digest(world, httpserver):
    sessions, processor, dispatcher, _ = world
    _, big_secret = subscribe(sessions, target=httpserver.url_for("/big"), min_figure=2000, topics="nato")
    _, digest_secret = subscribe(
        sessions,
        target=httpserver.url_for("/digest"),
        mode="digest",
        digest_minutes=30,
        urgent_figure=10000,
        topics="nato,greenland",
    )
    big, digest = Receiver(big_secret), Receiver(digest_secret)
    httpserver.expect_request("/big").respond_with_handler(big)
    httpserver.expect_request("/digest").respond_with_handler(digest)
    processor.handle(
        [
            article(1, *WITHDRAWAL),
            article(2, "Nato: 300 Danish soldiers join exercise in Latvia", "The drill lasts a week.", hours=1),
            article(3, "Pentagon: up to 12,000 troops could leave Germany", "Nato allies were briefed.", hours=2),
        ]
    )
    assert [d["alerts"][0]["article"]["id"] for d in big.deliveries] == ["art1", "art3"]
    assert [len(d["alerts"]) for d in digest.deliveries] == [1]  # the urgent 12,000 went at once
    assert digest.deliveries[0]["alerts"][0]["article"]["id"] == "art3"
    dispatcher.deliver_due(utcnow() + timedelta(minutes=31))
    assert [len(d["alerts"]) for d in digest.deliveries] == [1, 2]
    assert digest.deliveries[1]["type"] == "newsvigil.digest"


def test_replay_twice_sends_no_duplicates(world, httpserver):
    sessions, processor, dispatcher, _ = world
    _, secret = subscribe(sessions, target=httpserver.url_for("/hook"))
    receiver = Receiver(secret)
    httpserver.expect_request("/hook").respond_with_handler(receiver)
    batch = [article(1, *WITHDRAWAL), article(2, "Greenland: Denmark sends 150 soldiers to Nuuk", "", hours=1)]
    processor.handle(batch)
    processor.handle(batch)
    dispatcher.deliver_due(utcnow() + timedelta(hours=1))
    assert len(receiver.deliveries) == 2 and count(sessions, AlertRow) == 2


class Mailbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 OK"


def test_email_alert_over_smtp_is_plain_and_sanitised_html(world, database_url, rules):
    sessions, _, _, settings = world
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        mail_settings = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": port})
        dispatcher = Dispatcher(sessions, mail_settings)
        processor = ArticleProcessor(rules, sessions, after_commit=dispatcher.deliver_due)
        subscribe(sessions, channel="email", target="analyst@example.org")
        processor.handle([article(1, "<script>alert(1)</script> Nato: about 3,000 troops to leave", "Officials said.")])
        dispatcher.close()
    finally:
        controller.stop()
    [envelope] = mailbox.messages
    assert envelope.rcpt_tos == ["analyst@example.org"]
    import email
    from email import policy

    message = email.message_from_bytes(envelope.content, policy=policy.default)
    plain = message.get_body(("plain",)).get_content()
    html_part = message.get_body(("html",)).get_content()
    assert "~3,000 troops" in plain and "“about 3,000 troops”" in plain
    assert "<script>" not in html_part and "&lt;script&gt;" in html_part


def test_atom_feed_parses_back():
    payload = {
        "kind": "new_figure",
        "story": {"id": 1, "title": "US <drawdown>", "topics": ["nato"], "sources": [], "languages": []},
        "article": {
            "id": "a",
            "title": "T & co",
            "link": "https://x.example/a?x=1&y=2",
            "source": "Wire",
            "language": "en",
            "published": None,
        },
        "topics": ["nato"],
        "new": {
            "figures": [
                {
                    "value": 1200,
                    "low": 1200,
                    "high": 1200,
                    "approx": True,
                    "unit": "troops",
                    "quote": "about 1,200 troops",
                    "start": 0,
                    "end": 5,
                    "actor": None,
                    "action": None,
                    "place": None,
                }
            ],
            "source": None,
            "language": None,
        },
        "figures": [],
    }
    feed = feedparser.parse(alerts_feed(7, "analysts", [SentAlert(1, datetime(2026, 11, 20, tzinfo=UTC), payload)]))
    assert not feed.bozo and feed.feed.title == "newsvigil — analysts"
    [entry] = feed.entries
    assert entry.title == "[newsvigil] new figure: US <drawdown>"
    assert entry.link == "https://x.example/a?x=1&y=2"
    assert "about 1,200 troops" in entry.summary


def test_apprise_channel_posts_to_a_real_endpoint(world, httpserver):
    sessions, processor, _, _ = world
    received = []
    httpserver.expect_request("/apprise").respond_with_handler(
        lambda r: (received.append(json.loads(r.get_data())), Response("ok"))[1]
    )
    subscribe(sessions, channel="apprise", target=f"json://127.0.0.1:{httpserver.port}/apprise")
    processor.handle([article(1, *WITHDRAWAL)])
    [message] = received
    assert message["title"].startswith("[newsvigil] new story: US to withdraw about 3,000 troops")
    assert "~3,000 troops" in message["message"]


@pytest.mark.parametrize("allowed", [False, True])
def test_webhooks_go_through_the_guard(database_url, rules, httpserver, allowed):
    """Webhooks once POSTed to 127.0.0.1 and [::1]: a subscriber could reach the internal network."""
    upgrade(database_url)
    engine = make_engine(database_url)
    sessions = session_factory(engine)
    settings = Settings(database_url=database_url, allowed_networks="127.0.0.1/32" if allowed else "")
    dispatcher = Dispatcher(sessions, settings)
    try:
        receiver = []
        httpserver.expect_request("/hook").respond_with_handler(lambda r: (receiver.append(1), Response("ok"))[1])
        sub_id, _ = subscribe(sessions, target=httpserver.url_for("/hook"))
        ArticleProcessor(rules, sessions, after_commit=dispatcher.deliver_due).handle([article(1, *WITHDRAWAL)])
        with sessions() as session:
            sub = session.get(Subscription, sub_id)
            statuses = session.scalars(select(AlertRow.status)).all()
        if allowed:  # the escape hatch feeds use opens delivery alike
            assert receiver == [1] and statuses == ["sent"]
        else:
            assert receiver == [] and statuses == ["failed"]  # nothing reached the server
            assert not sub.active and "non-public address 127.0.0.1" in sub.disabled_reason
    finally:
        dispatcher.close()
        engine.dispose()


@pytest.mark.parametrize(
    "target, problem",
    [
        ("json://10.0.0.1/x", "resolves to non-public address 10.0.0.1"),
        ("json://169.254.169.254/computeMetadata/v1/", "non-public address 169.254.169.254"),
        ("form://[::1]:8080/x", "non-public address ::1"),
        ("mailto://user:pw@10.1.2.3", "non-public address 10.1.2.3"),
        ("json://203.0.113.9/x?method=GET", "method 'GET' is not allowed"),
        ("json://203.0.113.9/x?+Metadata-Flavor=Google", "parameter '+Metadata-Flavor'"),
        ("syslog://127.0.0.1", "scheme 'syslog' is not allowed"),
    ],
)
def test_apprise_targets_are_checked_by_the_policy(target, problem):
    """Checked on the policy function (literal addresses, nothing is connected to)."""
    from newsvigil.ingest.guard import AddressPolicy, apprise_refusal

    assert problem in apprise_refusal(target, AddressPolicy())
    assert apprise_refusal("tgram://bottoken/chatid", AddressPolicy()) is None
    assert apprise_refusal("json://10.0.0.1/x", AddressPolicy(allow_private=True)) is None


def test_an_apprise_target_that_cannot_be_guarded_is_refused_when_subscribing():
    from newsvigil.errors import InvalidInput
    from newsvigil.processors.subscriptions import subscription_fields

    with pytest.raises(InvalidInput, match="target: Apprise scheme 'syslog' is not allowed"):
        subscription_fields(name="x", channel="apprise", target="syslog://127.0.0.1")
    with pytest.raises(InvalidInput, match="method 'GET' is not allowed"):
        subscription_fields(name="x", channel="apprise", target="json://example.org/x?method=GET")


def test_an_unresponsive_webhook_does_not_hold_up_the_others(world, httpserver):
    """Delivery was serial: one hanging endpoint delayed every other subscriber by its timeout."""
    import threading

    from werkzeug.serving import make_server
    from werkzeug.wrappers import Request

    sessions, processor, _, _ = world
    fast_arrived = threading.Event()
    seen_while_hanging: list[bool] = []

    @Request.application
    def hanging(request):
        seen_while_hanging.append(fast_arrived.wait(8))  # the fast one is delivered while this one hangs
        return Response("late")

    slow = make_server("127.0.0.1", 0, hanging, threaded=True)
    threading.Thread(target=slow.serve_forever, daemon=True).start()
    try:
        subscribe(sessions, target=f"http://127.0.0.1:{slow.server_port}/slow")  # first in the round
        httpserver.expect_request("/fast").respond_with_handler(lambda r: (fast_arrived.set(), Response("ok"))[1])
        subscribe(sessions, target=httpserver.url_for("/fast"))
        processor.handle([article(1, *WITHDRAWAL)])
    finally:
        slow.shutdown()
    assert seen_while_hanging == [True]
    with sessions() as session:
        assert sorted(session.scalars(select(AlertRow.status)).all()) == ["sent", "sent"]


def test_a_round_takes_no_more_from_one_target_than_it_can_send_within_its_leases():
    from newsvigil.processors import delivery

    worst_case = delivery.ROUND_PER_TARGET / delivery.PER_TARGET * delivery.SEND_TIMEOUT
    assert worst_case < delivery.LEASE.total_seconds()
    assert delivery.target_key("webhook", "https://hooks.example/a") == delivery.target_key(
        "webhook", "https://hooks.example/b"
    )
    assert delivery.target_key("atom", "") is None


@pytest.mark.parametrize("doomed_status", [200, 410, 503])
def test_a_subscription_deleted_while_its_alert_is_sent_does_not_undo_the_others(
    world, httpserver, caplog, doomed_status
):
    """Recording a round's outcomes once raised on the deleted subscription's alert (gone with it)
    and rolled back every outcome: the other subscriber's delivered alert was sent again later."""
    from newsvigil.storage.alerts import delete_subscription

    sessions, processor, dispatcher, _ = world
    doomed_id, _ = subscribe(sessions, target=httpserver.url_for("/doomed"))
    kept_id, kept_secret = subscribe(sessions, target=httpserver.url_for("/kept"))
    doomed_calls = []

    def delete_then_answer(request):  # the subscriber deletes the subscription while its alert is in flight
        doomed_calls.append(request.headers["webhook-id"])
        with sessions.begin() as session:
            delete_subscription(session, doomed_id)
        return Response("answer", status=doomed_status)

    kept = Receiver(kept_secret)
    httpserver.expect_request("/doomed").respond_with_handler(delete_then_answer)
    httpserver.expect_request("/kept").respond_with_handler(kept)
    with caplog.at_level("INFO", logger="newsvigil.delivery"):
        processor.handle([article(1, *WITHDRAWAL)])

    assert len(doomed_calls) == 1 and len(kept.deliveries) == 1
    with sessions() as session:
        assert session.get(Subscription, doomed_id) is None
        rows = session.execute(select(AlertRow.subscription_id, AlertRow.status, AlertRow.attempts)).all()
    assert rows == [(kept_id, "sent", 1)]  # the deleted subscription's alert went with it
    assert any(f"subscription {doomed_id}" in r.getMessage() and "dropped" in r.getMessage() for r in caplog.records)

    after_the_lease = utcnow() + timedelta(minutes=10)
    assert dispatcher.deliver_due(after_the_lease) == {"sent": 0, "retried": 0, "failed": 0}
    assert len(kept.deliveries) == 1 and len(doomed_calls) == 1


def test_a_webhook_carries_the_stored_payload_byte_for_byte(world, httpserver):
    """The wire format: {"type": ..., "alerts": [<payload as stored in the outbox>, ...]}."""
    sessions, processor, dispatcher, _ = world
    bodies: list[bytes] = []
    httpserver.expect_request("/hook").respond_with_handler(lambda r: (bodies.append(r.get_data()), Response("ok"))[1])
    digest_id, _ = subscribe(sessions, target=httpserver.url_for("/hook"), mode="digest", digest_minutes=30)
    processor.handle(
        [
            article(1, *WITHDRAWAL),
            article(2, "Greenland: København sends 150 soldiers to Nuuk", ""),
        ]
    )
    dispatcher.deliver_due(utcnow() + timedelta(minutes=31))
    with sessions() as session:
        stored = session.scalars(
            select(AlertRow.payload).where(AlertRow.subscription_id == digest_id).order_by(AlertRow.id)
        ).all()
    assert len(stored) == 2 and "København" in stored[1]  # not escaped: ensure_ascii=False, stored and sent
    assert bodies == [b'{"type": "newsvigil.digest", "alerts": [' + ", ".join(stored).encode() + b"]}"]
