"""Archives for replay: WARC web archives, JSON-lines exports, time filters, bad input."""

import gzip
import io
import json
from datetime import UTC, datetime

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from newsvigil.ingest import replay
from newsvigil.ingest.replay import Archive
from newsvigil.processors.detect import article_detector
from tests.support import REPO_ROOT, newsvigil

SAMPLES = REPO_ROOT / "seeds" / "samples"


class Read:
    def __init__(self, archive: Archive) -> None:
        self.articles = list(archive)
        self.rejected, self.skipped, self.count = archive.rejected, archive.skipped, archive.count


def read_archives(paths, since=None, until=None, **options) -> Read:
    with Archive(paths, since, until, **options) as archive:
        return Read(archive.read())


def write_warc(path, responses, gz=True):
    with path.open("wb") as stream:
        writer = WARCWriter(stream, gzip=gz)
        for uri, status, content_type, body in responses:
            headers = StatusAndHeaders(status, [("Content-Type", content_type)], protocol="HTTP/1.1")
            writer.write_record(
                writer.create_warc_record(uri, "response", payload=io.BytesIO(body), http_headers=headers)
            )


def test_warc_with_feed_html_and_error_responses(tmp_path):
    feed = (SAMPLES / "bundeswehr-de.xml").read_bytes()
    path = tmp_path / "crawl.warc.gz"
    write_warc(
        path,
        [
            ("https://example.org/sicherheit/rss", "200 OK", "application/rss+xml", feed),
            ("https://example.org/index.html", "200 OK", "text/html", b"<html><body>Home</body></html>"),
            ("https://example.org/gone.xml", "404 Not Found", "text/plain", b"gone"),
        ],
    )
    read = read_archives([str(path)])
    assert [a.title for a in read.articles] == [
        "USA ziehen rund 1.500 Soldaten aus Bayern ab",
        "Polen bestellt weitere Kampfpanzer",
    ]
    assert all(a.feed_url == "https://example.org/sicherheit/rss" for a in read.articles)
    reasons = {r.path.split("#")[1]: r.reason for r in read.rejected}
    assert reasons == {
        "https://example.org/index.html": "not an RSS or Atom feed",
        "https://example.org/gone.xml": "archived response has HTTP status 404",
    }


def test_truncated_warc_keeps_what_came_before(tmp_path):
    whole = tmp_path / "whole.warc"
    write_warc(
        whole,
        [
            (
                "https://a.example/rss",
                "200 OK",
                "application/rss+xml",
                (SAMPLES / "europe-defence-fr.xml").read_bytes(),
            ),
            ("https://b.example/rss", "200 OK", "application/rss+xml", (SAMPLES / "bundeswehr-de.xml").read_bytes()),
        ],
        gz=False,
    )
    data = whole.read_bytes()
    for name, end in (("header.warc", data.rfind(b"WARC/1.0") + 200), ("body.warc", len(data) - 300)):
        cut = tmp_path / name
        cut.write_bytes(data[:end])
        read = read_archives([str(cut)])
        assert len(read.articles) == 3, name
        assert [r.reason.startswith("truncated or corrupt WARC") for r in read.rejected] == [True], name
    zipped = tmp_path / "whole.warc.gz"
    write_warc(
        zipped,
        [
            (
                "https://a.example/rss",
                "200 OK",
                "application/rss+xml",
                (SAMPLES / "europe-defence-fr.xml").read_bytes(),
            ),
            ("https://b.example/rss", "200 OK", "application/rss+xml", (SAMPLES / "bundeswehr-de.xml").read_bytes()),
        ],
    )
    cut = tmp_path / "cut.warc.gz"
    cut.write_bytes(zipped.read_bytes()[:-200])
    read = read_archives([str(cut)])
    assert len(read.articles) == 3 and "truncated or corrupt WARC" in read.rejected[0].reason


def test_since_until_and_gzip_and_bad_jsonl_lines(tmp_path):
    gz = tmp_path / "fr.xml.gz"
    gz.write_bytes(gzip.compress((SAMPLES / "europe-defence-fr.xml").read_bytes()))
    lines = tmp_path / "bad.jsonl"
    lines.write_text(
        '{"article": {"id": "x1", "feed_url": "f", "title": "ok", "published": "2026-11-20T00:00:00Z"}}\nnot json\n[1]\n'
    )
    read = read_archives(
        [str(gz), str(lines)], since=datetime(2026, 11, 17, tzinfo=UTC), until=datetime(2026, 11, 19, tzinfo=UTC)
    )
    assert [a.title[:20] for a in read.articles] == ["Le Danemark renforce", "Marchés : la bourse "]
    assert read.skipped == 2
    assert [r.path.rsplit(":", 1)[1] for r in read.rejected] == ["2", "3"]


def test_export_then_replay_round_trip(tmp_path):
    first = {"NEWSVIGIL_DATABASE_URL": f"sqlite:///{tmp_path / 'a.db'}"}
    second = {"NEWSVIGIL_DATABASE_URL": f"sqlite:///{tmp_path / 'b.db'}"}
    assert newsvigil("replay", str(SAMPLES), env=first).returncode == 0
    export = tmp_path / "export.jsonl"
    result = newsvigil("export", "--jsonl", str(export), env=first)
    assert result.returncode == 0 and "exported 7 articles" in result.stdout
    records = [json.loads(line) for line in export.read_text().splitlines()]
    assert {r["detection"]["rules_version"] for r in records} and sum(
        bool(r["detection"]["topics"]) for r in records
    ) == 5
    replayed = newsvigil("replay", str(export), env=second)
    assert replayed.returncode == 0 and "7 items, 7 new" in replayed.stdout

    def events(env):
        return [
            (e["id"], e["topics"], e["figures"])
            for e in map(json.loads, newsvigil("events", "--json", env=env).stdout.splitlines())
        ]

    assert events(first) == events(second)
    nato_only = newsvigil("export", "--jsonl", "-", "--topic", "nato", "--since", "2026-11-17", env=first)
    assert [json.loads(line)["article"]["title"][:10] for line in nato_only.stdout.splitlines()] == [
        "USA ziehen",
        "Pentagon w",
    ]


def write_changed_rules(folder) -> str:
    """The shipped rules with a new topic (markets) and one unit word less (militaires); a new version."""
    rules = (REPO_ROOT / "seeds" / "topics.yaml").read_text(encoding="utf-8")
    rules = rules.replace('version: "', 'version: "test-', 1)
    rules = rules.replace("topics:\n", "topics:\n  markets:\n    label: Markets\n    terms: [bourse, cac 40]\n", 1)
    rules = rules.replace("    - militaires\n", "", 1)  # the French unit goes: "1 200 militaires" stops counting
    path = folder / "topics.yaml"
    path.write_text(rules, encoding="utf-8")
    return str(path)


def test_changed_rules_diff_then_redetect(tmp_path):
    env = {"NEWSVIGIL_DATABASE_URL": f"sqlite:///{tmp_path / 'r.db'}"}
    assert newsvigil("replay", str(SAMPLES), env=env).returncode == 0
    env["NEWSVIGIL_TOPICS"] = write_changed_rules(tmp_path)
    before = newsvigil("stats", "--json", env=env).stdout
    dry = newsvigil("replay", str(SAMPLES), "--dry-run", "--diff", env=env)
    assert dry.returncode == 0, dry.stderr
    assert "+ topic markets" in dry.stdout and "- figure ~1,200 militaires" in dry.stdout
    assert dry.stdout.count("+ story: becomes a report") == 1  # the markets article was on no topic before
    assert "dry run: 7 items, 2 would change" in dry.stdout
    assert newsvigil("stats", "--json", env=env).stdout == before  # nothing written
    assert newsvigil("replay", str(SAMPLES), env=env).returncode == 0
    markets = [
        json.loads(line) for line in newsvigil("events", "--topic", "markets", "--json", env=env).stdout.splitlines()
    ]
    assert [e["rules_version"][:5] for e in markets] == ["test-"]
    again = newsvigil("replay", str(SAMPLES), "--dry-run", "--diff", env=env)
    assert "0 would change" in again.stdout


def write_feeds(folder, files: int, per_file: int) -> None:
    """Feeds whose items interleave in time across files (file f holds minutes f, f+files, ...)."""
    for f in range(files):
        items = "".join(
            f"<item><guid>g{f}-{i}</guid><title>Report {f}-{i}: NATO moves 1,200 troops</title>"
            f"<pubDate>Mon, 02 Nov 2026 {(f + i * files) // 60:02d}:{(f + i * files) % 60:02d}:00 GMT</pubDate></item>"
            for i in reversed(range(per_file))
        )  # newest first, as feeds are
        (folder / f"feed-{f}.xml").write_text(f"<rss version='2.0'><channel><title>F{f}</title>{items}</channel></rss>")


@pytest.mark.parametrize("workers", [0, 2])
def test_items_from_all_files_come_in_time_order_with_detections(tmp_path, workers, monkeypatch):
    monkeypatch.setattr(replay, "INDEX_EVERY", 2)  # many slices, each starting inside the runs
    monkeypatch.setattr(replay, "SLICE_ITEMS", 6)
    monkeypatch.setattr(replay, "FIRST_SLICE_ITEMS", 2)
    write_feeds(tmp_path, files=7, per_file=9)
    (tmp_path / "cut.xml.gz").write_bytes(gzip.compress((tmp_path / "feed-0.xml").read_bytes())[:-30])
    (tmp_path / "page.xml").write_text("<html><body><p>Not a feed</p></body></html>")
    detector = (article_detector, (str(REPO_ROOT / "seeds" / "topics.yaml"), ("en",)))
    read = read_archives(
        [str(tmp_path), str(tmp_path / "missing.xml")], workers=workers, transform=detector, pool_min_bytes=0
    )
    assert read.count == 63
    reasons = {r.path.rsplit("/", 1)[1]: r.reason for r in read.rejected}
    assert reasons.keys() == {"cut.xml.gz", "page.xml", "missing.xml"}, reasons  # the rest is still read
    assert reasons["page.xml"] == "not an RSS or Atom feed" and reasons["missing.xml"] == "no such file or folder"
    assert reasons["cut.xml.gz"].startswith("cannot read")
    times = [a.published for a, _ in read.articles]
    assert times == sorted(times) and len(set(times)) == 63
    assert all(d.topics == ["nato"] and [m.value for m in d.troops] == [1200] for _, d in read.articles)


@pytest.mark.parametrize(("workers", "index_every", "slice_items"), [(0, 1, 1), (0, 3, 7), (2, 2, 5), (2, 64, 4000)])
def test_every_item_comes_once_in_key_order_however_the_archive_is_sliced(
    tmp_path, workers, index_every, slice_items, monkeypatch
):
    """Many items share a time across files (ties broken by id): slice bounds fall among equal times."""
    monkeypatch.setattr(replay, "INDEX_EVERY", index_every)
    monkeypatch.setattr(replay, "SLICE_ITEMS", slice_items)
    monkeypatch.setattr(replay, "FIRST_SLICE_ITEMS", 1)
    for f in range(5):
        items = "".join(
            f"<item><guid>f{f}-{i}</guid><title>T {f} {i}</title>"
            f"<pubDate>Mon, 02 Nov 2026 10:{i // 4:02d}:00 GMT</pubDate></item>"
            for i in reversed(range(4 * f, 4 * f + 12))
        )
        (tmp_path / f"feed-{f}.xml").write_text(
            f"<rss version='2.0'><channel><title>F{f}</title>{items}</channel></rss>"
        )
    with Archive([str(tmp_path)], workers=workers, pool_min_bytes=0) as archive:
        archive.read()
        first, again = list(archive), list(archive)  # --diff without --dry-run reads the archive twice
    keys = [(a.when, a.id) for a in first]
    assert len(keys) == archive.count == 60 and len(set(keys)) == 60
    assert keys == sorted(keys)
    assert [a.id for a in again] == [a.id for a in first]


def test_slices_share_the_archive_evenly_when_each_file_is_short(tmp_path, monkeypatch):
    """Feeds of 100 items spanning the same weeks: no slice may take a large share of the archive
    (one process would work on it while the others wait)."""
    import random

    monkeypatch.setattr(replay, "SLICE_ITEMS", 400)
    monkeypatch.setattr(replay, "FIRST_SLICE_ITEMS", 100)
    rng = random.Random(3)
    for f in range(60):
        items = "".join(
            f"<item><guid>f{f}-{i}</guid><title>T {f} {i}</title><pubDate>"
            f"{rng.randrange(1, 29):02d} Feb 2025 {rng.randrange(24):02d}:{rng.randrange(60):02d}:00 GMT</pubDate></item>"
            for i in range(100)
        )
        (tmp_path / f"feed-{f}.xml").write_text(
            f"<rss version='2.0'><channel><title>F{f}</title>{items}</channel></rss>"
        )
    with Archive([str(tmp_path)]) as archive:
        archive.read()
        keys = sorted((a.when, a.id) for a in archive)
        sizes = [
            sum(1 for k in keys if (low is None or k >= low) and (high is None or k < high))
            for low, high in archive.slices()
        ]
    assert sum(sizes) == 6000
    assert max(sizes) <= 1.25 * 400, sizes


def test_replay_alerts_all_reaches_a_subscriber_added_after_the_first_replay(tmp_path):
    env = {"NEWSVIGIL_DATABASE_URL": f"sqlite:///{tmp_path / 'a.db'}"}

    def alert_rows():
        listed = newsvigil("alerts", "--json", env=env)
        assert listed.returncode == 0, listed.stderr
        return [json.loads(line) for line in listed.stdout.splitlines()]

    assert newsvigil("replay", str(SAMPLES), env=env).returncode == 0
    added = newsvigil("subscribe", "add", "--name", "gl", "--channel", "atom", "--topics", "greenland", env=env)
    assert added.returncode == 0, added.stderr
    assert newsvigil("replay", str(SAMPLES), "--alerts", "new", env=env).returncode == 0
    assert alert_rows() == []  # nothing in this history is new
    again = newsvigil("replay", str(SAMPLES), "--alerts", "all", env=env)
    assert again.returncode == 0, again.stderr
    first = alert_rows()
    assert first and {a["subscription"] for a in first} == {1}
    assert all(
        "Greenland" in a["article"] or "Grønland" in a["article"] or "Groenland" in a["article"] for a in first
    ), first
    assert newsvigil("replay", str(SAMPLES), "--alerts", "all", env=env).returncode == 0
    assert len(alert_rows()) == len(first)  # each subscriber gets a report once, however often it is replayed


def test_a_removed_topic_takes_its_reports_out_of_their_stories(tmp_path):
    import yaml

    env = {"NEWSVIGIL_DATABASE_URL": f"sqlite:///{tmp_path / 'r.db'}"}
    assert newsvigil("replay", str(SAMPLES), env=env).returncode == 0
    before = json.loads(newsvigil("stats", "--json", env=env).stdout)
    rules = yaml.safe_load((REPO_ROOT / "seeds" / "topics.yaml").read_text(encoding="utf-8"))
    del rules["topics"]["greenland"]
    rules["version"] = "test-no-greenland"
    (tmp_path / "topics.yaml").write_text(yaml.safe_dump(rules, allow_unicode=True), encoding="utf-8")
    env["NEWSVIGIL_TOPICS"] = str(tmp_path / "topics.yaml")
    dry = newsvigil("replay", str(SAMPLES), "--dry-run", "--diff", env=env)
    assert dry.stdout.count("- topic greenland") == 2 and dry.stdout.count("- story: leaves its story") == 2
    assert newsvigil("replay", str(SAMPLES), env=env).returncode == 0
    after = json.loads(newsvigil("stats", "--json", env=env).stdout)
    assert (after["events"], after["stories"]) == (before["events"] - 2, before["stories"] - 2)
    assert newsvigil("events", "--topic", "greenland", "--json", env=env).stdout.strip() == ""


def test_replay_delivers_every_alert_it_queues_before_exiting(tmp_path):
    """Of 2,000 alerts one round of 200 was sent and the rest stayed pending with no message."""
    env = {"NEWSVIGIL_DATABASE_URL": f"sqlite:///{tmp_path / 'd.db'}"}
    added = newsvigil(
        "subscribe",
        "add",
        "--name",
        "desk",
        "--channel",
        "atom",
        "--topics",
        "nato",
        "--kinds",
        "new_story,new_report",
        env=env,
    )
    assert added.returncode == 0, added.stderr
    write_feeds(tmp_path, files=3, per_file=90)  # 270 new reports, each alerting the subscriber
    replayed = newsvigil("replay", str(tmp_path), "--alerts", "new", "--workers", "0", env=env)
    assert replayed.returncode == 0, replayed.stderr
    assert "270 alerts delivered" in replayed.stdout and "still queued" not in replayed.stdout
    import sqlite3

    with sqlite3.connect(tmp_path / "d.db") as db:
        assert dict(db.execute("SELECT status, count(*) FROM alerts GROUP BY status").fetchall()) == {"sent": 270}


def test_a_gzip_bomb_in_an_archive_is_refused_within_the_cap(tmp_path):
    """A 306 KB .gz once inflated whole: 697 MB of memory for one file."""
    bomb = tmp_path / "bomb.xml.gz"
    bomb.write_bytes(gzip.compress(b"<rss version='2.0'><channel><title>T</title>" + b" " * (300 << 20)))
    write_feeds(tmp_path, files=1, per_file=3)
    read = read_archives([str(tmp_path)], max_document_bytes=1 << 20)
    assert read.count == 3  # the good file is read
    [rejected] = read.rejected
    assert rejected.path.endswith("bomb.xml.gz") and "more than 1,048,576 bytes once inflated" in rejected.reason


def test_an_export_is_read_line_by_line_with_bad_lines_named(tmp_path):
    lines = [
        json.dumps(
            {
                "article": {
                    "id": f"a{i}",
                    "title": f"Nato {i}",
                    "feed_url": "f",
                    "published": f"2025-01-0{i + 1}T00:00:00Z",
                }
            }
        )
        for i in range(3)
    ]
    lines.insert(1, "{" * 100_000)  # too deep for the JSON reader: one bad line, not a crash
    lines.insert(2, json.dumps({"article": {"id": "x", "title": "t", "link": ["a list"], "lang": 5}}))
    lines.append('{"article": {"id": "s", "title": "lone \\ud800 surrogate", "published": "2025-02-01T00:00:00Z"}}')
    lines.append(json.dumps({"article": {"id": "f", "title": "far future", "published": "9999-12-31T23:59:59-14:00"}}))
    lines.append(
        json.dumps(
            {
                "article": {
                    "id": "g",
                    "title": "next century",
                    "published": "2199-01-01T00:00:00Z",
                    "fetched_at": "2025-01-01T00:00:00Z",
                }
            }
        )
    )
    path = tmp_path / "export.jsonl.gz"
    path.write_bytes(gzip.compress("\n".join(lines).encode()))
    read = read_archives([str(path)])
    assert [r.path.rsplit(":", 1)[1] for r in read.rejected] == ["2", "7"]  # too deep; a date past the calendar
    articles = {a.id: a for a in read.articles}
    assert articles["x"].link is None and articles["x"].language is None
    assert articles["s"].title == "lone ? surrogate"
    assert articles["g"].published is None  # published after it was fetched: no publication date


def test_run_folders_of_a_killed_replay_are_removed_at_the_next_start(tmp_path):
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    from newsvigil.ingest.replay import RUNS_PREFIX, remove_stale_runs

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = Path(tempfile.mkdtemp(prefix=f"{RUNS_PREFIX}{gone.stdout.strip()}-"))
    (stale / "run-0").write_bytes(b"left behind by kill -9")
    live = Path(tempfile.mkdtemp(prefix=f"{RUNS_PREFIX}{__import__('os').getpid()}-"))
    try:
        assert str(stale) in remove_stale_runs()
        assert not stale.exists() and live.exists()  # a running replay's folder is left alone
    finally:
        live.rmdir()
