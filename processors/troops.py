"""Troop-number mentions: counts of military personnel, with approximation, range, actor and action.

Two steps. Reading: every unit noun of the rules ("militaires", "troops", "żołnierzy") is a place
where a number may stand, at most three words before it ("près de 1 200 militaires", "8,5 tys.
żołnierzy"); each number read there is a candidate. Deciding: one function, `judge`, keeps or drops
each candidate and names its reason (a civilian qualifier, fiction, a year, no military context for a
weak unit, a number in another phrase...), so that `newsvigil detect --explain` can show it.
Scanning starts from the unit nouns, which are rare, so the cost grows with the mentions, not the text.
A vague quantity ("thousands of troops") is reported apart, never as a figure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from newsvigil.processors.lexicon import Hit, Lexicon, fold
from newsvigil.processors.numbers import (
    APPROX_NOUNS,
    CONNECTORS,
    DIGITS,
    DIGITS_RE,
    ONE,
    ONE_BY_LANG,
    PLURAL_SCALES,
    SCALES,
    is_number_word,
    number_words_value,
    parse_digits,
)
from newsvigil.processors.places import choose_place
from newsvigil.processors.rules import TroopRules
from newsvigil.records import TroopMention, VagueMention

_TOKEN = re.compile(DIGITS + r"|[^\W\d_]+(?:['’.\-][^\W\d_]+)*\.?|\S")
_WORDS = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*", re.UNICODE)
_BREAKS = set('.!?;:()[]{},"«»“”„/|—–-‑…•')
_DECIMAL = re.compile(r"\d")
_SOFT = {"'", "’"}  # elided articles: "postes d'officiers"
_ABBREVIATIONS = {"tys.", "tsd.", "mio.", "mln.", "ok.", "ca.", "mrd.", "bln.", "nr.", "no."}
_MAX_MODIFIERS = 3
_SENTENCE_MARKS = ".!?…"
_SENTENCE_END = re.compile(r"[.!?…](?=\s)|\n")  # _SENTENCE_MARKS before a space, or a line break
_CURRENCY = ("$", "€", "£", "¥", "kr", "zł")
_YEAR_CONTEXT = re.compile(
    r"(?:\b(?:in|en|im|i|w|we|nel|nell'|el|del|since|depuis|seit|siden|desde|dal|sinds|od|until|by|bis|the|a|an|"
    r"jusqu'en|hasta|fino al|tot|do|from|de|van|von|année|year|jahr|år|año|anno|jaar|roku|rok)|[,(])\s*\Z",
    re.IGNORECASE,
)
_SCALE_ALT = "|".join(re.escape(w) for w in sorted(SCALES, key=len, reverse=True))
_RANGE = re.compile(
    r"(?:(?P<between>between|entre|zwischen|mellem|mellan|tussen|tra|fra|między|from|von|de|da|van|od)\s+)?"
    r"(?P<low>" + DIGITS + r")(?:\s*(?P<scale>" + _SCALE_ALT + r"))?"
    r"\s*(?P<conn>-|‑|–|—|to|à|a|bis|til|tot|do|au|al|y|and|et|und|og|e|en|i|och)\s*\Z",
    re.IGNORECASE,
)
_DIRECT_RANGE = {"-", "‑", "–", "—", "to", "à", "a", "bis", "til", "tot", "do", "au", "al"}
_PREVIOUS_WORD = re.compile(r"([^\W\d_]+)['’]?s?[ \t]+\Z")
_NEXT_WORD = re.compile(r"[ \t]+([^\W\d_]+)")
_AND_OTHERS = re.compile(
    r"[ \t]+(?:and|&|or|i|et|und|og|y|e|en|oraz|lub)[ \t]+([^\s,.;:]+)(?:[ \t]+([^\s,.;:]+))?", re.IGNORECASE
)
_FORMATION_BEFORE = re.compile(
    r"([^\W\d_]+(?:\s+[^\s.,;:!?]+){0,2})\s+(?:of|de|d['’]|di|à|a|af|von|z|ze|numbering|totalling|totaling)\s*\Z",
    re.IGNORECASE,
)
_FORMATION_AFTER = re.compile(
    r"\s+(?:of|from|in|into|aboard|on board|de|du|des|di|del|della|af|fra|von|vom|der|z|ze|do|na pokładzie)\s+"
    r"(?:the\s+|an?\s+|la\s+|le\s+|l['’])?([^\s.,;:!?]+(?:\s+[^\s.,;:!?]+){0,2})",
    re.IGNORECASE,
)
_OF_THEM_CHARS = 200
_PART_WORDS = {"more", "other", "additional", "extra", "fewer", "less"}  # "nine more of its soldiers"
_CLAUSE_CHARS = 80  # how far before a figure a non-state group may own it ("Wagner reportedly has up to 50,000 troops")
_AFTER_UNIT = re.compile(
    r"[ \t]+(?:(?:of|from|with|de|du|des|der|von|vom|af|fra|van|di|del|della|dei|z|ze)\s+(?:the\s+|la\s+|le\s+|l['’])?)?(\S+)"
)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A number read before (or after) a unit noun, not yet judged."""

    mention: TroopMention
    kind: str  # "unit", "weak" (needs a military context), "person" (needs a military noun phrase), "strength", "count", "of them"
    number: str  # the number as written
    between: str  # the words between the number and the unit
    unit_start: int
    unit_end: int
    magnitude: int | None = None  # set for a vague quantity ("thousands of")
    sentence: tuple[int, int] | None = None  # _sentence(text, mention.start, mention.end), when already known


@dataclass(frozen=True, slots=True)
class Verdict:
    """What `judge` decided about a candidate, and why."""

    candidate: Candidate
    kept: bool
    reason: str

    def to_json(self) -> dict[str, Any]:
        m = self.candidate.mention
        figure = (
            {"magnitude": self.candidate.magnitude} if self.candidate.magnitude else {"value": m.to_json()["value"]}
        )
        return {"quote": m.quote, **figure, "unit": m.unit, "kept": self.kept, "reason": self.reason}


@dataclass(slots=True)
class TroopScan:
    """Figures, vague quantities and, for --explain, every verdict, in text order."""

    troops: list[TroopMention] = field(default_factory=list)
    vague: list[VagueMention] = field(default_factory=list)
    verdicts: list[Verdict] = field(default_factory=list)


def scan_troops(
    text: str, folded: str, lang: str | None, rules: TroopRules, unit_hits: list[Hit] | None = None
) -> TroopScan:
    """Read every candidate of `text` (`folded` = fold(text)) and judge it: figures, one per distinct
    figure, and vague quantities, in text order. `unit_hits`: rules.units' hits in the text when the
    caller has them already."""
    covered_until = -1
    candidates: list[Candidate] = []
    for hit in rules.units.find(text, folded) if unit_hits is None else unit_hits:
        if hit.start < covered_until:
            continue  # "military personnel" already took "personnel"
        covered_until = hit.end
        vague = _vague_before_unit(text, lang, rules, hit)
        if vague is not None:
            candidates.append(vague)
            continue
        candidates += _candidates_before_unit(text, folded, lang, rules, hit) or _count_after_unit(
            text, folded, rules, hit
        )
    if ("-" in text or "‑" in text or "–" in text) and rules.strength_cue.search(text):
        candidates += [c for m in rules.strength.finditer(text) if (c := _strength_candidate(text, folded, rules, m))]
    if not candidates:
        return TroopScan()  # no unit noun with a figure: most texts
    candidates += _of_them_candidates(text, lang, rules, candidates)
    scan = TroopScan()
    seen: set[tuple[float, float, float]] = set()
    seen_vague: set[tuple[int, str]] = set()
    figures: list[Candidate] = []
    for candidate in candidates:
        verdict = judge(text, folded, lang, rules, candidate)
        scan.verdicts.append(verdict)
        if not verdict.kept:
            continue
        m = candidate.mention
        if candidate.magnitude is not None:
            if (candidate.magnitude, m.unit.lower()) not in seen_vague:  # the title and summary often repeat it
                seen_vague.add((candidate.magnitude, m.unit.lower()))
                scan.vague.append(VagueMention(candidate.magnitude, m.unit, m.quote, m.start, m.end))
        else:
            figures.append(candidate)
    # In text order: a figure said twice is reported once, at its first mention, with the first
    # place either mention's sentence names ("US to withdraw 1,200 troops. The 1,200 troops will leave Germany").
    figures.sort(key=lambda c: c.mention.start)
    first: dict[tuple[float, float, float], TroopMention] = {}
    previous: TroopMention | None = None
    for candidate in figures:
        m = candidate.mention
        if candidate.kind == "of them" and previous is not None and previous.place is not None:
            m.place, m.place_name = previous.place, previous.place_name  # "10,000 of them" are where the 12,000 are
        _place(text, folded, lang, rules, candidate)
        previous = m
        key = (m.value, m.low, m.high)
        if key not in seen:
            seen.add(key)
            first[key] = m
            scan.troops.append(m)
        elif first[key].place is None and m.place is not None:
            first[key].place, first[key].place_name = m.place, m.place_name
    scan.vague.sort(key=lambda x: x.start)
    scan.verdicts.sort(key=lambda v: v.candidate.mention.start)
    return scan


def _place(text: str, folded: str, lang: str | None, rules: TroopRules, candidate: Candidate) -> None:
    """Set the candidate's place: the one its sentence names for it (places.choose_place), if any."""
    mention = candidate.mention
    if mention.place is not None:
        return
    found = choose_place(
        text, folded, lang, rules.places, _sentence_of(text, candidate), (mention.start, mention.end), mention.action
    )
    if found is not None:
        mention.place, mention.place_name = found


def find_troops(text: str, folded: str, lang: str | None, rules: TroopRules) -> list[TroopMention]:
    """All troop mentions in `text` (`folded` = fold(text)), one per distinct figure, in text order."""
    return scan_troops(text, folded, lang, rules).troops


def judge(text: str, folded: str, lang: str | None, rules: TroopRules, candidate: Candidate) -> Verdict:
    """Keep or drop a candidate, with the reason: the one decision of the troop finder."""
    m = candidate.mention
    between_words = [w.lower() for w in _WORDS.findall(candidate.between)]
    breaking = next((w for w in between_words if w in rules.phrase_breaks), None)
    if breaking:
        return Verdict(candidate, False, f"number in another phrase ('{breaking}' parts it from the unit)")
    if "of" in between_words[1:] and between_words[between_words.index("of") - 1] not in _PART_WORDS:
        return Verdict(
            candidate, False, f"the number counts '{between_words[between_words.index('of') - 1]}', not '{m.unit}'"
        )
    counted = next((w for w in between_words if w.endswith(rules.counted_noun_endings.get(lang or "", ()))), None)
    if counted:
        return Verdict(candidate, False, f"the number counts '{counted}', not '{m.unit}'")
    lo = candidate.unit_start - len(candidate.between)
    blockers = (
        rules.blockers.find(candidate.between, folded[lo : candidate.unit_start]) if candidate.between.strip() else []
    )
    if blockers:
        return Verdict(
            candidate, False, f"counts something else ('{text[lo + blockers[0].start : lo + blockers[0].end]}')"
        )
    qualifier = _civilian_qualifier(text, folded, lang, rules, candidate)
    if qualifier:
        return Verdict(candidate, False, f"civilian qualifier '{qualifier}'")
    modified = _next_word_hit(text, folded, rules.unit_modifies, candidate.unit_end)
    if modified:
        return Verdict(candidate, False, f"'{m.unit}' describes '{modified}', it counts nothing")
    others = _counted_with_others(text, folded, rules, candidate)
    if others:
        return Verdict(candidate, False, f"soldiers counted together with others ('{others}')")
    if candidate.kind in ("unit", "weak") and candidate.magnitude is None:
        not_count = _not_a_count(text, m.start, rules, candidate)
        if not_count:
            return Verdict(candidate, False, not_count)
    s, e = _sentence_of(text, candidate)
    group = _non_state_owner(text, folded, rules, s, m.start)
    if group:
        return Verdict(candidate, False, f"fighters of a non-state group ('{group}')")
    fiction = rules.fiction.find(text[s:e], folded[s:e])
    if fiction:
        return Verdict(candidate, False, f"fiction or game ('{text[s + fiction[0].start : s + fiction[0].end]}')")
    if candidate.kind == "person":
        context = _formation_of_persons(text, folded, rules, candidate)
        if context is None:
            return Verdict(candidate, False, f"'{m.unit}' not in a military noun phrase")
        return Verdict(candidate, True, f"'{m.unit}' of a military formation ('{context}')")
    if candidate.kind == "weak":
        civilian = _called_civilian_elsewhere(text, folded, rules, m.unit)
        if civilian:
            return Verdict(candidate, False, f"'{m.unit}' are called '{civilian}' in the text")
        context = _military_context(text, folded, rules, s, e, candidate)
        if context is None:
            return Verdict(candidate, False, f"'{m.unit}' without a military context")
        return Verdict(candidate, True, f"'{m.unit}' in a military context ('{context}')")
    if candidate.magnitude is not None:
        return Verdict(candidate, True, f"vague quantity of '{m.unit}', about {candidate.magnitude:,}s")
    return Verdict(
        candidate, True, f"{candidate.kind} '{m.unit}'" if candidate.kind != "unit" else f"military unit '{m.unit}'"
    )


def _civilian_qualifier(
    text: str, folded: str, lang: str | None, rules: TroopRules, candidate: Candidate
) -> str | None:
    """A civilian word in the noun phrase: 'ICE officers', 'officiers de police', 'oficerów policji'."""
    lo = candidate.unit_start - len(candidate.between)
    hits = rules.civilian.find(text[lo : candidate.unit_end], folded[lo : candidate.unit_end])
    if hits:
        return text[lo + hits[0].start : lo + hits[0].end]
    after = _AFTER_UNIT.match(text, candidate.unit_end)
    if after and (
        after.group(0).split()[0] != after.group(1) or lang == "pl"
    ):  # a bare next word qualifies only in Polish ("oficerów policji")
        s, e = after.span(1)
        word = rules.civilian.find(text[s:e], folded[s:e])
        if word:
            return text[s + word[0].start : s + word[0].end]
    return None


def _next_word_hit(text: str, folded: str, lexicon: Lexicon, at: int) -> str | None:
    """The word right after `at`, when `lexicon` has it."""
    m = _NEXT_WORD.match(text, at)
    if not m:
        return None
    hits = lexicon.find(text[m.start(1) : m.end(1)], folded[m.start(1) : m.end(1)])
    return m.group(1) if hits else None


def _counted_with_others(text: str, folded: str, rules: TroopRules, candidate: Candidate) -> str | None:
    """'8,000 soldiers and police officers', '200 troops, officials': one count of soldiers and others."""
    if candidate.kind not in ("unit", "weak", "person"):
        return None
    m = _AND_OTHERS.match(text, candidate.unit_end)
    if not m or _numberish(m.group(1)):
        return None  # "7,000 soldiers and 1,000 police": two counts
    for group in (1, 2):
        word = m.group(group)
        if word and (
            rules.civilian.find(word, fold(word))
            or any(h.label == "person" for h in rules.units.find(word, fold(word)))
        ):
            return word
    return None


def _formation_of_persons(text: str, folded: str, rules: TroopRules, candidate: Candidate) -> str | None:
    """The military word a count of persons belongs to: 'une force de 1 200 hommes', 'un esercito di
    300.000 uomini', 'men of the 82nd Airborne' (not 'two men were killed by troops')."""
    start = candidate.mention.start
    before = _FORMATION_BEFORE.search(text, max(0, start - 60), start)
    after = _FORMATION_AFTER.match(text, candidate.unit_end)
    for m in (before, after):
        if m:
            s, e = m.span(1)
            hits = (
                rules.military_context.find(text[s:e], folded[s:e])
                + rules.formations.find(text[s:e], folded[s:e])
                + [h for h in rules.units.find(text[s:e], folded[s:e]) if h.label == "unit"]
            )
            if hits:
                return text[s + hits[0].start : s + hits[0].end]
    return None


def _called_civilian_elsewhere(text: str, folded: str, rules: TroopRules, unit: str) -> str | None:
    """'5 former Memphis officers ... the five former police officers': the text names them civilian."""
    unit_key = fold(unit)
    for hit in rules.civilian.find(text, folded):  # news items are short: the whole item
        after = _NEXT_WORD.match(folded, hit.end)
        if after and after.group(1) == unit_key:
            return text[hit.start : after.end(1)]
    return None


def _non_state_owner(text: str, folded: str, rules: TroopRules, s: int, start: int) -> str | None:
    """'Wagner reportedly has up to 50,000 troops', "Wagner's 25,000 fighters": a non-state group that
    owns the figure (its name, then a verb of having or sending, in the figure's clause)."""
    clause = max(
        s,
        start - _CLAUSE_CHARS,
        text.rfind(":", s, start) + 1,
        text.rfind(";", s, start) + 1,
        text.rfind(",", s, start) + 1,
    )
    groups = rules.non_state.find(text[clause:start], folded[clause:start])
    if not groups:
        return None
    last = groups[-1]
    between = text[clause + last.end : start]
    words = [w.lower() for w in _WORDS.findall(between)]
    while words and words[-1] in rules.approx_words:
        words.pop()  # "has up to 50,000 troops"
    if between.startswith(("'s", "’s")) or (words and words[-1] in rules.non_state_verbs):
        return text[clause + last.start : clause + last.end]
    return None


def _not_a_count(text: str, start: int, rules: TroopRules, candidate: Candidate) -> str | None:
    """Money, or a year ('2027 personnel changes', 'the 1998 soldier case'): the number counts nothing."""
    number = candidate.number
    before = text[max(0, start - 4) : start].rstrip()
    if before.endswith(_CURRENCY) or text[:start].rstrip().endswith(_CURRENCY):
        return "money"
    if number.isdigit() and len(number) == 4 and 1900 <= int(number) <= 2100 and not candidate.mention.approx:
        number_start = text.rfind(number, 0, candidate.unit_start)
        singular = candidate.mention.unit.lower() in rules.singular_units
        if candidate.kind == "weak" or singular or _YEAR_CONTEXT.search(text, max(0, number_start - 20), number_start):
            return f"a year ({number}), not a count"
    return None


def _military_context(
    text: str, folded: str, rules: TroopRules, s: int, e: int, candidate: Candidate, title: bool = True
) -> str | None:
    """A military word in text[s:e] (the mention's sentence) or the title (news items are short: the
    title says 'army', the summary '1,200 personnel')."""
    title_end = text.find("\n")
    spans = [(s, e)]
    if title and 0 < title_end < s:
        spans.append((0, title_end))
    elif title and title_end > 0 and e <= title_end:  # a title's figure, its context in the summary's first sentence
        spans.append(_sentence(text, title_end + 1, title_end + 1))
    for lo, hi in spans:
        # A military word, or a military unit noun ("US Marines to rotate 1,000 personnel"), but not the unit itself.
        hits = rules.military_context.find(text[lo:hi], folded[lo:hi])
        hits += [h for h in rules.units.find(text[lo:hi], folded[lo:hi]) if h.label == "unit"]
        for hit in hits:
            if candidate.unit_start <= lo + hit.start < candidate.unit_end:
                continue  # the unit is not its own context
            before = _PREVIOUS_WORD.search(text, max(0, lo + hit.start - 30), lo + hit.start)
            if before and rules.civilian.find(before.group(1), fold(before.group(1))):
                continue  # "police force", "security forces", "Border Force"
            return text[lo + hit.start : lo + hit.end]
    return None


def _vague_before_unit(text: str, lang: str | None, rules: TroopRules, hit: Hit) -> Candidate | None:
    """'thousands of troops', 'des milliers de soldats', 'kilka tysięcy żołnierzy' (not 'dwa tysiące')."""
    unit_start = _unit_start(text, hit)
    window_start = max(0, unit_start - 80)
    if not rules.vague_cues.may_match(text[window_start:unit_start]):
        return None
    m = rules.vague.search(text, window_start, unit_start)
    if not m:
        return None
    tokens = list(_TOKEN.finditer(text, max(0, m.start() - 30), m.start()))
    if tokens and _numberish(tokens[-1].group(), lang):
        return None  # "dwa tysiące żołnierzy", "5 thousand": a figure
    magnitude = rules.vague_magnitudes.get(" ".join(m.group("phrase").lower().split()))
    if magnitude is None:
        return None
    quote_start = m.start()
    mention = TroopMention(
        value=magnitude,
        low=magnitude,
        high=magnitude,
        approx=True,
        unit=text[hit.start : hit.end],
        quote=text[quote_start : hit.end],
        start=quote_start,
        end=hit.end,
    )
    between = text[m.end("phrase") : unit_start]
    return Candidate(mention, hit.label, m.group("phrase"), between, unit_start, hit.end, magnitude)


def _unit_start(text: str, hit: Hit) -> int:
    unit_start = hit.start
    while unit_start > 0 and text[unit_start - 1] in "-‑" and unit_start > 1 and text[unit_start - 2].isalnum():
        unit_start -= 1  # "US-Soldaten": the compound's first part belongs to the unit
        while unit_start > 0 and text[unit_start - 1].isalnum():
            unit_start -= 1
    return unit_start


def _candidates_before_unit(text: str, folded: str, lang: str | None, rules: TroopRules, hit: Hit) -> list[Candidate]:
    """'près de 1 200 militaires'; a change 'de 80 000 à 65 000 soldats' gives both figures."""
    candidate = _candidate_before_unit(text, folded, lang, rules, hit)
    if candidate is None:
        return []
    first = _transition_start(text, candidate.mention)
    if first is None:
        return [candidate]
    return [
        Candidate(
            first, candidate.kind, first.quote.split()[0], candidate.between, candidate.unit_start, candidate.unit_end
        ),
        candidate,
    ]


def _transition_start(text: str, mention: TroopMention) -> TroopMention | None:
    """The first figure of 'from 80,000 to 65,000 soldiers' (a change, not a range)."""
    number_start = mention.start
    while number_start < mention.end and not text[number_start].isdigit():
        number_start += 1
    rng = _RANGE.search(text, max(0, number_start - 60), number_start) if _digit_before(text, number_start) else None
    if not rng or rng.group("conn").lower() not in _DIRECT_RANGE:
        return None
    first = parse_digits(rng.group("low"))
    if first is None or first <= mention.value:
        return None
    if rng.group("scale"):
        first *= SCALES[rng.group("scale").lower()]
    quote_start = rng.start("low")
    return TroopMention(
        value=first,
        low=first,
        high=first,
        approx=False,
        unit=mention.unit,
        quote=text[quote_start : mention.end],
        start=quote_start,
        end=mention.end,
        actor=mention.actor,
        action=mention.action,
    )


def _count_after_unit(text: str, folded: str, rules: TroopRules, hit: Hit) -> list[Candidate]:
    """'øger antallet af soldater i Baltikum til 30.000': a count cue, the unit, then the figure."""
    cue = rules.count_cue.search(text, max(0, hit.start - 40), hit.start)
    if not cue:
        return []
    after = rules.count_to.match(text, hit.end)
    if not after:
        return []
    value = parse_digits(after.group("number"))
    if value is not None and after.group("scale"):
        value *= SCALES[after.group("scale").lower()]
    if value is None or not value.is_integer() or value < 2:
        return []
    start, end = cue.start(), after.end()
    s, e = _sentence(text, start, end)
    actor, action = _closest_actor_and_action(rules, text, folded, s, e, start, end)
    mention = TroopMention(
        value=value,
        low=value,
        high=value,
        approx=bool(after.group("approx")),
        unit=text[hit.start : hit.end],
        quote=text[start:end],
        start=start,
        end=end,
        actor=actor,
        action=action,
    )
    return [Candidate(mention, "count", after.group("number"), "", hit.start, hit.end, sentence=(s, e))]


def _candidate_before_unit(text: str, folded: str, lang: str | None, rules: TroopRules, hit: Hit) -> Candidate | None:
    unit_start = _unit_start(text, hit)
    window_start = max(0, unit_start - 160)
    # The number is a few tokens before the unit: the window's last tokens first, all of them if need be.
    tokens = _last_tokens(text, window_start, unit_start)
    run = _number_run(text, lang, tokens, complete=False) if tokens is not None else _MORE_TOKENS
    if run is _MORE_TOKENS:
        tokens = list(_TOKEN.finditer(text, window_start, unit_start))
        run = _number_run(text, lang, tokens, complete=True)
    if run is None or tokens is None:
        return None
    j, i = run
    number_end = tokens[i].end()
    between = text[number_end:unit_start]
    if "\n" in between:
        return None
    parsed = _read_number(text, tokens[j : i + 1], lang)
    if parsed is None:
        return None
    value, quote_start, approx = parsed
    if value < 1:
        return None
    digit_tokens = [t.group() for t in tokens[j : i + 1] if DIGITS_RE.fullmatch(t.group())]
    number = digit_tokens[-1] if digit_tokens else text[tokens[j].start() : number_end]

    low = high = value
    rng = _RANGE.search(text, max(0, quote_start - 60), quote_start) if _digit_before(text, quote_start) else None
    if rng and (rng.group("conn").lower() in _DIRECT_RANGE or rng.group("between")):
        low_value = parse_digits(rng.group("low"))
        if low_value is not None:
            if rng.group("scale"):
                low_value *= SCALES[rng.group("scale").lower()]
            elif low_value < value / 999:
                low_value *= _scale_of(value, low_value)
            if low_value < value:
                low, high, value = low_value, value, low_value
                quote_start = rng.start()
    approx_start = _approx_before(text, quote_start, rules.approx)
    if approx_start is not None:
        approx, quote_start = True, approx_start

    unit_end = hit.end
    sentence_start, sentence_end = _sentence(text, quote_start, unit_end)
    actor, action = _closest_actor_and_action(rules, text, folded, sentence_start, sentence_end, quote_start, unit_end)
    mention = TroopMention(
        value=value,
        low=low,
        high=high,
        approx=approx,
        unit=text[hit.start : hit.end],
        quote=text[quote_start:unit_end],
        start=quote_start,
        end=unit_end,
        actor=actor,
        action=action,
    )
    return Candidate(mention, hit.label, number, between, unit_start, unit_end, sentence=(sentence_start, sentence_end))


_MORE_TOKENS = (-1, -1)  # _number_run's answer may depend on tokens before those it was given
_LAST_TOKENS_CHARS = 48


def _last_tokens(text: str, start: int, end: int) -> list[re.Match[str]] | None:
    """The tokens of text[start:end] (read from `start`) that begin at or after a point some
    _LAST_TOKENS_CHARS before `end`: a space not followed by a digit, which no token holds (only a
    digit group holds spaces, "1 200"), so that the tokens after it are the same whether reading
    begins there or at `start`. None when there is no such point after `start`."""
    for at in range(max(start + 1, end - _LAST_TOKENS_CHARS), end):
        if text[at - 1].isspace() and not text[at].isdecimal():
            return list(_TOKEN.finditer(text, at, end))
    return None


def _number_run(text: str, lang: str | None, tokens: list[re.Match[str]], complete: bool) -> tuple[int, int] | None:
    """(j, i): tokens[j : i + 1] are the number before the unit that follows the tokens (at most
    _MAX_MODIFIERS words between), None when there is none. When the tokens are not `complete` (the
    last ones of the window), _MORE_TOKENS if the answer may depend on earlier ones."""
    i = len(tokens) - 1
    modifiers = 0
    while i >= 0:
        tok = tokens[i].group()
        if _numberish(tok, lang):
            break
        if tok in _SOFT:
            i -= 1
            continue
        if tok in _BREAKS or _ends_sentence(tok) or modifiers == _MAX_MODIFIERS:
            return None
        modifiers += 1
        i -= 1
    if i < 0:
        return None if complete else _MORE_TOKENS

    one = ONE_BY_LANG.get(lang or "", ONE)
    j = i
    while j > 0:
        prev = tokens[j - 1].group()
        if text[tokens[j - 1].end() : tokens[j].start()].strip():
            break
        if (
            _numberish(prev, lang)
            or prev.lower() in one
            or (
                prev.lower() in CONNECTORS
                and j > 1
                and is_number_word(tokens[j - 2].group(), lang)
                and not DIGITS_RE.fullmatch(tokens[j].group())
            )
        ):
            j -= 1
        else:
            break
    if j < 2 and not complete:
        return _MORE_TOKENS  # the run, or the test of a connector before it, may go on before the tokens
    return j, i


def _read_number(text: str, run: list[re.Match[str]], lang: str | None) -> tuple[float, int, bool] | None:
    """(value, start offset, approximate) of a run of number tokens, or None if it is no count."""
    words = [m.group() for m in run]
    digit_at = max((k for k, w in enumerate(words) if DIGITS_RE.fullmatch(w)), default=-1)
    if digit_at >= 0:
        tok = run[digit_at]
        start = tok.start()
        value = parse_digits(tok.group())
        if value is None or _attached_to_word(text, start, tok.end(), run, digit_at):
            return None
        approx = False
        for follower in words[digit_at + 1 :]:
            key = follower.lower()
            if key in SCALES:
                value *= SCALES[key]
            elif key in APPROX_NOUNS:
                value *= APPROX_NOUNS[key]
                approx = True
            else:
                return None
        if not value.is_integer():
            return None
        return value, start, approx

    # Number words only: "dreitausend", "deux cents", "un millier", "dwa tysiące".
    if len(words) == 1 and words[0].lower() in PLURAL_SCALES:
        return None  # "thousands of troops": a vague quantity, not a figure
    one = ONE_BY_LANG.get(lang or "", ONE)
    for k in range(len(words)):
        part = words[k:]
        key_last = part[-1].lower()
        approx = key_last in APPROX_NOUNS
        if approx or (len(part) == 2 and part[0].lower() in one and key_last in SCALES):
            head = part[:-1]
            multiplier = APPROX_NOUNS.get(key_last) or SCALES[key_last]
            if not head or (len(head) == 1 and head[0].lower() in one):
                value = float(multiplier)
            else:
                base = number_words_value(head, lang)
                if base is None:
                    continue
                value = base * multiplier
            return value, run[k].start(), approx
        if part[0].lower() in one and len(part) == 1:
            return None  # "a soldier", "un soldat": an article, not a figure
        if run[k].start() > 0 and text[run[k].start() - 1] in "-‑":
            return None  # "7-Eleven": a name, not a figure
        value = number_words_value(part, lang)
        if value is not None and value >= 2:
            return value, run[k].start(), False
    return None


def _attached_to_word(text: str, start: int, end: int, run: list[re.Match[str]], at: int) -> bool:
    """'82nd', 'F-35', '20-year-old', '3e': digits glued to a word are not a count."""
    before = text[start - 1] if start else " "
    if before.isalpha() or (before in "-‑" and start > 1 and text[start - 2].isalpha()):
        return True
    if (before == ":" and start > 1 and text[start - 2].isdigit()) or (
        text[end : end + 2][:1] == ":" and text[end + 1 : end + 2].isdigit()
    ):
        return True  # a time or a score: "13:22", "2:1"
    after = text[end] if end < len(text) else " "
    if after.isalpha():
        return not (at + 1 < len(run) and run[at + 1].group().lower() in SCALES)
    return after in "-‑" and end + 1 < len(text) and text[end + 1].isalpha()


def _digit_before(text: str, start: int) -> bool:
    """A range needs a number shortly before: a cheap test before the range pattern runs."""
    lo = max(0, start - 25)
    if _DECIMAL.search(text, lo, start):  # a decimal digit, which isdigit() also is
        return True
    # isdigit() is also true of a few other digits ("²", "①"), none of them ASCII
    window = text[lo:start]
    return not window.isascii() and any(c.isdigit() for c in window)


def _approx_before(text: str, start: int, phrases: frozenset[tuple[str, ...]]) -> int | None:
    """Start of an approximation phrase ending right before `start` ("près de", "about"), if any."""
    window = text[max(0, start - 40) : start]
    if window and not window[-1].isspace():
        return None
    words = window.lower().split()
    for n in (3, 2, 1):
        if len(words) >= n and tuple(words[-n:]) in phrases:
            offset = len(window)
            for word in reversed(window.split()[-n:]):
                offset = window.rfind(word, 0, offset)
            if offset > 0 and window[offset - 1].isalnum():
                return None
            if offset == 0 and start - 40 > 0 and text[start - 41].isalnum():
                return None
            return max(0, start - 40) + offset
    return None


def _scale_of(high: float, low: float) -> float:
    for scale in (1_000_000, 1_000):
        if high >= scale and low * scale <= high:
            return scale
    return 1


def _numberish(token: str, lang: str | None = None) -> bool:
    key = token.lower()
    return bool(DIGITS_RE.fullmatch(token)) or key in SCALES or key in APPROX_NOUNS or is_number_word(key, lang)


def _ends_sentence(token: str) -> bool:
    return token.endswith(".") and token.lower() not in _ABBREVIATIONS and "." not in token[:-1]


def _sentence(text: str, start: int, end: int) -> tuple[int, int]:
    """From the end of the last sentence end (_SENTENCE_END) within the 400 characters before
    `start`, to the first sentence end from `end` on. The last one is found from the right: a line
    break, or a mark followed by a space that is still before `start`."""
    lo = max(0, start - 400)
    last = text.rfind("\n", lo, start)
    for mark in _SENTENCE_MARKS:
        if start - 1 <= max(lo, last + 1):
            break
        p = text.rfind(mark, max(lo, last + 1), start - 1)
        while p > last and not text[p + 1].isspace():
            p = text.rfind(mark, max(lo, last + 1), p)
        last = max(last, p)
    following = _SENTENCE_END.search(text, end)
    return last + 1, (following.start() if following else len(text))


def _sentence_of(text: str, candidate: Candidate) -> tuple[int, int]:
    """The sentence of the candidate's mention: read when the candidate was, else now."""
    m = candidate.mention
    return candidate.sentence or _sentence(text, m.start, m.end)


def _closest_actor_and_action(
    rules: TroopRules, text: str, folded: str, s: int, e: int, qs: int, qe: int
) -> tuple[str | None, str | None]:
    """The actor and the action of a mention at text[qs:qe] in the sentence text[s:e] (_closest)."""
    actors, actions = rules.actors_and_actions.scan(text[s:e], folded[s:e])
    return _closest(actors, s, qs, qe), _closest(actions, s, qs, qe)


def _closest(hits: list[Hit], s: int, qs: int, qe: int) -> str | None:
    """The label said right at the mention ("1 200 militaires américains"), else the sentence's first
    (`hits` in the sentence that starts at `s`)."""
    if not hits:
        return None
    for h in hits:
        if qs <= h.start + s < qe + 25:
            return h.label
    return hits[0].label


def _of_them_candidates(text: str, lang: str | None, rules: TroopRules, found: list[Candidate]) -> list[Candidate]:
    """'12 żołnierzy zostało rannych ... sześciu z nich', 'more than 5 thousand of them': a part of a
    troop figure said just before (within _OF_THEM_CHARS)."""
    out: list[Candidate] = []
    figures = [c for c in found if c.magnitude is None and c.kind == "unit"]
    if not figures:
        return out
    first_end = min(c.mention.end for c in figures)
    last_end = max(c.mention.end for c in figures)
    scan_start = _of_them_scan_start(text, rules.of_them, first_end)
    if not rules.of_them_cues.may_match(text[scan_start:]):  # no phrase there: most texts
        return out
    for phrase in rules.of_them.finditer(text, scan_start):
        if phrase.start() > last_end + _OF_THEM_CHARS:
            break  # later phrases are further still from every figure
        before = [c for c in figures if 0 <= phrase.start() - c.mention.end <= _OF_THEM_CHARS]
        if not before:
            continue
        m = rules.of_them_number.search(text, max(0, phrase.start() - 40), phrase.start())
        if not m:
            continue
        number = m.group("number")
        value = (
            parse_digits(number)
            if DIGITS_RE.fullmatch(number)
            else number_words_value([number], lang)
            if is_number_word(number, lang)
            else None
        )
        if value is None or not value.is_integer() or value < 2:
            continue
        if m.group("scale"):
            value *= SCALES[m.group("scale").lower()]
        ref = before[-1].mention
        mention = TroopMention(
            value=value,
            low=value,
            high=value,
            approx=bool(m.group("approx")),
            unit=ref.unit,
            quote=text[m.start() : phrase.end()],
            start=m.start(),
            end=phrase.end(),
            actor=ref.actor,
            action=ref.action,
        )
        out.append(Candidate(mention, "of them", number, "", phrase.start(), phrase.end()))
    return out


def _of_them_scan_start(text: str, of_them: re.Pattern[str], end: int) -> int:
    """Where to look for "of them" phrases that may follow a figure ending at `end`: right after
    the last digit before it, as no phrase holds a digit, so no phrase found reading the whole text
    spans that digit, and the phrases after it are the same; else the text's start."""
    if not _digit_free(of_them):
        return 0
    for k in range(end - 1, max(-1, end - 1 - _OF_THEM_CHARS), -1):
        if text[k].isdecimal():  # a decimal digit: no phrase, nor a space between its words, matches one
            return k + 1
    return 0


@lru_cache(maxsize=8)
def _digit_free(pattern: re.Pattern[str]) -> bool:
    return not any(c.isdecimal() for c in pattern.pattern)


def _strength_candidate(text: str, folded: str, rules: TroopRules, m: re.Match[str]) -> Candidate | None:
    """'a 4,000-strong brigade', 'a 300-member contingent'."""
    value = parse_digits(m.group("number"))
    if value is None or not value.is_integer() or value < 2:
        return None
    start, end = m.start(), m.end()
    approx = False
    approx_start = _approx_before(text, start, rules.approx)
    if approx_start is not None:
        approx, start = True, approx_start
    s, e = _sentence(text, start, end)
    actor, action = _closest_actor_and_action(rules, text, folded, s, e, start, end)
    mention = TroopMention(
        value=value,
        low=value,
        high=value,
        approx=approx,
        unit=m.group("formation"),
        quote=text[start:end],
        start=start,
        end=end,
        actor=actor,
        action=action,
    )
    return Candidate(
        mention, "strength", m.group("number"), "", m.start("formation"), m.end("formation"), sentence=(s, e)
    )


def troops_in(text: str, rules: TroopRules, lang: str | None = None) -> list[TroopMention]:
    """Convenience for callers that have no folded text yet."""
    return find_troops(text, fold(text), lang, rules)
