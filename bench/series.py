"""Figure series on the real-news corpus: how many figures join a series, how many series, points and changes.

Stores the corpus (tests/processors/corpus/real/text.jsonl, rebuilt with its rebuild.py) through the
embedded pipeline in time order, into a fresh SQLite file (or --database URL), and prints:
figures detected (those in reports on a topic, with an actor, with a place, with both; of these, how
many have a unit in no class or count an incident such as "killed" or "arrested", and join no series), series by kind, points, changes (and how many of them were the
newest figure of their series, i.e. alerted), then the series with most points.

    python bench/series.py [--database sqlite:///series.db] [--top 15]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from newsvigil.processors.detect import detect_articles  # noqa: E402
from newsvigil.processors.pipeline import ArticleProcessor  # noqa: E402
from newsvigil.processors.rules import load_rules  # noqa: E402
from newsvigil.processors.series import counts_incident, series_key, unit_class  # noqa: E402
from newsvigil.records import Article, parse_time  # noqa: E402
from newsvigil.storage.database import make_engine, session_factory  # noqa: E402
from newsvigil.storage.migrate import upgrade  # noqa: E402
from newsvigil.storage.models import SeriesPoint, SeriesRow  # noqa: E402
from newsvigil.storage.series import SeriesFilters, series_list  # noqa: E402

TEXT = ROOT / "tests" / "processors" / "corpus" / "real" / "text.jsonl"
BATCH = 500


def corpus_articles(path: Path = TEXT) -> list[Article]:
    """The real corpus's items as the pipeline reads them (the outlet is the feed's URL), oldest first."""
    articles = []
    for line in path.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        articles.append(
            Article(
                id=item["id"],
                feed_url=item["source"],
                source=item["source"],
                title=item["title"],
                summary=item["summary"],
                link=f"https://corpus.invalid/{item['id']}",
                published=parse_time(item["published"]),
                language=item.get("language"),
            )
        )
    return sorted(articles, key=lambda a: (a.when, a.id))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="database URL (default: a fresh SQLite file)")
    parser.add_argument("--top", type=int, default=15, help="series listed")
    args = parser.parse_args()
    if not TEXT.exists():
        sys.exit(f"{TEXT} is missing: rebuild it with tests/processors/corpus/real/rebuild.py")
    rules = load_rules(ROOT / "seeds" / "topics.yaml")
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database or f"sqlite:///{Path(tmp) / 'series.db'}"
        upgrade(url)
        engine = make_engine(url)
        sessions = session_factory(engine)
        processor = ArticleProcessor(rules, sessions)
        articles = corpus_articles()
        figures: Counter[str] = Counter()
        for start in range(0, len(articles), BATCH):
            detected = detect_articles(articles[start : start + BATCH], rules)
            for article, detection in detected:
                if isinstance(detection, str):
                    continue
                for m in detection.troops:
                    figures["figures"] += 1
                    figures["  in a report on a topic"] += bool(detection.topics)
                    figures["  with an actor"] += bool(m.actor)
                    figures["  with a place"] += bool(m.place)
                    if m.actor and m.place:
                        figures["  with actor and place"] += 1
                        troops = rules.troops
                        if unit_class(m.unit, troops.unit_classes) is None:
                            figures["    unit in no class"] += 1
                        elif counts_incident(m, article.text, troops.incidents):
                            figures["    counting an incident"] += 1
                        elif series_key(m, article.text, troops.unit_classes, troops.incidents):
                            figures["    joining a series"] += 1
            processor.store(detected)
        with sessions() as s:
            kinds = dict(s.execute(select(SeriesRow.kind, func.count()).group_by(SeriesRow.kind)).all())
            points = s.scalar(select(func.count()).select_from(SeriesPoint)) or 0
            changes = s.scalar(select(func.count()).where(SeriesPoint.changed.is_(True))) or 0
            alerted = s.scalar(select(func.count()).where(SeriesPoint.changed.is_(True), SeriesPoint.newest.is_(True)))
            listed = series_list(s, SeriesFilters(), limit=10_000)
        engine.dispose()
    print(f"{len(articles)} articles")
    for what, n in figures.items():
        print(f"{what:24} {n:6d}")
    print(f"series: {sum(kinds.values())} ({', '.join(f'{n} {k}' for k, n in sorted(kinds.items())) or 'none'})")
    print(f"series with 2+ points: {sum(1 for x in listed if x['points'] >= 2)}")
    print(f"points: {points}, changes: {changes} (newest of their series, alerted: {alerted or 0})")
    print()
    print(f"{'series':44} {'points':>6} {'changes':>7}  latest")
    for x in sorted(listed, key=lambda x: (-x["points"], x["id"]))[: args.top]:
        label = f"{x['actor']} · {x['place_name'] or x['place']} · {x['unit_class']} ({x['kind']})"
        latest = x["latest"]["figure"]["quote"] if x["latest"] else ""
        print(f"{label[:44]:44} {x['points']:6d} {x['changes']:7d}  {latest[:40]}")


if __name__ == "__main__":
    main()
