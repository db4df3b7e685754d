"""The CLI contract, end to end: real HTTP server on 127.0.0.1, real SQLite file.

Commands run in this process through `tests.support.newsvigil` (Typer's CliRunner, with the
environment, settings, consoles and logging a new process would have). Those that need a process of
their own run in one, each marked "real process" with why: the `python -m newsvigil.cli` entry point
itself, SIGTERM, and the bench script.
"""

import json
import os
import subprocess
import sys

import pytest

from tests.support import REPO_ROOT, SAMPLES, newsvigil, newsvigil_process, process_env


@pytest.fixture
def env(tmp_path):
    return {"NEWSVIGIL_DATABASE_URL": f"sqlite:///{tmp_path / 'nv.db'}", "NEWSVIGIL_ALLOW_PRIVATE_NETWORKS": "1"}


def serve_samples(httpserver):
    for path in SAMPLES.iterdir():
        httpserver.expect_request(f"/{path.name}").respond_with_data(
            path.read_bytes(), content_type="application/xml", headers={"ETag": f'"{path.stem}"'}
        )
    httpserver.expect_request("/broken.xml").respond_with_data(
        b"<html><body>Not a feed</body></html>", content_type="text/html"
    )
    httpserver.expect_request("/down.xml").respond_with_data("oops", status=503)


def test_run_once_polls_stores_and_alerts(httpserver, env, tmp_path):
    serve_samples(httpserver)
    feeds = tmp_path / "feeds.txt"
    names = [p.name for p in SAMPLES.iterdir()] + ["broken.xml", "down.xml"]
    feeds.write_text("\n".join(httpserver.url_for(f"/{n}") for n in names) + "\n")
    env["NEWSVIGIL_FEEDS"] = str(feeds)

    first = newsvigil("run", "--once", env=env)
    assert first.returncode == 0, first.stderr
    assert "[nato] 2 figures: ~1,200 militaires, ~200 postes — Washington va retirer" in first.stdout
    assert "[greenland] 1 figure: ~150 soldiers — Greenland's premier rejects new US offer" in first.stdout
    assert "5 feeds, 7 new articles, 5 events, 2 feed errors" in first.stdout
    assert "broken.xml: not an RSS or Atom feed" in first.stderr
    assert "down.xml: HTTP 503" in first.stderr
    assert "Traceback" not in first.stderr

    second = newsvigil("run", "--once", env=env)
    assert "0 new articles, 0 events" in second.stdout

    counts = json.loads(newsvigil("stats", "--json", env=env).stdout)
    assert counts == {"feeds": 5, "articles": 7, "events": 5, "troop_mentions": 7, "stories": 5, "alerts": 0}


def test_private_network_refused_without_opt_in(httpserver, env, tmp_path):
    serve_samples(httpserver)
    feeds = tmp_path / "feeds.txt"
    feeds.write_text(httpserver.url_for("/bundeswehr-de.xml") + "\n")
    env.update(NEWSVIGIL_FEEDS=str(feeds), NEWSVIGIL_ALLOW_PRIVATE_NETWORKS="0")
    result = newsvigil("run", "--once", env=env)
    assert result.returncode == 0 and "non-public address" in result.stderr
    assert "0 new articles" in result.stdout


def test_replay_then_events(env, tmp_path):
    bad = tmp_path / "corrupt.xml"
    bad.write_bytes(b"<?xml version='1.0'?><rss><chan")
    first = newsvigil("replay", str(SAMPLES), str(bad), str(tmp_path / "missing.xml"), env=env)
    assert first.returncode == 1
    assert "replayed 4 files: 7 items, 7 new, 0 already known, 5 new events, 2 rejected" in first.stdout
    assert "corrupt.xml: malformed feed" in first.stderr and "missing.xml: no such file or folder" in first.stderr
    again = newsvigil("replay", str(SAMPLES), env=env)
    assert again.returncode == 0 and "7 items, 0 new, 7 already known, 0 new events" in again.stdout

    lines = [json.loads(line) for line in newsvigil("events", "--topic", "nato", "--json", env=env).stdout.splitlines()]
    assert [e["title"][:20] for e in lines] == ["Pentagon weighs pull", "USA ziehen rund 1.50", "Washington va retire"]
    assert lines[0]["figures"][1] == {
        "value": 3000,
        "low": 3000,
        "high": 5000,
        "approx": False,
        "unit": "troops",
        "quote": "between 3,000 and 5,000 troops",
        "start": 90,
        "end": 120,
        "actor": "US",
        "action": "withdrawal",
        "place": {"id": "germany", "name": "Germany"},
    }
    since = newsvigil("events", "--since", "2026-11-18", "--json", env=env).stdout.splitlines()
    assert len(since) == 3
    bad_since = newsvigil("events", "--since", "yesterday", env=env)
    assert bad_since.returncode == 2 and "is not an ISO 8601 time" in bad_since.stderr


def test_detect_contract():
    items = [
        {
            "id": "1",
            "title": "Les États-Unis retirent près de 1 200 militaires de l'Otan",
            "summary": "Les 1 200 militaires partiront.",
        },
        {"id": "2", "title": "Trump wants Greenland", "summary": "", "lang": "en"},
        {"id": "3", "title": "Bourse", "summary": "Le CAC 40 gagne 1 %."},
    ]
    result = newsvigil("detect", input="\n".join(json.dumps(i) for i in items) + "\nnot json\n")
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["id"] for line in lines] == ["1", "2", "3", None]
    assert lines[0]["topics"] == ["nato"] and lines[0]["lang"] == "fr"
    assert [(t["value"], t["approx"], t["quote"]) for t in lines[0]["troops"]] == [
        (1200, True, "près de 1 200 militaires")
    ]
    assert lines[1] == {"id": "2", "lang": "en", "topics": ["greenland"], "troops": [], "vague": []}
    assert lines[2]["topics"] == [] and lines[2]["troops"] == []
    assert result.returncode == 1 and "stdin line 4" in result.stderr


def test_detect_reports_vague_quantities_apart_and_explains_candidates():
    items = [
        {
            "id": "1",
            "lang": "en",
            "title": "Trump threatens to send troops to Greenland",
            "summary": "Thousands of troops massed at the border; 3,500 ICE officers were hired, and 1,200 US soldiers left.",
        }
    ]
    plain = json.loads(newsvigil("detect", input=json.dumps(items[0]) + "\n").stdout)
    assert [t["value"] for t in plain["troops"]] == [1200]
    assert [(v["magnitude"], v["quote"]) for v in plain["vague"]] == [(1000, "Thousands of troops")]
    assert "explain" not in plain
    explained = json.loads(newsvigil("detect", "--explain", input=json.dumps(items[0]) + "\n").stdout)
    reasons = {(e["quote"], e["kept"]): e["reason"] for e in explained["explain"]}
    assert reasons[("3,500 ICE officers", False)] == "civilian qualifier 'ICE'"
    assert reasons[("1,200 US soldiers", True)] == "military unit 'soldiers'"
    assert reasons[("Thousands of troops", True)].startswith("vague quantity")


def test_feedback_records_a_wrong_figure_and_lists_it(env):
    assert newsvigil("replay", str(SAMPLES), env=env).returncode == 0
    event = next(
        json.loads(line)
        for line in newsvigil("events", "--json", env=env).stdout.splitlines()
        if json.loads(line)["figures"]
    )
    value = event["figures"][0]["value"]
    done = newsvigil("feedback", event["id"], "--not-troops", str(value), "--note", "test", env=env)
    assert done.returncode == 0 and f"recorded: {value:g} in article {event['id']} is not a troop figure" in done.stdout
    wrong = newsvigil("feedback", event["id"], "--not-troops", "7", env=env)
    assert wrong.returncode == 2 and "has no troop figure 7" in wrong.stderr and "Traceback" not in wrong.stderr
    listed = [json.loads(line) for line in newsvigil("feedback", "--list", env=env).stdout.splitlines()]
    assert [(r["article_id"], r["value"], r["note"]) for r in listed] == [(event["id"], value, "test")]
    scored = subprocess.run(  # real process: the bench script is a program of its own, not the CLI
        [sys.executable, str(REPO_ROOT / "bench" / "score_corpus.py"), "--feedback"],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=120,
    )
    assert (
        scored.returncode == 0
        and scored.stdout.startswith("1 figures marked wrong by users")
        and event["id"] in scored.stdout
    )


def test_detect_names_bad_lines_and_reads_on():
    lines = [json.dumps({"id": "a", "title": "x", "lang": 5}), "[" * 100_000, json.dumps({"id": "b", "title": "Nato"})]
    result = newsvigil("detect", input="\n".join(lines) + "\n")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert (
        "line 1: 'lang' must be a language code" in result.stderr and "line 2: JSON nested too deeply" in result.stderr
    )
    assert json.loads(result.stdout.splitlines()[2])["id"] == "b"  # the lines after are still read


def test_feeds_import_names_an_unknown_encoding(tmp_path, env):
    opml = tmp_path / "feeds.opml"
    opml.write_bytes(
        b'<?xml version="1.0" encoding="x-bogus"?><opml><body><outline xmlUrl="https://e.org/rss"/></body></opml>'
    )
    result = newsvigil("feeds", "import", str(opml), env=env)
    assert result.returncode == 2 and "unknown encoding: x-bogus" in result.stderr and "Traceback" not in result.stderr


def test_detect_file_and_missing_file(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps({"id": "x", "title": "Nato", "summary": "omkring 150 soldater"}) + "\n")
    result = newsvigil("detect", "--input", str(path))
    assert result.returncode == 0 and json.loads(result.stdout)["troops"][0]["value"] == 150
    missing = newsvigil("detect", "--input", str(tmp_path / "nope.jsonl"))
    assert missing.returncode == 2 and "cannot read" in missing.stderr and "Traceback" not in missing.stderr


@pytest.mark.parametrize(
    "setting, value, message",
    [
        ("NEWSVIGIL_TOPICS", "/nonexistent/topics.yaml", "topics file /nonexistent/topics.yaml does not exist"),
        ("NEWSVIGIL_FEEDS", "/nonexistent/feeds.opml", "feed list /nonexistent/feeds.opml does not exist"),
        ("NEWSVIGIL_BROKER", "rabbit://x", "NEWSVIGIL_BROKER"),
        ("NEWSVIGIL_DATABASE_URL", "nosuchdb://x", "is not a usable database URL"),
    ],
)
def test_bad_configuration_is_one_line_and_a_hint(env, setting, value, message):
    env[setting] = value
    result = newsvigil("run", "--once", env=env)
    assert result.returncode == 2
    assert message in result.stderr and "hint:" in result.stderr and "Traceback" not in result.stderr


def test_db_upgrade_and_help(env):
    assert newsvigil("db", "upgrade", env=env).returncode == 0
    help_text = newsvigil("--help").stdout
    for command in ("run", "detect", "replay", "stats", "events", "db"):
        assert command in help_text


def test_subscribe_and_alerts_commands(env, httpserver):
    got = []
    httpserver.expect_request("/hook").respond_with_handler(
        lambda r: (got.append(r.headers["webhook-id"]), __import__("werkzeug").Response("ok"))[1]
    )
    added = newsvigil(
        "subscribe",
        "add",
        "--name",
        "desk",
        "--channel",
        "webhook",
        "--target",
        httpserver.url_for("/hook"),
        "--topics",
        "nato",
        env=env,
    )
    assert added.returncode == 0 and "subscription 1 added" in added.stdout and "whsec_" in added.stdout
    assert newsvigil("subscribe", "add", "--name", "x", "--channel", "pigeon", env=env).returncode == 2
    atom = newsvigil("subscribe", "add", "--name", "feed", "--channel", "atom", env=env)
    assert atom.returncode == 0
    assert "test alert delivered" in newsvigil("subscribe", "test", "1", env=env).stdout
    replayed = newsvigil("replay", str(SAMPLES), "--alerts", "new", env=env)
    assert replayed.returncode == 0
    # The test alert, the three NATO stories, and the sample's changed figure (US · Germany · troops
    # moved: 1,500 then 3,000-5,000): a default subscription asks for every kind.
    assert len(got) == 1 + 3 + 1
    rows = [json.loads(line) for line in newsvigil("alerts", "--json", env=env).stdout.splitlines()]
    assert len(rows) == 4 + 6 and {r["status"] for r in rows} == {"sent"}
    assert sorted(r["kind"] for r in rows).count("figure_changed") == 2  # once per subscriber
    import feedparser

    feed = feedparser.parse(newsvigil("alerts", "--feed", "2", env=env).stdout.encode())
    assert len(feed.entries) == 6
    assert newsvigil("replay", str(SAMPLES), "--alerts", "new", env=env).returncode == 0
    assert len(got) == 5  # history replayed again: nothing new
    assert json.loads(newsvigil("stats", "--json", env=env).stdout)["alerts"] == 10
    listed = newsvigil("subscribe", "list", env=env).stdout
    assert "desk" in listed and "feed" in listed
    assert newsvigil("subscribe", "remove", "2", env=env).returncode == 0
    missing = newsvigil("subscribe", "test", "9", env=env)
    assert missing.returncode == 2 and "no subscription 9" in missing.stderr


def test_feeds_health_add_discover_import_export_remove(httpserver, env, tmp_path):
    serve_samples(httpserver)
    page = '<html><head><link rel="alternate" type="application/rss+xml" title="Defence" href="/europe-defence-fr.xml"></head></html>'
    httpserver.expect_request("/news.html").respond_with_data(page, content_type="text/html")
    httpserver.expect_request("/plain.html").respond_with_data(
        "<html><body>no feed</body></html>", content_type="text/html"
    )
    listed = tmp_path / "feeds.txt"
    listed.write_text(httpserver.url_for("/down.xml") + "\n")
    env.update(NEWSVIGIL_FEEDS=str(listed), NEWSVIGIL_FEED_FAILING_AFTER="2")

    added = newsvigil("feeds", "add", httpserver.url_for("/news.html"), env=env)
    assert added.returncode == 0 and f"added {httpserver.url_for('/europe-defence-fr.xml')}" in added.stdout
    missing = newsvigil("feeds", "add", httpserver.url_for("/plain.html"), env=env)
    assert missing.returncode == 2 and "neither a feed nor a page that links one" in missing.stderr
    opml = tmp_path / "more.opml"
    opml.write_text(
        f'<opml><body><outline text="DE" xmlUrl="{httpserver.url_for("/bundeswehr-de.xml")}"/></body></opml>'
    )
    assert "imported 1 feeds" in newsvigil("feeds", "import", str(opml), env=env).stdout

    for _ in range(2):
        run = newsvigil("run", "--once", env=env)
        assert "3 feeds" in run.stdout
    health = {
        row["url"].rsplit("/", 1)[1]: row
        for row in map(json.loads, newsvigil("feeds", "list", "--json", env=env).stdout.splitlines())
    }
    assert (
        health["down.xml"]["failing"]
        and health["down.xml"]["consecutive_errors"] == 2
        and health["down.xml"]["last_status"] == 503
    )
    assert not health["europe-defence-fr.xml"]["failing"] and health["europe-defence-fr.xml"]["items_per_day"] == round(
        3 / 7, 1
    )
    assert health["bundeswehr-de.xml"]["next_poll"] and health["bundeswehr-de.xml"]["last_success"]
    assert "FAILING (2 in a row)" in newsvigil("feeds", "list", env=env).stdout

    from xml.etree import ElementTree

    exported = ElementTree.fromstring(newsvigil("feeds", "export", env=env).stdout)
    assert sorted(o.get("xmlUrl").rsplit("/", 1)[1] for o in exported.iter("outline")) == [
        "bundeswehr-de.xml",
        "down.xml",
        "europe-defence-fr.xml",
    ]
    assert newsvigil("feeds", "remove", httpserver.url_for("/bundeswehr-de.xml"), env=env).returncode == 0
    assert "bundeswehr" not in newsvigil("feeds", "list", env=env).stdout
    assert newsvigil("feeds", "remove", "https://nowhere.example/rss", env=env).returncode == 2


def test_removing_a_feed_while_the_feed_list_is_broken(tmp_path, env):
    """The removal stands and is reported; the broken list is not a crash here."""
    broken = tmp_path / "feeds.opml"
    broken.write_text("<opml><body><outline xmlUrl=</body></opml>")
    env = {**env, "NEWSVIGIL_FEEDS": str(broken)}
    url = "https://f.example/rss"
    (tmp_path / "one.txt").write_text(url + "\n")
    assert newsvigil("feeds", "import", str(tmp_path / "one.txt"), env=env).returncode == 0
    removed = newsvigil("feeds", "remove", url, env=env)
    assert removed.returncode == 0, removed.stderr
    assert f"removed {url}" in removed.stdout and "Traceback" not in removed.stderr


@pytest.mark.slow  # a few seconds: make test-fast stays near a minute (CI runs it)
def test_the_entry_point_in_a_real_process(env):
    """Real process: `python -m newsvigil.cli` itself, which the in-process runner skips (the
    interpreter's start-up and imports, exit codes, output through pipes, no traceback on a user error)."""
    help_text = newsvigil_process("--help")
    assert help_text.returncode == 0 and "Traceback" not in help_text.stderr
    for command in ("run", "detect", "replay", "stats", "events", "db"):
        assert command in help_text.stdout
    replayed = newsvigil_process("replay", str(SAMPLES), env=env)
    assert replayed.returncode == 0, replayed.stderr
    assert "replayed 3 files: 7 items, 7 new, 0 already known, 5 new events, 0 rejected" in replayed.stdout
    bad_since = newsvigil_process("events", "--since", "yesterday", env=env)
    assert bad_since.returncode == 2 and "is not an ISO 8601 time" in bad_since.stderr
    assert "Traceback" not in bad_since.stderr


@pytest.mark.slow  # a few seconds: make test-fast stays near a minute (CI runs it)
def test_sigterm_stops_run_cleanly_and_records_what_was_delivered(httpserver, tmp_path):
    """SIGTERM (docker stop, systemd, Kubernetes) once killed `run` at once: alerts it had delivered
    stayed pending and were sent again after the lease."""
    import signal
    import sqlite3
    import time

    serve_samples(httpserver)
    received = []
    httpserver.expect_request("/hook").respond_with_handler(
        lambda r: (received.append(r.headers["webhook-id"]), "ok")[1]
    )
    feeds = tmp_path / "feeds.txt"
    feeds.write_text("".join(httpserver.url_for(f"/{p.name}") + "\n" for p in SAMPLES.iterdir()))
    env = {
        "NEWSVIGIL_DATABASE_URL": f"sqlite:///{tmp_path / 's.db'}",
        "NEWSVIGIL_FEEDS": str(feeds),
        "NEWSVIGIL_ALLOWED_NETWORKS": "127.0.0.1/32",
    }
    assert (
        newsvigil(
            "subscribe",
            "add",
            "--name",
            "hook",
            "--channel",
            "webhook",
            "--target",
            httpserver.url_for("/hook"),
            env=env,
        ).returncode
        == 0
    )
    run = subprocess.Popen(  # real process: it is sent SIGTERM, and `run` without --once never ends by itself
        [sys.executable, "-m", "newsvigil.cli", "run"],
        env=process_env(env),
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for line in run.stdout:  # the first cycle is done: its alerts are queued and being delivered
            if line.startswith("cycle 1:"):
                break
        time.sleep(0.5)
        run.send_signal(signal.SIGTERM)
        code = run.wait(timeout=60)
    finally:
        if run.poll() is None:
            run.kill()
    assert code == 0 and "stopped (SIGTERM)" in run.stderr.read()
    with sqlite3.connect(tmp_path / "s.db") as db:
        statuses = dict(db.execute("SELECT status, count(*) FROM alerts GROUP BY status").fetchall())
    assert (
        statuses == {"sent": len(received)} and len(received) == len(set(received)) > 0
    )  # each once, none left pending
