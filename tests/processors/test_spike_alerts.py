"""Spike alerts end to end: `newsvigil replay` of an archive with a burst alerts each subscriber once
(a real webhook receiver on 127.0.0.1), and replaying it again with --alerts all sends nothing twice."""

import json
import random
from datetime import UTC, datetime, timedelta

from werkzeug import Response

from newsvigil.processors.alerts import SubscriptionRule, decide_spike_alert, render_html, render_text
from newsvigil.processors.atom import alerts_feed
from newsvigil.processors.spikes import RecordedSpike, Spike
from newsvigil.records import AlertKind, SentAlert, hour_of
from tests.support import newsvigil

START = datetime(2025, 9, 1, tzinfo=UTC)
BURST = START + timedelta(days=3, hours=15)
TOWNS = ["Nuuk", "Ilulissat", "Sisimiut", "Qaqortoq", "Aasiaat"]
SUBJECTS = ["harbour works", "school budget", "fishing quotas", "airport runway", "housing plan"]


def archive_line(n: int, when: datetime, title: str, lang: str = "en") -> str:
    return json.dumps(
        {
            "id": f"arc{n:05d}",
            "feed_url": "https://arctic-wire.example/rss",
            "source": "Arctic Wire",
            "title": title,
            "summary": "",
            "link": f"https://arctic-wire.example/{n}",
            "published": when.isoformat(),
            "fetched_at": (when + timedelta(minutes=5)).isoformat(),
            "lang": lang,
        }
    )


def write_archive(path) -> None:
    """Four days of ordinary Greenland news (one to three reports an hour), then, one afternoon, 30
    reports in an hour on a crisis in Nuuk. Written for this test: no third-party text."""
    rng = random.Random(16)
    lines = []
    for h in range(4 * 24):
        for _ in range(rng.choice([1, 1, 2, 3])):
            town, subject = rng.choice(TOWNS), rng.choice(SUBJECTS)
            when = START + timedelta(hours=h, seconds=rng.randrange(3600))
            lines.append((when, f"Greenland: {town} council debates {subject} ({len(lines)})"))
    for i in range(30):
        lines.append((BURST + timedelta(minutes=2 * i), f"Greenland: emergency session in Nuuk, update {i}"))
    path.write_text("\n".join(archive_line(n, when, title) for n, (when, title) in enumerate(lines)) + "\n")


def test_a_replayed_burst_alerts_each_subscriber_once(tmp_path, httpserver):
    archive = tmp_path / "arctic.jsonl"
    write_archive(archive)
    env = {"NEWSVIGIL_DATABASE_URL": f"sqlite:///{tmp_path / 'nv.db'}", "NEWSVIGIL_ALLOW_PRIVATE_NETWORKS": "1"}
    received: dict[str, list[dict]] = {"desk": [], "english": [], "nato": []}

    def receiver(name):
        def handle(request):
            received[name] += json.loads(request.get_data())["alerts"]
            return Response("ok")

        return handle

    for name, topics, languages in (("desk", "greenland", ""), ("english", "greenland", "en"), ("nato", "nato", "")):
        httpserver.expect_request(f"/{name}").respond_with_handler(receiver(name))
        added = newsvigil(
            "subscribe", "add", "--name", name, "--channel", "webhook", "--target", httpserver.url_for(f"/{name}"),
            "--topics", topics, "--languages", languages, "--kinds", "spike", env=env,
        )  # fmt: skip
        assert added.returncode == 0, added.stderr

    first = newsvigil("replay", str(archive), "--alerts", "new", "--workers", "0", env=env)
    assert first.returncode == 0, first.stderr + first.stdout
    spikes = {name: [a for a in alerts if a["kind"] == "spike"] for name, alerts in received.items()}
    assert [len(spikes[n]) for n in ("desk", "english", "nato")] == [1, 1, 0]
    topic_wide, english = spikes["desk"][0]["spike"], spikes["english"][0]["spike"]
    assert (topic_wide["topic"], topic_wide["language"], english["language"]) == ("greenland", "", "en")
    assert topic_wide["window_start"] == BURST.isoformat()
    assert topic_wide["window_end"] == (BURST + timedelta(hours=1)).isoformat()
    assert topic_wide["count"] >= 5 and topic_wide["p_value"] < 1e-5 and 0 < topic_wide["baseline"] < 3
    crossing = spikes["desk"][0]["article"]
    assert "emergency session in Nuuk" in crossing["title"] and spikes["desk"][0]["story"]["id"]

    again = newsvigil("replay", str(archive), "--alerts", "all", "--workers", "0", env=env)
    assert again.returncode == 0, again.stderr + again.stdout
    assert [len([a for a in received[n] if a["kind"] == "spike"]) for n in ("desk", "english", "nato")] == [1, 1, 0]

    listed = newsvigil("alerts", "--json", env=env)
    assert [json.loads(line)["kind"] for line in listed.stdout.splitlines()] == ["spike", "spike"]


def spike(language: str = "") -> RecordedSpike:
    return RecordedSpike(7, Spike("greenland", language, hour_of(BURST), 42, 3.04, 1.71, 2e-9, "arc1"))


def test_which_subscribers_hear_of_a_spike():
    every_kind = frozenset(AlertKind)
    anyone = SubscriptionRule(1)
    greenland = SubscriptionRule(2, topics=frozenset({"greenland"}))
    danish = SubscriptionRule(3, topics=frozenset({"greenland"}), languages=frozenset({"da"}))
    no_spikes = SubscriptionRule(4, kinds=every_kind - {AlertKind.SPIKE})
    nato = SubscriptionRule(5, topics=frozenset({"nato"}))
    heard = {rule.id for rule in (anyone, greenland, danish, no_spikes, nato) if decide_spike_alert(rule, spike())}
    assert heard == {1, 2}  # a topic-wide spike: subscribers with no language filter
    heard = {rule.id for rule in (anyone, greenland, danish, no_spikes, nato) if decide_spike_alert(rule, spike("da"))}
    assert heard == {3}  # a Danish spike: subscribers who follow Danish
    words = SubscriptionRule(6, keywords=("Greenland",))
    big_figures = SubscriptionRule(7, min_figure=10_000)
    words_on_a_topic = SubscriptionRule(8, topics=frozenset({"greenland"}), keywords=("Nuuk",))
    heard = {rule.id for rule in (words, big_figures, words_on_a_topic) if decide_spike_alert(rule, spike())}
    assert heard == {8}  # filters of reports alone say nothing of which topics' volumes matter


def test_a_spike_alert_reads_in_text_html_and_atom():
    payload = {
        "kind": "spike",
        "story": {"id": 3, "title": "<b>Nuuk</b> crisis", "topics": ["greenland"], "sources": [], "languages": []},
        "article": {
            "id": "arc1",
            "title": "Emergency <script>",
            "link": "https://a.example/1",
            "source": "Wire",
            "language": "en",
            "published": None,
        },
        "topics": ["greenland"],
        "new": {"figures": [], "source": None, "language": None},
        "figures": [],
        "spike": {
            "topic": "greenland",
            "language": "",
            "count": 42,
            "window_start": BURST.isoformat(),
            "window_end": (BURST + timedelta(hours=1)).isoformat(),
            "baseline": 3.04,
            "sd": 1.71,
            "p_value": 2e-9,
        },
    }
    subject, body = render_text([payload])
    line = "greenland: 42 reports in the hour from 2025-09-04 15:00 UTC, usual 3.0 ± 1.7"
    assert subject == f"[newsvigil] spike: {line}"
    assert body.startswith(f"Spike: {line}\n  crossed by [greenland] <b>Nuuk</b> crisis\n")
    html = render_html([payload])
    assert line in html and "&lt;b&gt;Nuuk" in html and "<script>" not in html
    feed = alerts_feed(1, "desk", [SentAlert(9, BURST, payload)]).decode()
    assert "spike: greenland: 42 reports" in feed and '<category term="spike"/>' in feed
