"""figure_changed end to end: an archive where US · Europe · troops goes 80,000 -> about 80,000 (no
alert) -> 65,000 (alert) is replayed with two subscribers, a webhook on 127.0.0.1 and an Atom feed;
each gets exactly one alert with both figures, quotes and sources, however often it is replayed."""

from __future__ import annotations

import json
from pathlib import Path

import feedparser
from werkzeug import Response

from tests.support import newsvigil

ARCHIVE = Path(__file__).resolve().parent.parent / "ingest" / "fixtures" / "series"


def test_a_changed_figure_alerts_each_subscriber_once_with_both_figures(tmp_path, httpserver):
    env = {"NEWSVIGIL_DATABASE_URL": f"sqlite:///{tmp_path / 's.db'}", "NEWSVIGIL_ALLOW_PRIVATE_NETWORKS": "1"}
    received: list[dict] = []
    httpserver.expect_request("/hook").respond_with_handler(
        lambda r: (received.extend(json.loads(r.get_data())["alerts"]), Response("ok"))[1]
    )
    for channel, target in (("webhook", httpserver.url_for("/hook")), ("atom", "")):
        added = newsvigil(
            "subscribe", "add", "--name", channel, "--channel", channel, "--target", target,
            "--kinds", "figure_changed", env=env,
        )  # fmt: skip
        assert added.returncode == 0, added.stderr

    replayed = newsvigil("replay", str(ARCHIVE), "--alerts", "new", env=env)
    assert replayed.returncode == 0, replayed.stderr
    assert "2 alerts delivered" in replayed.stdout, replayed.stdout

    [alert] = received
    assert alert["kind"] == "figure_changed"
    assert alert["series"]["label"] == "US · Europe · troops"
    assert (alert["series"]["actor"], alert["series"]["place"], alert["series"]["unit_class"]) == (
        "US",
        "europe",
        "troops",
    )
    previous, current = alert["previous"], alert["current"]
    assert previous["figure"]["quote"] == "About 80,000 US troops" and previous["figure"]["approx"] is True
    assert previous["source"] == "Harbour Post" and previous["published"].startswith("2026-10-15")
    assert previous["link"] == "https://harbour-post.example.org/europe/about-80000"
    assert current["figure"]["quote"] == "65,000 US troops" and current["figure"]["value"] == 65_000
    assert current["source"] == "Atlantic Desk" and current["published"].startswith("2026-11-02")
    assert alert["article"]["title"].startswith("Pentagon: 65,000 US troops") and alert["story"]["id"]

    def atom_entries() -> list:
        printed = newsvigil("alerts", "--feed", "2", env=env)
        assert printed.returncode == 0, printed.stderr
        return feedparser.parse(printed.stdout).entries

    [entry] = atom_entries()
    assert entry.title == "[newsvigil] figure changed: US · Europe · troops: ~80,000 troops → 65,000 troops"
    content = entry.content[0].value
    assert "About 80,000 US troops" in content and "65,000 US troops" in content
    assert "Harbour Post" in content and "Atlantic Desk" in content

    for policy in ("all", "new"):
        again = newsvigil("replay", str(ARCHIVE), "--alerts", policy, env=env)
        assert again.returncode == 0, again.stderr
    assert len(received) == 1 and len(atom_entries()) == 1  # exactly once per subscriber

    listed = [json.loads(line) for line in newsvigil("alerts", "--json", env=env).stdout.splitlines()]
    assert sorted((a["subscription"], a["kind"]) for a in listed) == [(1, "figure_changed"), (2, "figure_changed")]
