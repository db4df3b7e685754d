"""Scoring detection against a labelled corpus: topic micro-F1 and troop-mention F1, per language.

Topics are scored over (article, topic) pairs. A predicted troop mention matches a gold mention
of the same article by value, or, for a gold range, by low and high; each matches at most once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from newsvigil.records import join_text
from processors.detect import detect_text
from processors.rules import RuleSet


@dataclass(slots=True)
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, other: "Counts") -> None:
        self.tp, self.fp, self.fn = self.tp + other.tp, self.fp + other.fp, self.fn + other.fn

    @property
    def f1(self) -> float:
        denominator = 2 * self.tp + self.fp + self.fn
        return 1.0 if denominator == 0 else 2 * self.tp / denominator


@dataclass(slots=True)
class Scores:
    topics: dict[str, Counts] = field(default_factory=dict)  # per language, plus "all"
    troops: dict[str, Counts] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)  # one line per wrong article, for debugging rules


def load_corpus(folder: Path) -> list[dict[str, Any]]:
    """All labelled items of the *.jsonl files in `folder`."""
    items = []
    for path in sorted(folder.glob("*.jsonl")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if line.strip():
                try:
                    items.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{path}:{number}: {exc}") from None
    return items


def _troop_counts(gold: list[dict[str, Any]], predicted: list[dict[str, Any]]) -> Counts:
    remaining = list(predicted)
    counts = Counts()
    for g in gold:
        def matches(p: dict[str, Any]) -> bool:
            if "low" in g:
                return p["low"] == g["low"] and p["high"] == g["high"]
            return p["value"] == g["value"]
        hit = next((p for p in remaining if matches(p)), None)
        if hit is None:
            counts.fn += 1
        else:
            counts.tp += 1
            remaining.remove(hit)
    counts.fp = len(remaining)
    return counts


def evaluate(items: Iterable[dict[str, Any]], rules: RuleSet, use_gold_language: bool = False) -> Scores:
    """Run detection over labelled items and count hits per language and overall."""
    scores = Scores()
    for item in items:
        text = join_text(item.get("title", ""), item.get("summary", ""))
        lang, topics, troops = detect_text(text, rules, item["lang"] if use_gold_language else None)
        predicted = [m.to_json() for m in troops]
        gold_topics, pred_topics = set(item.get("topics", [])), set(topics)
        topic_counts = Counts(len(gold_topics & pred_topics), len(pred_topics - gold_topics), len(gold_topics - pred_topics))
        troop_counts = _troop_counts(item.get("troops", []), predicted)
        for key in (item["lang"], "all"):
            scores.topics.setdefault(key, Counts()).add(topic_counts)
            scores.troops.setdefault(key, Counts()).add(troop_counts)
        if topic_counts.fp or topic_counts.fn or troop_counts.fp or troop_counts.fn:
            scores.errors.append(
                f"{item['id']}: topics gold={sorted(gold_topics)} got={sorted(pred_topics)}; "
                f"troops gold={item.get('troops', [])} got={[(m['value'], m['low'], m['high'], m['quote']) for m in predicted]}"
            )
    return scores
