"""Story clustering and what a report adds: pure functions over plain records.

A report joins a story when it is a near duplicate (syndicated copy with light edits) or a
related report (a shared topic plus similar text, or a shared figure and shared names) of one of
the story's reports within the window; otherwise it opens a new story. Text similarity is the
MinHash (datasketch) estimate of the Jaccard similarity of word shingles.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from newsvigil.records import AlertKind, TroopMention

NUM_PERM = 64
NEAR_DUPLICATE = 0.6  # Jaccard above which two reports are copies of one another
RELATED_TEXT = 0.2  # Jaccard above which two reports on a shared topic are related
_WORD = re.compile(r"\w+")
_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-ZÀ-ÖØ-ÞĄĆĘŁŃÓŚŹŻ][\w-]{2,}")


_permutations = None


def signature(text: str) -> np.ndarray:
    """MinHash of the text's word unigrams and bigrams (lower-cased)."""
    from datasketch import MinHash  # imported on first use: it pulls in scipy, a second of start-up

    words = [w.lower() for w in _WORD.findall(text)]
    shingles = set(words) | {f"{a} {b}" for a, b in itertools.pairwise(words)}
    global _permutations
    if _permutations is None:  # generating them costs more than hashing a report: once per process
        _permutations = MinHash(num_perm=NUM_PERM, seed=7).permutations
    minhash = MinHash(num_perm=NUM_PERM, seed=7, permutations=_permutations)
    minhash.update_batch([s.encode() for s in shingles] or [b""])
    hashes: np.ndarray = minhash.hashvalues.astype(np.uint64)
    return hashes


BANDS = 32  # LSH: 32 bands of 2 rows find pairs from about 0.2 Jaccard up (threshold (1/32)^(1/2))


def lookup_keys(signature_: np.ndarray, figures: list[TroopMention]) -> list[str]:
    """Index keys under which a report is found again: its LSH bands and its figures."""
    rows = len(signature_) // BANDS
    bands = [f"b{i}:" + "".join(f"{int(v):x}." for v in signature_[i * rows : (i + 1) * rows]) for i in range(BANDS)]
    return bands + sorted({f"f:{m.low:g}-{m.high:g}" for m in figures})


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Estimated Jaccard similarity of two signatures."""
    return float(np.count_nonzero(a == b)) / len(a)


def names(text: str) -> frozenset[str]:
    """Capitalised words not opening a sentence: a cheap stand-in for named entities."""
    return frozenset(m.group().lower() for m in _NAME.finditer(text))


def figure_key(m: TroopMention) -> tuple[float, float]:
    return (m.low, m.high)


@dataclass(slots=True)
class Report:
    """The features of one on-topic article that clustering and additions need."""

    article_id: str
    title: str
    topics: frozenset[str]
    published: datetime
    source: str
    language: str | None
    figures: list[TroopMention]
    signature: np.ndarray
    names: frozenset[str]


@dataclass(slots=True)
class StoryState:
    """What is known of an existing story."""

    id: int
    topics: set[str]
    last_seen: datetime
    sources: set[str] = field(default_factory=set)
    languages: set[str] = field(default_factory=set)
    figures: set[tuple[float, float]] = field(default_factory=set)
    members: list[tuple[np.ndarray, frozenset[str], frozenset[tuple[float, float]]]] = field(default_factory=list)


@dataclass(slots=True)
class Additions:
    """What a report brings to its story."""

    new_story: bool
    new_figures: list[TroopMention]
    new_source: bool
    new_language: bool

    @property
    def kinds(self) -> list[AlertKind]:
        """Alert kinds this report triggers: new_story, or new_report plus new_figure when it adds one."""
        first = AlertKind.NEW_STORY if self.new_story else AlertKind.NEW_REPORT
        return [first, AlertKind.NEW_FIGURE] if self.new_figures else [first]

    def to_json(self) -> dict[str, Any]:
        return {
            "new_story": self.new_story,
            "new_figures": [m.to_json() for m in self.new_figures],
            "new_source": self.new_source,
            "new_language": self.new_language,
        }


def belongs(report: Report, story: StoryState, window: timedelta) -> float:
    """How strongly `report` belongs to `story` (0 = not at all)."""
    if report.published - story.last_seen > window or story.last_seen - report.published > window:
        return 0.0
    best = 0.0
    shares_topic = bool(report.topics & story.topics)
    report_figures = {figure_key(m) for m in report.figures}
    for sig, member_names, member_figures in story.members:
        jaccard = similarity(report.signature, sig)
        if jaccard >= NEAR_DUPLICATE:
            best = max(best, 1.0 + jaccard)
        elif shares_topic and jaccard >= RELATED_TEXT:
            best = max(best, jaccard)
        elif shares_topic and report_figures & member_figures and len(report.names & member_names) >= 2:
            best = max(best, RELATED_TEXT)
    return best


def choose_story(report: Report, stories: list[StoryState], window: timedelta) -> StoryState | None:
    """The story the report joins (the strongest match), or None for a new story."""
    scored = [(belongs(report, s, window), s) for s in stories]
    scored = [(score, s) for score, s in scored if score > 0]
    return max(scored, key=lambda pair: pair[0])[1] if scored else None


def additions(report: Report, story: StoryState | None) -> Additions:
    """What the report adds: figures not yet in the story, a new outlet, a new language."""
    if story is None:
        return Additions(True, list(report.figures), True, True)
    new_figures = [m for m in report.figures if figure_key(m) not in story.figures]
    return Additions(
        new_story=False,
        new_figures=new_figures,
        new_source=report.source not in story.sources,
        new_language=bool(report.language) and report.language not in story.languages,
    )


def absorb(story: StoryState, report: Report, max_members: int) -> None:
    """Update a story's state with a report that joined it (keeping its latest `max_members` for comparison)."""
    story.topics |= report.topics
    story.last_seen = max(story.last_seen, report.published)
    story.sources.add(report.source)
    if report.language:
        story.languages.add(report.language)
    figures = frozenset(figure_key(m) for m in report.figures)
    story.figures |= figures
    story.members.append((report.signature, report.names, figures))
    del story.members[:-max_members]
