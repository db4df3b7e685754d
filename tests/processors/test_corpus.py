"""Detection quality on the labelled development corpus (original texts, 8 languages, traps included)."""

import json
from pathlib import Path

import pytest

from newsvigil.processors.evaluation import evaluate, load_corpus, split_of

CORPUS = Path(__file__).parent / "corpus"


@pytest.fixture(scope="module")
def scores(rules):
    return evaluate(load_corpus(CORPUS), rules)


def test_corpus_is_big_and_covers_eight_languages():
    items = load_corpus(CORPUS)
    assert len(items) >= 150
    assert {i["lang"] for i in items} == {"fr", "en", "de", "da", "nl", "es", "it", "pl"}
    assert len({i["id"] for i in items}) == len(items)
    assert sum(1 for i in items if not i["topics"]) >= 40  # hard negatives and traps


def test_topic_f1(scores):
    assert scores.topics["all"].f1 >= 0.97, "\n".join(scores.errors)
    assert min(c.f1 for c in scores.topics.values()) >= 0.9, "\n".join(scores.errors)


def test_troop_f1(scores):
    assert scores.troops["all"].f1 >= 0.95, "\n".join(scores.errors)
    assert min(c.f1 for c in scores.troops.values()) >= 0.9, "\n".join(scores.errors)


def test_places_of_figures(scores):
    """Every figure of the corpus carries a place label (a gazetteer id, or null when its sentence names none)."""
    assert all("place" in t for i in load_corpus(CORPUS) for t in i.get("troops", []))
    assert scores.places["all"].total >= 100
    assert scores.places["all"].accuracy >= 0.9, "\n".join(scores.errors)
    assert min(p.accuracy for p in scores.places.values()) >= 0.8, "\n".join(scores.errors)


def test_scorer_counts_places_of_found_figures_only(rules):
    items = [
        {
            "id": "p",
            "lang": "en",
            "title": "Britain sends 900 troops to Estonia and 300 troops to Latvia",
            "summary": "",
            "topics": [],
            "troops": [{"value": 900, "place": "estonia"}, {"value": 300, "place": "lithuania"}, {"value": 5}],
        }
    ]
    places = evaluate(items, rules).places["all"]
    assert (places.right, places.total, places.named_right, places.predicted_named, places.gold_named) == (
        1,
        2,
        1,
        2,
        2,
    )


def test_scorer_counts_misses_and_false_alarms(rules):
    items = [
        {
            "id": "x",
            "lang": "en",
            "title": "Nato sends 300 troops",
            "summary": "",
            "topics": ["greenland"],
            "troops": [{"value": 400}],
        },
        {
            "id": "y",
            "lang": "en",
            "title": "Between 3,000 and 5,000 troops",
            "summary": "",
            "topics": [],
            "troops": [{"low": 3000, "high": 5000}],
        },
    ]
    scores = evaluate(items, rules)
    assert (scores.topics["all"].tp, scores.topics["all"].fp, scores.topics["all"].fn) == (0, 1, 1)
    assert (scores.troops["all"].tp, scores.troops["all"].fp, scores.troops["all"].fn) == (1, 1, 1)


REAL = CORPUS / "real"


def test_real_corpus_labels_are_sound():
    """The committed labels (the text is rebuilt from the archive, see corpus/README.md)."""
    labels = [json.loads(line) for line in (REAL / "labels.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(labels) >= 1500 and len({label["id"] for label in labels}) == len(labels)
    assert sum(1 for label in labels if label["troops"]) >= 300
    assert sum(1 for label in labels if not label["troops"] and label["classes"]) >= 600  # hard negatives
    assert {label["lang"] for label in labels} == {"en", "pl"}
    assert all(set(label["topics"]) <= {"nato", "greenland"} for label in labels)
    assert {split_of(label) for label in labels} == {"A", "B", "C"}
    assert not (REAL / "text.jsonl").exists() or "text.jsonl" in (CORPUS.parents[2] / ".gitignore").read_text()


def test_real_corpus_scores():
    """Figures on real news (README): skipped, in one line, where the third-party text was not rebuilt."""
    from newsvigil.processors.evaluation import load_real_corpus

    items = load_real_corpus(REAL)
    if items is None:
        pytest.skip("real corpus text absent: run tests/processors/corpus/real/rebuild.py SNAPSHOT")
    from newsvigil.processors.rules import load_rules

    scores = evaluate(items, load_rules(CORPUS.parents[2] / "seeds" / "topics.yaml"))
    assert scores.troops["all"].precision >= 0.92 and scores.troops["all"].recall >= 0.90, "\n".join(scores.errors[:50])
    assert all(c.f1 >= 0.97 for c in scores.by_topic.values()), "\n".join(scores.errors[:50])
