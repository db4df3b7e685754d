"""Fast multi-term matching (Aho-Corasick) with word boundaries, wildcards and case rules.

Term syntax: "word" matches on word boundaries; "stem*" allows any ending; "*stem" any start
(compounds); a "*" inside a multi-word term ("sojusz* północnoatlantyck*") works too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, TypeAlias

import ahocorasick

Case = Literal["ignore", "capitalized", "exact"]

_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)


# Every space but ' ' itself (tab, line break, no-break and thin spaces...): fold makes each one ' '.
_OTHER_SPACES = tuple(c for c in map(chr, range(0x3001)) if c.isspace() and c != " ")


def fold(text: str) -> str:
    """Lower-case `text` keeping its length (so offsets stay valid), with every space made ' '."""
    lowered = text.lower()
    if len(lowered) != len(text):  # a few characters (e.g. 'İ') lower-case to two
        lowered = "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
    # One replace per kind of space the text holds: each is a scan in C, where str.translate with a
    # mapping looks every character up in a dict (most of fold's cost on non-ASCII text).
    for space in _OTHER_SPACES:
        if space in lowered:
            lowered = lowered.replace(space, " ")
    return lowered


def mask_urls(folded: str) -> str:
    """Blank out URLs so that words inside them ("/nato-summit/") never count."""
    if "http" not in folded and "www." not in folded:
        return folded
    return _URL.sub(lambda m: " " * len(m.group()), folded)


@dataclass(frozen=True, slots=True)
class Term:
    key: str  # folded text without wildcards
    label: str
    prefix: bool
    suffix: bool
    case: Case
    original: str


@dataclass(frozen=True, slots=True)
class Hit:
    start: int
    end: int
    label: str
    term: Term


# What the automaton reports: the index of a match's last character, and (key length, its terms).
_Match: TypeAlias = tuple[int, tuple[int, tuple[Term, ...]]]


class Lexicon:
    """A set of labelled terms, found in a text in one pass."""

    def __init__(self, entries: Iterable[tuple[str, str, Case]]) -> None:
        self._automaton = ahocorasick.Automaton()
        self._patterns: list[tuple[re.Pattern[str], Term, str]] = []
        grouped: dict[str, list[Term]] = {}
        for written, label, case in entries:
            raw = " ".join(written.split())
            if not raw.strip("*"):
                continue
            inner = raw.strip("*")
            term = Term(
                key=fold(inner),
                label=label,
                prefix=raw.startswith("*"),
                suffix=raw.endswith("*"),
                case=case,
                original=inner,
            )
            if "*" in inner:
                # The longest literal part must occur for the pattern to match: a cheap test first.
                anchor = max(term.key.split("*"), key=len).strip()
                self._patterns.append((_wildcard_pattern(term), term, anchor))
            else:
                grouped.setdefault(term.key, []).append(term)
        self._keys = {key: (len(key), tuple(terms)) for key, terms in grouped.items()}
        for key, value in self._keys.items():
            self._automaton.add_word(key, value)
        self._empty = not grouped
        if not self._empty:
            self._automaton.make_automaton()

    def find(self, text: str, folded: str) -> list[Hit]:
        """All term hits in `text` (`folded` is fold(text), possibly with URLs masked), in order."""
        return self._hits(text, folded, () if self._empty else self._automaton.iter(folded))

    def _hits(self, text: str, folded: str, matches: Iterable[_Match]) -> list[Hit]:
        """The hits of the automaton's `matches` in `folded` that are on word boundaries and of the
        right case, then those of the wildcard terms."""
        hits: list[Hit] = []
        if not self._empty:
            n = len(folded)
            for end_index, (length, terms) in matches:
                start = end_index - length + 1
                end = end_index + 1
                for term in terms:
                    s, e = start, end
                    if term.prefix:
                        while s > 0 and folded[s - 1].isalnum():
                            s -= 1
                    elif s > 0 and folded[s - 1].isalnum():
                        continue
                    if term.suffix:
                        while e < n and folded[e].isalnum():
                            e += 1
                    elif e < n and folded[e].isalnum():
                        continue
                    if not _case_ok(term, text, start, end):
                        continue
                    hits.append(Hit(s, e, term.label, term))
        for pattern, term, anchor in self._patterns:
            if anchor not in folded:
                continue
            for m in pattern.finditer(folded):
                if _case_ok(term, text, m.start(), m.end()):
                    hits.append(Hit(m.start(), m.end(), term.label, term))
        if self._patterns:
            hits.sort(key=lambda h: (h.start, -h.end))
        return hits


class LexiconScan:
    """Several lexicons read in one pass over a text: scan(text, folded)[i] is exactly
    lexicons[i].find(text, folded) (the automaton reports the terms that end at a character
    longest first, whichever lexicons they belong to), for the cost of one."""

    def __init__(self, lexicons: Sequence[Lexicon]) -> None:
        self._lexicons = tuple(lexicons)
        self._automaton = ahocorasick.Automaton()
        owners: dict[str, list[tuple[int, tuple[int, tuple[Term, ...]]]]] = {}
        for i, lexicon in enumerate(self._lexicons):
            for key, value in lexicon._keys.items():
                owners.setdefault(key, []).append((i, value))
        # The anchors of wildcard terms are sought in the same pass (reported under index
        # len(lexicons) + i): a lexicon whose keys and anchors are all absent has no hits, and
        # _hits need not run to test its anchors one by one.
        n = len(self._lexicons)
        for i, lexicon in enumerate(self._lexicons):
            for _, _, anchor in lexicon._patterns:
                if anchor:
                    owners.setdefault(anchor, []).append((n + i, (len(anchor), ())))
        self._anchorless = tuple(any(not anchor for _, _, anchor in lexicon._patterns) for lexicon in self._lexicons)
        for key, values in owners.items():
            self._automaton.add_word(key, tuple(values))
        self._empty = not owners
        if not self._empty:
            self._automaton.make_automaton()

    def scan(self, text: str, folded: str) -> list[list[Hit]]:
        """Each lexicon's hits in `text` (`folded` is fold(text), possibly with URLs masked)."""
        n = len(self._lexicons)
        matches: list[list[_Match]] = [[] for _ in range(2 * n)]
        if not self._empty:
            for end_index, values in self._automaton.iter(folded):
                for i, value in values:
                    matches[i].append((end_index, value))
        # A lexicon without matches nor anchors of its wildcard terms has no hits: most texts, for
        # most lexicons.
        return [
            lexicon._hits(text, folded, matches[i]) if matches[i] or matches[n + i] or self._anchorless[i] else []
            for i, lexicon in enumerate(self._lexicons)
        ]


def _case_ok(term: Term, text: str, start: int, end: int) -> bool:
    if term.case == "ignore":
        return True
    if term.case == "capitalized":
        return text[start].isupper()
    return text[start:end] == term.original


def _wildcard_pattern(term: Term) -> re.Pattern[str]:
    body = r"\w*".join(re.escape(part) for part in term.key.split("*")).replace(r"\ ", r"\s+")
    left = r"\w*" if term.prefix else r"(?<!\w)"
    right = r"\w*" if term.suffix else r"(?!\w)"
    return re.compile(left + body + right)
