"""Troop-number mentions: counts of military personnel, with approximation, range, actor and action.

A mention is a number (digits, scale words or number words) followed, at most three words later,
by a unit noun from the rules ("près de 1 200 militaires", "8,5 tys. żołnierzy"). Scanning starts
from the unit nouns, which are rare, so the cost grows with the mentions, not with the text.
"""

from __future__ import annotations

import re

from newsvigil.records import TroopMention
from processors.lexicon import Hit, Lexicon, fold
from processors.numbers import (
    APPROX_NOUNS,
    CONNECTORS,
    DIGITS,
    DIGITS_RE,
    ONE,
    SCALES,
    is_number_word,
    number_words_value,
    parse_digits,
)
from processors.rules import TroopRules

_TOKEN = re.compile(DIGITS + r"|[^\W\d_]+(?:['’.\-][^\W\d_]+)*\.?|\S")
_BREAKS = set(".!?;:()[]{},\"«»“”„/|—–-‑…•")
_SOFT = {"'", "’"}  # elided articles: "postes d'officiers"
_ABBREVIATIONS = {"tys.", "tsd.", "mio.", "mln.", "ok.", "ca.", "mrd.", "bln.", "nr.", "no."}
_MAX_MODIFIERS = 3
_CONTEXT_CHARS = 300  # how far a weak unit ("hommes", "posts") looks for a military word
_SENTENCE_END = re.compile(r"[.!?…](?=\s)|\n")
_CURRENCY = ("$", "€", "£", "¥", "kr", "zł")
_YEAR_CONTEXT = re.compile(
    r"(?:\b(?:in|en|im|i|w|we|nel|nell'|el|del|since|depuis|seit|siden|desde|dal|sinds|od|until|by|bis|"
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


def find_troops(text: str, folded: str, lang: str | None, rules: TroopRules) -> list[TroopMention]:
    """All troop mentions in `text` (`folded` = fold(text)), one per distinct figure, in text order."""
    mentions: list[TroopMention] = []
    seen: set[tuple[float, float, float]] = set()
    covered_until = -1
    for hit in rules.units.find(text, folded):
        if hit.start < covered_until:
            continue  # "military personnel" already took "personnel"
        covered_until = hit.end
        found = _mentions_before_unit(text, folded, lang, rules, hit) or _count_after_unit(text, folded, rules, hit)
        for mention in found:
            if (mention.value, mention.low, mention.high) not in seen:
                seen.add((mention.value, mention.low, mention.high))
                mentions.append(mention)
    if "-" in text or "‑" in text or "–" in text:
        for m in rules.strength.finditer(text):
            mention = _strength_mention(text, folded, rules, m)
            if mention and (mention.value, mention.low, mention.high) not in seen:
                seen.add((mention.value, mention.low, mention.high))
                mentions.append(mention)
    mentions.sort(key=lambda x: x.start)
    return mentions


def _mentions_before_unit(text: str, folded: str, lang: str | None, rules: TroopRules, hit: Hit) -> list[TroopMention]:
    """'près de 1 200 militaires'; a change 'de 80 000 à 65 000 soldats' gives both figures."""
    mention = _mention_before_unit(text, folded, lang, rules, hit)
    if mention is None:
        return []
    first = _transition_start(text, mention)
    return [first, mention] if first else [mention]


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
    return TroopMention(value=first, low=first, high=first, approx=False, unit=mention.unit,
                        quote=text[quote_start:mention.end], start=quote_start, end=mention.end,
                        actor=mention.actor, action=mention.action)


def _count_after_unit(text: str, folded: str, rules: TroopRules, hit: Hit) -> list[TroopMention]:
    """'øger antallet af soldater i Baltikum til 30.000': a count cue, the unit, then the figure."""
    cue = rules.count_cue.search(text, max(0, hit.start - 40), hit.start)
    if not cue:
        return []
    after = rules.count_to.match(text, hit.end)
    if not after:
        return []
    value = parse_digits(after.group("number"))
    if value is None or not value.is_integer() or value < 2:
        return []
    start, end = cue.start(), after.end()
    s, e = _sentence(text, start, end)
    return [TroopMention(value=value, low=value, high=value, approx=False, unit=text[hit.start:hit.end],
                         quote=text[start:end], start=start, end=end,
                         actor=_closest(rules.actors, text, folded, s, e, start, end),
                         action=_closest(rules.actions, text, folded, s, e, start, end))]


def _mention_before_unit(text: str, folded: str, lang: str | None, rules: TroopRules, hit: Hit) -> TroopMention | None:
    unit_start = hit.start
    while unit_start > 0 and text[unit_start - 1] in "-‑" and unit_start > 1 and text[unit_start - 2].isalnum():
        unit_start -= 1  # "US-Soldaten": the compound's first part belongs to the unit
        while unit_start > 0 and text[unit_start - 1].isalnum():
            unit_start -= 1
    tokens = list(_TOKEN.finditer(text, max(0, unit_start - 160), unit_start))
    i = len(tokens) - 1
    modifiers = 0
    while i >= 0:
        tok = tokens[i].group()
        if _numberish(tok):
            break
        if tok in _SOFT:
            i -= 1
            continue
        if tok in _BREAKS or _ends_sentence(tok) or modifiers == _MAX_MODIFIERS:
            return None
        modifiers += 1
        i -= 1
    if i < 0:
        return None
    number_end = tokens[i].end()
    between = text[number_end:unit_start]
    if "\n" in between or (between.strip() and rules.blockers.find(between, folded[number_end:unit_start])):
        return None

    j = i
    while j > 0:
        prev = tokens[j - 1].group()
        if text[tokens[j - 1].end() : tokens[j].start()].strip():
            break
        if _numberish(prev) or (prev.lower() in ONE and j - 1 >= 0):
            j -= 1
        elif prev.lower() in CONNECTORS and j > 1 and is_number_word(tokens[j - 2].group()) and not DIGITS_RE.fullmatch(tokens[j].group()):
            j -= 1
        else:
            break
    parsed = _read_number(text, tokens[j : i + 1], lang)
    if parsed is None:
        return None
    value, quote_start, approx = parsed
    if value < 1:
        return None

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
    if hit.label == "weak":
        # News items are short: the military word may sit in the title or the next sentence.
        lo, hi = max(0, quote_start - _CONTEXT_CHARS), min(len(text), unit_end + _CONTEXT_CHARS)
        if not rules.military_context.find(text[lo:hi], folded[lo:hi]):
            return None
    return TroopMention(
        value=value,
        low=low,
        high=high,
        approx=approx,
        unit=text[hit.start : hit.end],
        quote=text[quote_start:unit_end],
        start=quote_start,
        end=unit_end,
        actor=_closest(rules.actors, text, folded, sentence_start, sentence_end, quote_start, unit_end),
        action=_closest(rules.actions, text, folded, sentence_start, sentence_end, quote_start, unit_end),
    )


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
        if not value.is_integer() or _is_year_or_money(text, start, tok.group()):
            return None
        return value, start, approx

    # Number words only: "dreitausend", "deux cents", "un millier", "dwa tysiące".
    for k in range(len(words)):
        part = words[k:]
        key_last = part[-1].lower()
        approx = key_last in APPROX_NOUNS
        if approx or (len(part) == 2 and part[0].lower() in ONE and key_last in SCALES):
            head = part[:-1]
            multiplier = APPROX_NOUNS.get(key_last) or SCALES[key_last]
            if not head or (len(head) == 1 and head[0].lower() in ONE):
                value = float(multiplier)
            else:
                base = number_words_value(head, lang)
                if base is None:
                    continue
                value = base * multiplier
            return value, run[k].start(), approx
        if part[0].lower() in ONE and len(part) == 1:
            return None  # "a soldier", "un soldat": an article, not a figure
        value = number_words_value(part, lang)
        if value is not None and value >= 2:
            return value, run[k].start(), False
    return None


def _attached_to_word(text: str, start: int, end: int, run: list[re.Match[str]], at: int) -> bool:
    """'82nd', 'F-35', '20-year-old', '3e': digits glued to a word are not a count."""
    before = text[start - 1] if start else " "
    if before.isalpha() or (before in "-‑" and start > 1 and text[start - 2].isalpha()):
        return True
    after = text[end] if end < len(text) else " "
    if after.isalpha():
        return not (at + 1 < len(run) and run[at + 1].group().lower() in SCALES)
    return after in "-‑" and end + 1 < len(text) and text[end + 1].isalpha()


def _is_year_or_money(text: str, start: int, token: str) -> bool:
    before = text[max(0, start - 4) : start].rstrip()
    if before.endswith(_CURRENCY):
        return True
    if token.isdigit() and len(token) == 4 and 1900 <= int(token) <= 2100:
        return bool(_YEAR_CONTEXT.search(text, max(0, start - 20), start))
    return False


def _digit_before(text: str, start: int) -> bool:
    """A range needs a number shortly before: a cheap test before the range pattern runs."""
    return any(c.isdigit() for c in text[max(0, start - 25) : start])


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


def _numberish(token: str) -> bool:
    key = token.lower()
    return bool(DIGITS_RE.fullmatch(token)) or key in SCALES or key in APPROX_NOUNS or is_number_word(key)


def _ends_sentence(token: str) -> bool:
    return token.endswith(".") and token.lower() not in _ABBREVIATIONS and "." not in token[:-1]


def _sentence(text: str, start: int, end: int) -> tuple[int, int]:
    sentence_start = 0
    for m in _SENTENCE_END.finditer(text, max(0, start - 400), start):
        sentence_start = m.end()
    m = _SENTENCE_END.search(text, end)
    return sentence_start, (m.start() if m else len(text))


def _closest(lexicon: Lexicon, text: str, folded: str, s: int, e: int, qs: int, qe: int) -> str | None:
    """The label said right at the mention ("1 200 militaires américains"), else the sentence's first."""
    hits = lexicon.find(text[s:e], folded[s:e])
    if not hits:
        return None
    for h in hits:
        if qs <= h.start + s < qe + 25:
            return h.label
    return hits[0].label


def _strength_mention(text: str, folded: str, rules: TroopRules, m: re.Match[str]) -> TroopMention | None:
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
    return TroopMention(
        value=value, low=value, high=value, approx=approx, unit=m.group("formation"),
        quote=text[start:end], start=start, end=end,
        actor=_closest(rules.actors, text, folded, s, e, start, end),
        action=_closest(rules.actions, text, folded, s, e, start, end),
    )


def troops_in(text: str, rules: TroopRules, lang: str | None = None) -> list[TroopMention]:
    """Convenience for callers that have no folded text yet."""
    return find_troops(text, fold(text), lang, rules)
