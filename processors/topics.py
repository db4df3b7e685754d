"""Topic detection: term hits minus exclusions, plus EMM-style proximity combinations."""

from __future__ import annotations

import bisect
import re

from newsvigil.processors.lexicon import Hit
from newsvigil.processors.rules import RuleSet, Topic

_WORD = re.compile(r"\w+")
_CONTEXT = 120  # characters either side of a term hit that exclusion patterns may read


def find_topics(
    text: str,
    masked: str,
    lang: str | None,
    rules: RuleSet,
    hits: tuple[list[Hit], list[Hit]] | None = None,
) -> list[str]:
    """Names of the topics `text` is about (`masked` = fold(text) with URLs blanked), in rule order.
    `hits`: rules.terms' and rules.near_terms' hits in the text when the caller has them already."""
    term_hits, near_hits = hits if hits is not None else (rules.terms.find(text, masked), None)
    if not term_hits and near_hits is not None and not near_hits:
        return []  # no term of any topic: most texts
    by_topic: dict[str, list[Hit]] = {}
    for hit in term_hits:
        by_topic.setdefault(hit.label, []).append(hit)
    found = {name for name, found_hits in by_topic.items() if _surviving(text, lang, rules.topics[name], found_hits)}
    if any(t.proximities for name, t in rules.topics.items() if name not in found):
        near = near_hits if near_hits is not None else rules.near_terms.find(text, masked)
        found |= _proximity_topics(masked, near, rules, found)
    return [name for name in rules.topics if name in found]


def _surviving(text: str, lang: str | None, topic: Topic, hits: list[Hit]) -> bool:
    exclusions = [x for x in topic.exclusions if not x.langs or lang in x.langs]
    if not exclusions:
        return True
    for hit in hits:
        # Exclusions only look at the hit's surroundings: the cost stays per hit, not per text.
        lo, hi = max(0, hit.start - _CONTEXT), min(len(text), hit.end + _CONTEXT)
        window = text[lo:hi]
        if not any(
            m.start() <= hit.start and hit.end <= m.end()
            for x in exclusions
            if x.may_match(window)
            for m in x.finditer(text, lo, hi)
        ):
            return True
    return False


def _proximity_topics(masked: str, hits: list[Hit], rules: RuleSet, already: set[str]) -> set[str]:
    if not hits:
        return set()
    word_starts = [m.start() for m in _WORD.finditer(masked)]
    positions: dict[tuple[str, int], dict[int, list[int]]] = {}
    for hit in hits:
        topic, index, group = hit.label.split("/")
        if topic in already:
            continue
        word = bisect.bisect_right(word_starts, hit.start) - 1
        positions.setdefault((topic, int(index)), {}).setdefault(int(group), []).append(word)
    found: set[str] = set()
    for (topic, number), groups in positions.items():
        rule = rules.topics[topic].proximities[number]
        if len(groups) < rule.groups:
            continue
        first = groups[0]
        if any(
            all(any(abs(w - anchor) <= rule.words for w in groups[g]) for g in range(1, rule.groups))
            for anchor in first
        ):
            found.add(topic)
    return found
