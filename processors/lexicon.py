"""Fast multi-term matching (Aho-Corasick) with word boundaries, wildcards and case rules.

Term syntax: "word" matches on word boundaries; "stem*" allows any ending; "*stem" any start
(compounds); a "*" inside a multi-word term ("sojusz* północnoatlantyck*") works too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import ahocorasick

Case = Literal["ignore", "capitalized", "exact"]

_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)


_SPACES = str.maketrans({c: " " for c in map(chr, range(0x3001)) if c.isspace() and c != " "})


def fold(text: str) -> str:
    """Lower-case `text` keeping its length (so offsets stay valid), with every space made ' '."""
    lowered = text.lower()
    if len(lowered) != len(text):  # a few characters (e.g. 'İ') lower-case to two
        lowered = "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
    return lowered.translate(_SPACES)


def mask_urls(folded: str) -> str:
    """Blank out URLs so that words inside them ("/nato-summit/") never count."""
    if "http" not in folded and "www." not in folded:
        return folded
    return _URL.sub(lambda m: " " * len(m.group()), folded)


def _is_word(c: str) -> bool:
    return c.isalnum()


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
        for key, terms in grouped.items():
            self._automaton.add_word(key, (len(key), tuple(terms)))
        self._empty = not grouped
        if not self._empty:
            self._automaton.make_automaton()

    def find(self, text: str, folded: str) -> list[Hit]:
        """All term hits in `text` (`folded` is fold(text), possibly with URLs masked), in order."""
        hits: list[Hit] = []
        if not self._empty:
            n = len(folded)
            for end_index, (length, terms) in self._automaton.iter(folded):
                start = end_index - length + 1
                end = end_index + 1
                for term in terms:
                    s, e = start, end
                    if term.prefix:
                        while s > 0 and _is_word(folded[s - 1]):
                            s -= 1
                    elif s > 0 and _is_word(folded[s - 1]):
                        continue
                    if term.suffix:
                        while e < n and _is_word(folded[e]):
                            e += 1
                    elif e < n and _is_word(folded[e]):
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
