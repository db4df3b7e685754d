"""Spikes through the real pipeline and database (SQLite, and PostgreSQL under its marker): the hourly
counts, the spikes recorded once, live batches against one replay, the migration's backfill."""

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, text

from newsvigil.processors.pipeline import ArticleProcessor
from newsvigil.processors.spikes import SpikeParams
from newsvigil.records import Article, hour_of
from newsvigil.storage.database import make_engine, session_factory
from newsvigil.storage.migrate import upgrade
from newsvigil.storage.models import ArticleTopic, SpikeRow
from newsvigil.storage.spikes import hourly_counts, spikes_page

START = datetime(2025, 6, 1, tzinfo=UTC)
PLACES = ["Nuuk council debates fishing quotas", "Ilulissat harbour extension approved", "Sisimiut school opens"]


def report(n: int, when: datetime, danish: bool = False) -> Article:
    title = f"Grønland: landsstyret mødes om fiskeri, nr. {n}" if danish else f"Greenland: {PLACES[n % 3]}, item {n}"
    return Article(
        id=f"g{n:05d}",
        feed_url="https://wire.example/rss",
        source="Wire",
        title=title,
        summary="",
        link=f"https://wire.example/{n}",
        published=when,
        language="da" if danish else "en",
    )


def history(seed: int = 1, days: int = 3, burst_at: datetime | None = None, burst: int = 25) -> list[Article]:
    """About two reports an hour for `days`, and a burst of English reports in one hour."""
    rng = random.Random(seed)
    out = []
    for h in range(days * 24):
        for _ in range(rng.choice([1, 2, 2, 3])):
            out.append(report(len(out), START + timedelta(hours=h, seconds=rng.randrange(3600)), rng.random() < 0.3))
    if burst_at:
        out += [report(len(out) + i, burst_at + timedelta(minutes=2 * i)) for i in range(burst)]
    return sorted(out, key=lambda a: a.when)


def spikes(sessions) -> list[tuple]:
    with sessions() as session:
        rows = session.scalars(select(SpikeRow).order_by(SpikeRow.window_start, SpikeRow.topic, SpikeRow.language))
        return [(r.topic, r.language, r.window_start.replace(tzinfo=UTC), r.count, r.article_id) for r in rows]


def test_a_burst_is_recorded_once_and_its_counts_are_grouped_by_hour(sessions, rules):
    at = START + timedelta(days=2, hours=10)
    reports = history(burst_at=at)
    processor = ArticleProcessor(rules, sessions, alerts="none")
    for i in range(0, len(reports), 40):
        processor.process(reports[i : i + 40])
    found = spikes(sessions)
    assert [(t, lang, start) for t, lang, start, _, _ in found] == [("greenland", "", at), ("greenland", "en", at)]
    assert all(count >= SpikeParams().min_reports for *_, count, _ in found)
    with sessions() as session:
        rows = hourly_counts(session, ["greenland"], hour_of(START), hour_of(at))
        counted = {(lang, hour): n for _, lang, hour, n, _ in rows if hour <= hour_of(at)}
        assert sum(counted.values()) == len([r for r in reports if hour_of(r.when) <= hour_of(at)])
        # After the window: not counted, only each key's newest hour.
        after = {lang: (n, newest) for _, lang, hour, n, newest in rows if hour > hour_of(at)}
        newest = {lang: max(hour_of(r.when) for r in reports if r.language == lang) for lang in ("en", "da")}
        assert after == {"": (0, hour_of(reports[-1].when)), "en": (0, newest["en"]), "da": (0, newest["da"])}
        assert counted["en", hour_of(at)] >= 25
        assert {lang for lang, _ in counted} == {"en", "da"}
        items, _ = spikes_page(session, topic="greenland", language="")
        assert [i["window_start"] for i in items] == [at.isoformat()] and items[0]["language"] is None
    processor.process(reports)  # the same reports again: nothing new
    assert spikes(sessions) == found


def test_live_batches_give_the_spikes_of_one_replay(database_url, tmp_path, rules):
    bursts = [START + timedelta(days=2, hours=3), START + timedelta(days=3, hours=20)]
    reports = history(seed=2, days=5, burst_at=bursts[0]) + [
        report(10_000 + i, bursts[1] + timedelta(minutes=i), danish=True) for i in range(15)
    ]
    reports.sort(key=lambda a: a.when)
    found = []
    for live in (True, False):
        url = database_url if live else f"sqlite:///{tmp_path / 'replay.db'}"
        upgrade(url)
        engine = make_engine(url)
        sessions = session_factory(engine)
        processor = ArticleProcessor(rules, sessions, alerts="none")
        if live:  # poll-sized batches, each in any order
            rng = random.Random(5)
            at = 0
            while at < len(reports):
                batch = reports[at : at + rng.choice([1, 3, 8, 30])]
                at += len(batch)
                rng.shuffle(batch)
                processor.process(batch)
        else:
            processor.process(reports)
        found.append(spikes(sessions))
        engine.dispose()
    assert found[0] == found[1]
    assert {(t, lang) for t, lang, *_ in found[0]} == {("greenland", ""), ("greenland", "en"), ("greenland", "da")}


def test_the_migration_counts_stored_reports_by_hour_and_language(database_url):
    upgrade(database_url, "0010")
    engine = make_engine(database_url)
    published = datetime(2025, 6, 1, 14, 35, 12, 250000, tzinfo=UTC)
    fetched = datetime(2025, 6, 2, 3, 5, tzinfo=UTC)
    with engine.begin() as conn:
        for article_id, when in (("p", published), ("f", None)):
            conn.execute(
                text(
                    "INSERT INTO articles (id, feed_url, source, title, summary, published_at, fetched_at) "
                    "VALUES (:id, 'u', 's', 't', '', :published, :fetched)"
                ),
                {"id": article_id, "published": when, "fetched": fetched},
            )
            conn.execute(
                text("INSERT INTO article_topics (article_id, topic) VALUES (:id, 'greenland')"), {"id": article_id}
            )
        conn.execute(
            text("INSERT INTO detections (article_id, lang, rules_version, detected_at) VALUES ('p', 'da', 'v', :t)"),
            {"t": fetched},
        )
        conn.execute(
            text(
                "INSERT INTO subscriptions (name, topics, languages, keywords, kinds, mode, digest_minutes, channel, "
                "target, secret, active, created_at) VALUES (:name, '', '', '', :kinds, 'instant', 60, 'atom', '', "
                ":name, :yes, :t)"
            ),
            [
                {"name": "all", "kinds": "new_story,new_report,new_figure", "yes": True, "t": fetched},
                {"name": "some", "kinds": "new_figure", "yes": True, "t": fetched},
            ],
        )
    upgrade(database_url)
    sessions = session_factory(engine)
    with sessions() as session:
        rows = {r.article_id: (r.language, r.hour) for r in session.scalars(select(ArticleTopic))}
        kinds = dict(session.execute(text("SELECT name, kinds FROM subscriptions")).all())
    assert rows == {"p": ("da", hour_of(published)), "f": ("", hour_of(fetched))}
    assert kinds == {"all": "new_story,new_report,new_figure,figure_changed,spike", "some": "new_figure"}
    engine.dispose()


def test_a_batch_rolled_back_does_not_move_the_warm_up(sessions, rules):
    """The first stored hour (where the warm-up is counted from) moves only with a committed batch:
    a batch dated ten days earlier that never reached the database must not end the warm-up."""
    from newsvigil.processors.detect import detect
    from newsvigil.records import Event

    at = START + timedelta(hours=10)  # inside the first day of stored reports: still warming up
    processor = ArticleProcessor(rules, sessions, alerts="none")
    early = report(99_999, START - timedelta(days=10))
    with sessions() as session:  # detected, then rolled back (as when the database refuses the batch)
        processor.spikes.detect(session, [Event(early, detect(early, rules))])
        session.rollback()
    reports = history(days=1, burst_at=at)
    for i in range(0, len(reports), 40):
        processor.process(reports[i : i + 40])
    assert spikes(sessions) == []
