"""Score story clustering on the labelled cross-language story set: B-cubed precision/recall/F1.

    python bench/story_eval.py                   # real part, written part and the whole set
    python bench/story_eval.py --places labels   # a figure detection gave no place takes its label's
    python bench/story_eval.py --errors          # also list the stories that mix or split events

Every report goes through the product's path in time order: detection, then ArticleProcessor (a real
SQLite database, story assignment and all) one report at a time. The set is
tests/processors/corpus/stories (see its README): the real reports' text is not committed — rebuild
it with tests/processors/corpus/stories/rebuild.py; without it the real part is skipped (one line).

B-cubed: for each report, precision is the share of its story that belongs to its event, recall the
share of its event that is in its story; both averaged over reports. "cross-language" counts, for
each report, only the reports in other languages (reports with none of those in the story, or in
the event, are left out of that average).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from newsvigil.processors.detect import detect  # noqa: E402
from newsvigil.processors.pipeline import ArticleProcessor  # noqa: E402
from newsvigil.processors.rules import load_rules  # noqa: E402
from newsvigil.records import AlertPolicy, Article, Detection, TroopMention, parse_time  # noqa: E402
from newsvigil.storage.database import make_engine, session_factory  # noqa: E402
from newsvigil.storage.migrate import upgrade  # noqa: E402
from newsvigil.storage.models import StoryArticle  # noqa: E402

SET = ROOT / "tests" / "processors" / "corpus" / "stories"


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def load_set(folder: Path = SET) -> tuple[list[dict[str, Any]], bool]:
    """The labelled reports (real ones joined with their rebuilt text), and whether the real text was there."""
    items = read_jsonl(folder / "written.jsonl")
    text_path = folder / "text.jsonl"
    if not text_path.exists():
        return items, False
    texts = {t["id"]: t for t in read_jsonl(text_path)}
    for label in read_jsonl(folder / "labels.jsonl"):
        text = texts.get(label["id"])
        if text is not None:
            items.append({**label, **text, "lang": label["lang"], "written": False})
    return items, True


def article_of(item: dict[str, Any]) -> Article:
    published = parse_time(item["published"])
    return Article(
        id=item["id"],
        feed_url=f"https://story-set.example/{item['source'] or 'feed'}",
        source=item["source"] or "feed",
        title=item["title"],
        summary=item["summary"],
        published=published,
        fetched_at=published,
        language=item["lang"],
    )


def with_labelled_places(detection: Detection, figures: list[dict[str, Any]]) -> Detection:
    """The detection with each figure that detection gave no place the place labelled for that figure."""
    places = {float(f["value"]): f["place"] for f in figures if f.get("place")}

    def placed(m: TroopMention) -> TroopMention:
        if m.place:
            return m
        place = next((p for value, p in places.items() if m.low <= value <= m.high), None)
        return replace(m, place=place, place_name=place) if place else m

    return replace(detection, troops=[placed(m) for m in detection.troops])


def cluster(items: list[dict[str, Any]], places: str) -> dict[str, int]:
    """Story id of each report placed in a story, after running them all through the processor in time order."""
    rules = load_rules(str(ROOT / "seeds" / "topics.yaml"))
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/stories.db"
        upgrade(url)
        engine = make_engine(url)
        processor = ArticleProcessor(rules, session_factory(engine), alerts=AlertPolicy.NONE)
        for item in sorted(items, key=lambda i: (i["published"], i["id"])):
            article = article_of(item)
            detection = detect(article, rules)
            if places == "labels":
                detection = with_labelled_places(detection, item["figures"])
            processor.store([(article, detection)])
        with processor.sessions() as session:
            placed = dict(session.execute(select(StoryArticle.article_id, StoryArticle.story_id)).all())
        engine.dispose()
    return placed


@dataclass
class BCubed:
    precision: float
    recall: float
    reports: int

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def bcubed(items: list[dict[str, Any]], story_of: dict[str, Any], cross_language: bool = False) -> BCubed:
    """B-cubed precision and recall of `story_of` against the labelled events (see the module docstring)."""
    precisions: list[float] = []
    recalls: list[float] = []
    for item in items:
        others = [o for o in items if o is not item and (not cross_language or o["lang"] != item["lang"])]
        same_story = [o for o in others if story_of[o["id"]] == story_of[item["id"]]]
        same_event = [o for o in others if o["event"] == item["event"]]
        both = sum(1 for o in same_story if o["event"] == item["event"])
        if cross_language:
            if same_story:
                precisions.append(both / len(same_story))
            if same_event:
                recalls.append(both / len(same_event))
        else:  # the report itself counts in its story and its event
            precisions.append((both + 1) / (len(same_story) + 1))
            recalls.append((both + 1) / (len(same_event) + 1))
    mean = lambda xs: sum(xs) / len(xs) if xs else 1.0  # noqa: E731
    return BCubed(mean(precisions), mean(recalls), len(items))


def story_labels(items: Iterable[dict[str, Any]], placed: dict[str, int]) -> dict[str, Any]:
    """Each report's story; a report in no story (no topic detected) is a story of its own."""
    return {i["id"]: placed.get(i["id"], f"alone:{i['id']}") for i in items}


def print_errors(items: list[dict[str, Any]], story_of: dict[str, Any]) -> None:
    stories: dict[Any, list[dict[str, Any]]] = {}
    for item in items:
        stories.setdefault(story_of[item["id"]], []).append(item)
    by_event: dict[str, set[Any]] = {}
    for item in items:
        by_event.setdefault(item["event"], set()).add(story_of[item["id"]])
    print("\nstories mixing events:")
    for story, members in stories.items():
        events = sorted({m["event"] for m in members})
        if len(events) > 1:
            print(f"  story {story}: " + "; ".join(f"{m['event']} {m['lang']} {m['id']}" for m in members))
    print("\nevents split over stories:")
    for event, ids in sorted(by_event.items()):
        if len(ids) > 1:
            parts = [
                ",".join(f"{m['lang']}" for m in items if m["event"] == event and story_of[m["id"]] == s) for s in ids
            ]
            print(f"  {event}: {len(ids)} stories ({' | '.join(parts)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--places",
        choices=["labels", "detector"],
        default="detector",
        help="detector (default): places as detected; labels: a figure detection gave no place gets the labelled one",
    )
    parser.add_argument("--errors", action="store_true", help="list stories mixing events and events split up")
    args = parser.parse_args()
    items, has_real = load_set()
    if not has_real:
        print("real part skipped: tests/processors/corpus/stories/text.jsonl absent (rebuild.py writes it)")
    story_of = story_labels(items, cluster(items, args.places))
    parts = [("real", [i for i in items if not i["written"]]), ("written", [i for i in items if i["written"]])]
    parts.append(("whole set", items))
    print(f"places: {args.places}")
    print(f"{'part':10} {'reports':>7} {'langs':>5} {'events':>6}  {'pairs':15} {'P':>6} {'R':>6} {'F1':>6}")
    for name, part in parts:
        if not part:
            continue
        langs, events = len({i["lang"] for i in part}), len({i["event"] for i in part})
        for pairs, cross in (("all", False), ("cross-language", True)):
            score = bcubed(part, story_of, cross)
            print(
                f"{name:10} {len(part):7d} {langs:5d} {events:6d}  {pairs:15} "
                f"{score.precision:6.3f} {score.recall:6.3f} {score.f1:6.3f}"
            )
    if args.errors:
        print_errors(items, story_of)


if __name__ == "__main__":
    main()
