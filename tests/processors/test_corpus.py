"""Detection quality on the labelled development corpus (original texts, 8 languages, traps included)."""

from pathlib import Path

import pytest

from processors.evaluation import evaluate, load_corpus

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


def test_scorer_counts_misses_and_false_alarms(rules):
    items = [
        {"id": "x", "lang": "en", "title": "Nato sends 300 troops", "summary": "", "topics": ["greenland"],
         "troops": [{"value": 400}]},
        {"id": "y", "lang": "en", "title": "Between 3,000 and 5,000 troops", "summary": "", "topics": [],
         "troops": [{"low": 3000, "high": 5000}]},
    ]
    scores = evaluate(items, rules)
    assert (scores.topics["all"].tp, scores.topics["all"].fp, scores.topics["all"].fn) == (0, 1, 1)
    assert (scores.troops["all"].tp, scores.troops["all"].fp, scores.troops["all"].fn) == (1, 1, 1)
