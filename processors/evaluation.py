"""Scoring detection against a labelled corpus: topic and troop-mention precision, recall and F1.

Topics are scored over (article, topic) pairs, per language and per topic. A predicted troop
mention matches a gold mention of the same article by value, or, for a gold range, by low and high;
each matches at most once. Vague quantities ("thousands of troops") match by order of magnitude.
A gold figure with a `place` label (a gazetteer id, or null when its sentence names none) is also
scored for place, over the figures the detector found: accuracy (the same id, or both null), and
precision and recall of the places named (non-null).
Items may carry `classes` (error classes, see tests/processors/corpus/README.md): every count is
also kept per class, so a fix can be judged on the items that hold its trap.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from newsvigil.processors.detect import detect_text
from newsvigil.processors.rules import RuleSet
from newsvigil.records import join_text


@dataclass(slots=True)
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, other: Counts) -> None:
        self.tp, self.fp, self.fn = self.tp + other.tp, self.fp + other.fp, self.fn + other.fn

    @property
    def precision(self) -> float:
        return 1.0 if self.tp + self.fp == 0 else self.tp / (self.tp + self.fp)

    @property
    def recall(self) -> float:
        return 1.0 if self.tp + self.fn == 0 else self.tp / (self.tp + self.fn)

    @property
    def f1(self) -> float:
        denominator = 2 * self.tp + self.fp + self.fn
        return 1.0 if denominator == 0 else 2 * self.tp / denominator


@dataclass(slots=True)
class PlaceCounts:
    """Places of the labelled figures the detector found: `right` of `total` agree (same id, or both
    none); of the places named, `named_right` of `predicted_named` predicted and `gold_named` labelled."""

    right: int = 0
    total: int = 0
    named_right: int = 0
    predicted_named: int = 0
    gold_named: int = 0

    def add(self, gold: str | None, predicted: str | None) -> None:
        self.total += 1
        self.right += gold == predicted
        self.named_right += gold is not None and gold == predicted
        self.predicted_named += predicted is not None
        self.gold_named += gold is not None

    def merge(self, other: PlaceCounts) -> None:
        for name in self.__slots__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def accuracy(self) -> float:
        return 1.0 if self.total == 0 else self.right / self.total

    @property
    def precision(self) -> float:
        return 1.0 if self.predicted_named == 0 else self.named_right / self.predicted_named

    @property
    def recall(self) -> float:
        return 1.0 if self.gold_named == 0 else self.named_right / self.gold_named


@dataclass(slots=True)
class Scores:
    topics: dict[str, Counts] = field(default_factory=dict)  # per language, plus "all"
    troops: dict[str, Counts] = field(default_factory=dict)
    vague: dict[str, Counts] = field(default_factory=dict)
    places: dict[str, PlaceCounts] = field(default_factory=dict)  # per language, plus "all"
    by_topic: dict[str, Counts] = field(default_factory=dict)  # per topic name, every language
    classes: dict[str, tuple[Counts, Counts]] = field(default_factory=dict)  # class -> (topics, troops)
    errors: list[str] = field(default_factory=list)  # one line per wrong article, for debugging rules


def load_corpus(folder: Path) -> list[dict[str, Any]]:
    """All labelled items of the *.jsonl files in `folder`."""
    items = []
    for path in sorted(folder.glob("*.jsonl")):
        items += _read_jsonl(path)
    return items


def load_real_corpus(folder: Path) -> list[dict[str, Any]] | None:
    """The real-news labels joined with their rebuilt text, or None when the text was not rebuilt.

    The text of real items is third-party and not committed (see the corpus README)."""
    text_path = folder / "text.jsonl"
    if not text_path.exists():
        return None
    texts = {t["id"]: t for t in _read_jsonl(text_path)}
    items = []
    for label in _read_jsonl(folder / "labels.jsonl"):
        text = texts.get(label["id"])
        if text is not None:
            items.append({**label, "title": text["title"], "summary": text["summary"]})
    return items


def half(item_id: str) -> str:
    """'A' or 'B': a fixed split of the corpus into a half to tune rules on and a half to report."""
    return "AB"[hashlib.sha1(item_id.encode("utf-8")).digest()[0] & 1]


def split_of(item: dict[str, Any]) -> str:
    """'A' or 'B' (the development halves), or 'C': items labelled after all tuning, scored once."""
    return str(item.get("half") or half(item["id"]))


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                items.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{number}: {exc}") from None
    return items


def _troop_counts(
    gold: list[dict[str, Any]], predicted: list[dict[str, Any]], places: PlaceCounts | None = None
) -> Counts:
    """Troop figures matched by value (or range); each matched figure's place goes to `places`."""
    remaining = list(predicted)
    counts = Counts()
    for g in gold:

        def matches(p: dict[str, Any], g: dict[str, Any] = g) -> bool:
            if "low" in g:
                return p["low"] == g["low"] and p["high"] == g["high"]
            return p["value"] == g["value"]

        hit = next((p for p in remaining if matches(p)), None)
        if hit is None:
            counts.fn += 1
        else:
            counts.tp += 1
            remaining.remove(hit)
            if places is not None and "place" in g:
                places.add(g["place"], (hit.get("place") or {}).get("id"))
    counts.fp = len(remaining)
    return counts


def _vague_counts(gold: list[dict[str, Any]], predicted: list[dict[str, Any]]) -> Counts:
    gold_m = [g["magnitude"] for g in gold]
    pred_m = [p["magnitude"] for p in predicted]
    tp = 0
    for m in gold_m:
        if m in pred_m:
            pred_m.remove(m)
            tp += 1
    return Counts(tp, len(pred_m), len(gold_m) - tp)


def predict(
    text: str, rules: RuleSet, lang: str | None
) -> tuple[list[str], list[dict[str, Any]], list[dict[str, Any]]]:
    """(topics, troop mentions as JSON, vague quantities as JSON) that `detect` finds in a text."""
    found = detect_text(text, rules, lang)
    return found.topics, [m.to_json() for m in found.troops], [v.to_json() for v in found.vague]


def evaluate(items: Iterable[dict[str, Any]], rules: RuleSet, use_gold_language: bool = False) -> Scores:
    """Run detection over labelled items and count hits per language, topic and class."""
    scores = Scores()
    for item in items:
        text = join_text(item.get("title", ""), item.get("summary", ""))
        pred_topics_list, predicted, vague = predict(text, rules, item["lang"] if use_gold_language else None)
        gold_topics, pred_topics = set(item.get("topics", [])), set(pred_topics_list)
        topic_counts = Counts(
            len(gold_topics & pred_topics), len(pred_topics - gold_topics), len(gold_topics - pred_topics)
        )
        place_counts = PlaceCounts()
        troop_counts = _troop_counts(item.get("troops", []), predicted, place_counts)
        vague_counts = _vague_counts(item.get("vague", []), vague)
        for key in (item["lang"], "all"):
            scores.topics.setdefault(key, Counts()).add(topic_counts)
            scores.troops.setdefault(key, Counts()).add(troop_counts)
            scores.vague.setdefault(key, Counts()).add(vague_counts)
            scores.places.setdefault(key, PlaceCounts()).merge(place_counts)
        for topic in gold_topics | pred_topics | set(rules.topics):
            scores.by_topic.setdefault(topic, Counts()).add(
                Counts(
                    int(topic in gold_topics and topic in pred_topics),
                    int(topic in pred_topics - gold_topics),
                    int(topic in gold_topics - pred_topics),
                )
            )
        for cls in item.get("classes", []):
            topic_class, troop_class = scores.classes.setdefault(cls, (Counts(), Counts()))
            topic_class.add(topic_counts)
            troop_class.add(troop_counts)
        if topic_counts.fp or topic_counts.fn or troop_counts.fp or troop_counts.fn:
            scores.errors.append(
                f"{item['id']}: topics gold={sorted(gold_topics)} got={sorted(pred_topics)}; "
                f"troops gold={item.get('troops', [])} got={[(m['value'], m['low'], m['high'], m['quote']) for m in predicted]}"
            )
        if place_counts.right < place_counts.total:
            scores.errors.append(
                f"{item['id']}: places gold={[g.get('place') for g in item.get('troops', [])]} "
                f"got={[(m['value'], (m.get('place') or {}).get('name')) for m in predicted]}"
            )
    return scores
