"""Story clustering and what a report adds: pure functions over plain records.

A report joins a story when it is a near duplicate (syndicated copy with light edits) or a
related report (a shared topic plus similar text, or a shared figure and shared names) of one of
the story's reports within the window; otherwise it opens a new story. Text similarity is the
MinHash estimate (datasketch's, computed here) of the Jaccard similarity of word shingles.

Reports in different languages share no words: a report and a member in another language are
related when, with a shared topic, they give the same figure (within approximation) about the same
place from the same actor (see `same_event_figure`).
"""

from __future__ import annotations

import hashlib
import itertools
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import numpy as np

from newsvigil.processors.figures import same_figure
from newsvigil.records import AlertKind, TroopMention

NUM_PERM = 64
NEAR_DUPLICATE = 0.6  # Jaccard above which two reports are copies of one another
RELATED_TEXT = 0.2  # Jaccard above which two reports on a shared topic are related
# How strongly a report belongs with a member in another language giving the same figure, place and
# actor: above any merely related text (a report matching both chooses the event, not the wording),
# below a near duplicate.
CROSS_LANGUAGE = NEAR_DUPLICATE
_WORD = re.compile(r"\w+")
_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-ZÀ-ÖØ-ÞĄĆĘŁŃÓŚŹŻ][\w-]{2,}")


# Universal hashing modulo the Mersenne prime 2^61 - 1 over SHA-1's first 4 bytes, with the
# permutations datasketch's MinHash(num_perm=NUM_PERM, seed=7) draws: the same hash values as
# `MinHash.update_batch` (a test compares them), without building a MinHash per report.
_MERSENNE = np.uint64((1 << 61) - 1)
_MAX_HASH = np.uint64((1 << 32) - 1)
_SHIFT = np.uint64(61)
_SEED = 7
_permutations: tuple[np.ndarray, np.ndarray] | None = None
_shingle_hashes: dict[str, int] = {}  # shingles recur across reports: SHA-1 once each (bounded below)
_MAX_CACHED = 200_000


def _draw_permutations() -> tuple[np.ndarray, np.ndarray]:
    """The (a, b) pairs of MinHash(num_perm=NUM_PERM, seed=7), drawn the way datasketch draws them."""
    gen = np.random.RandomState(_SEED)
    pairs = [
        (gen.randint(1, _MERSENNE, dtype=np.uint64), gen.randint(0, _MERSENNE, dtype=np.uint64))
        for _ in range(NUM_PERM)
    ]
    a, b = np.array(pairs, dtype=np.uint64).T
    return a, b


def _hash32(shingle: str) -> int:
    """datasketch's sha1_hash32: the first 4 bytes of the SHA-1 digest, little-endian."""
    value = _shingle_hashes.get(shingle)
    if value is None:
        if len(_shingle_hashes) >= _MAX_CACHED:
            _shingle_hashes.clear()
        value = _shingle_hashes[shingle] = int.from_bytes(hashlib.sha1(shingle.encode()).digest()[:4], "little")
    return value


def signature(text: str) -> np.ndarray:
    """MinHash of the text's word unigrams and bigrams (lower-cased)."""
    global _permutations
    if _permutations is None:
        _permutations = _draw_permutations()
    a, b = _permutations
    words = [w.lower() for w in _WORD.findall(text)]
    shingles = set(words) | {f"{x} {y}" for x, y in itertools.pairwise(words)}
    hashes = np.fromiter(map(_hash32, shingles or [""]), dtype=np.uint64, count=len(shingles) or 1)
    products = hashes[:, None] * a + b  # wraps modulo 2^64, as datasketch's does
    # x mod (2^61 - 1) without a division: 2^61 = 1 there, so fold the top 3 bits onto the rest
    folded = (products & _MERSENNE) + (products >> _SHIFT)
    folded = np.where(folded >= _MERSENNE, folded - _MERSENNE, folded)
    minimum: np.ndarray = (folded & _MAX_HASH).min(axis=0)
    return minimum


BANDS = 32  # LSH: 32 bands of 2 rows find pairs from about 0.2 Jaccard up (threshold (1/32)^(1/2))


def lookup_keys(signature_: np.ndarray, figures: list[TroopMention]) -> list[str]:
    """Index keys under which a report is found again: its LSH bands and its figures."""
    rows = len(signature_) // BANDS
    values = signature_.tolist()  # Python ints: formatting numpy scalars costs more
    # band i: "b<i>:" then its `rows` values in hex, each followed by "." (one format per band)
    band = "b%d:" + "%x." * rows
    bands = [
        band % group
        for group in zip(range(BANDS), *(values[j : rows * BANDS : rows] for j in range(rows)), strict=True)
    ]
    figure_keys = {f"f:{m.low:g}-{m.high:g}" for m in figures}
    # a figure's place and actor: how a report in another language (no shared band, maybe a
    # rounded figure) finds the story of the same deployment
    place_keys = {f"p:{m.place}:{m.actor}" for m in figures if m.place and m.actor}
    return bands + sorted(figure_keys | place_keys)


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Estimated Jaccard similarity of two signatures."""
    return float(np.count_nonzero(a == b)) / len(a)


def names(text: str) -> frozenset[str]:
    """Capitalised words not opening a sentence: a cheap stand-in for named entities."""
    return frozenset(m.group().lower() for m in _NAME.finditer(text))


def figure_key(m: TroopMention) -> tuple[float, float]:
    return (m.low, m.high)


class FigureMark(NamedTuple):
    """A figure as cross-language matching compares it: its range, whether it is approximate, its
    place and actor (None when unknown)."""

    low: float
    high: float
    approx: bool
    place: str | None
    actor: str | None


def figure_mark(m: TroopMention) -> FigureMark:
    return FigureMark(m.low, m.high, bool(m.approx), m.place, m.actor)


def same_event_figure(a: FigureMark, b: FigureMark) -> bool:
    """The same figure about the same place from the same actor, place and actor known in both."""
    return bool(a.place and a.actor) and a.place == b.place and a.actor == b.actor and same_figure(a, b)


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


@dataclass(frozen=True, slots=True)
class Member:
    """One of a story's latest reports as a newcomer is compared with it."""

    signature: np.ndarray
    names: frozenset[str]
    figures: frozenset[tuple[float, float]]
    language: str | None = None
    marks: frozenset[FigureMark] = frozenset()  # figures with a known place and actor


def member_of(report: Report) -> Member:
    """The report as a member of its story."""
    return Member(
        report.signature,
        report.names,
        frozenset(figure_key(m) for m in report.figures),
        report.language,
        frozenset(figure_mark(m) for m in report.figures if m.place and m.actor),
    )


@dataclass(slots=True)
class StoryState:
    """What is known of an existing story."""

    id: int
    topics: set[str]
    last_seen: datetime
    sources: set[str] = field(default_factory=set)
    languages: set[str] = field(default_factory=set)
    figures: set[tuple[float, float]] = field(default_factory=set)
    members: list[Member] = field(default_factory=list)
    signatures: np.ndarray | None = field(default=None, compare=False, repr=False)  # see member_signatures


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
    if not _open_to(report, story, window):
        return 0.0
    jaccards = np.count_nonzero(member_signatures(story) == report.signature, axis=1) / len(report.signature)
    return _strength(report, story, float(jaccards.max()))


def _open_to(report: Report, story: StoryState, window: timedelta) -> bool:
    """The story has members and was last seen within the window of the report."""
    gap = report.published - story.last_seen
    return bool(story.members) and -window <= gap <= window


@dataclass(frozen=True, slots=True)
class _Cues:
    """What of a report `_strength` compares with the members of each story: read once per report."""

    marks: list[FigureMark]  # figures with a known place and actor
    figures: set[tuple[float, float]]


def _cues(report: Report) -> _Cues:
    return _Cues(
        [figure_mark(m) for m in report.figures if m.place and m.actor], {figure_key(m) for m in report.figures}
    )


def _strength(report: Report, story: StoryState, closest: float, cues: _Cues | None = None) -> float:
    """How strongly `report` belongs to an open `story` whose closest member text has Jaccard `closest`.

    The strongest of its members: a near duplicate (1 + Jaccard) above a report in another language
    on the same event (CROSS_LANGUAGE) above related text (the Jaccard) above shared figures and names
    (RELATED_TEXT).
    """
    if closest >= NEAR_DUPLICATE:
        return 1.0 + closest
    if report.topics.isdisjoint(story.topics):
        return 0.0
    cues = cues or _cues(report)
    if cues.marks and any(_same_event_across_languages(report, cues.marks, m) for m in story.members):
        return CROSS_LANGUAGE
    if closest >= RELATED_TEXT:
        return closest
    figures = cues.figures
    if figures and any(not figures.isdisjoint(m.figures) and len(report.names & m.names) >= 2 for m in story.members):
        return RELATED_TEXT
    return 0.0


def member_signatures(story: StoryState) -> np.ndarray:
    """The signatures of a story's members as the rows of one array (kept, and followed by `absorb`)."""
    if story.signatures is None or len(story.signatures) != len(story.members):
        story.signatures = np.stack([m.signature for m in story.members])
    return story.signatures


def _same_event_across_languages(report: Report, report_marks: list[FigureMark], member: Member) -> bool:
    """A report and a member in different languages giving one figure about one place from one actor."""
    if not (report_marks and member.marks and report.language and member.language):
        return False
    if report.language == member.language:
        return False  # same language: the text says whether they are related
    return any(same_event_figure(a, b) for a in report_marks for b in member.marks)


def choose_story(report: Report, stories: list[StoryState], window: timedelta) -> StoryState | None:
    """The story the report joins (the strongest match, the first of equals), or None for a new story."""
    # the stories open to the report (`_open_to`, inlined: this runs for every story and every report)
    earliest, latest = report.published - window, report.published + window
    candidates = [s for s in stories if s.members and earliest <= s.last_seen <= latest]
    if not candidates:
        return None
    # every candidate's members compared at once; a story's closest member is the maximum of its rows
    # (a few stories of some hundred members: numpy's per-call cost outweighs its work, hence Python
    # ints for the row offsets and the Jaccards, the same float64 divisions)
    matrices = [member_signatures(s) for s in candidates]
    starts = list(itertools.accumulate((len(m) for m in matrices[:-1]), initial=0))
    same = (np.concatenate(matrices) == report.signature).sum(axis=1)  # count_nonzero(axis=1), without its wrapper
    size = len(report.signature)
    closest = [n / size for n in np.maximum.reduceat(same, starts).tolist()]
    nearest = max(closest)
    if nearest >= NEAR_DUPLICATE:
        # a near duplicate (1 + Jaccard) outranks every other match: the closest one, the first of equals
        return candidates[closest.index(nearest)]
    cues = _cues(report)
    scored = [(_strength(report, s, c, cues), s) for s, c in zip(candidates, closest, strict=True)]
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
    member = member_of(report)
    story.figures |= member.figures
    story.members.append(member)
    del story.members[:-max_members]
    if story.signatures is not None:
        # the members' matrix follows them (the newcomer's row in, the oldest out): stacking it again
        # for every report that joins cost more than the comparisons
        story.signatures = np.concatenate((story.signatures, member.signature[None]))[-max_members:]
