"""Places of troop figures: which place a figure is about (destination, station, withdrawal origin).

The gazetteer (seeds/places.yaml) names each place in the eight languages, inflected forms included.
In a figure's sentence, a name right after a preposition of the language ("to", "w", "nach", "au")
is a place the figure goes to, is in or leaves from; the nearest such name wins, a name after an
origin word ("from", "aus", "z") only when no destination or station is named, unless the figure is
a withdrawal. A bare name stands for a place only after the figure and outside its noun phrase: one
before the figure ("Russia has lost 300,000 soldiers", "US troops") is the actor, and a seat of
government ("Washington") counts only after a preposition.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from newsvigil.processors.lexicon import Case, Hit, Lexicon

LANGUAGES = ("en", "fr", "de", "da", "nl", "es", "it", "pl")
_ROLES = ("to", "in", "from", "not")  # "not": after these a name is no place ("against Russia")
_SEAT = "seat:"  # label prefix of a seat of government's name
_WINDOW = 60  # how far before a name its preposition (and articles) may start
_ORIGIN_ACTIONS = frozenset({"withdrawal", "reduction"})  # 'from X' is then what the figure is about
# A name that opens a sentence and is followed, within _HEADING_CHARS, by one of these is the
# sentence's heading, not its subject: "Groenland : Copenhague dépêche une centaine de soldats".
_HEADING_MARKS = frozenset(":|—–")
_HEADING_CHARS = 30


@dataclass(frozen=True, slots=True)
class Place:
    id: str
    name: str  # in English, for people
    part_of: str | None = None


@dataclass(slots=True)
class Gazetteer:
    """Places, their names per language (a lexicon labelled by place id) and the prepositions that
    put a name in a role, per language; "" = every language (the language is unknown)."""

    version: str
    places: dict[str, Place]
    names: dict[str, Lexicon]
    roles: dict[str, re.Pattern[str]]
    no_bare_names: frozenset[str] = (
        frozenset()
    )  # languages whose bare names after a figure are no place (Polish: a genitive)

    def within(self, place_id: str) -> list[str]:
        """The ids of the larger places `place_id` lies in, nearest first (estonia -> baltic_states, ...)."""
        out: list[str] = []
        parent = self.places[place_id].part_of if place_id in self.places else None
        while parent and parent not in out:
            out.append(parent)
            parent = self.places[parent].part_of
        return out


ID_CHARS = 64  # troop_mentions.place and series.place hold a place id


def empty_gazetteer() -> Gazetteer:
    """A gazetteer with no places: no figure gets a place."""
    return Gazetteer("", {}, {"": Lexicon([])}, {"": re.compile(r"(?!x)x")})


def compile_gazetteer(data: Any) -> Gazetteer:
    """Compile a parsed places.yaml; raises ValueError naming the bad entry."""
    if not isinstance(data, dict):
        raise ValueError("the top level must be a mapping with 'version', 'prepositions' and 'places'")
    version = str(data.get("version") or "").strip()
    if not version:
        raise ValueError("'version' is missing: a gazetteer carries a version (e.g. version: \"2026.11.1\")")
    places_data = data.get("places")
    if not isinstance(places_data, dict) or not places_data:
        raise ValueError("'places' must be a mapping of place ids to names")
    places: dict[str, Place] = {}
    entries: dict[str, list[tuple[str, str, Case]]] = {lang: [] for lang in LANGUAGES}
    for place_id, spec in places_data.items():
        where = f"places.{place_id}"
        if not isinstance(spec, dict):
            raise ValueError(f"{where} must be a mapping with 'name' and names per language")
        unknown = set(spec) - {"name", "part_of", "any", "seats", *LANGUAGES}
        if unknown:
            raise ValueError(f"{where} has unknown keys {sorted(unknown)}: languages are {', '.join(LANGUAGES)}")
        key = str(place_id)
        if not key or len(key) > ID_CHARS:
            raise ValueError(f"{where}: an id is 1 to {ID_CHARS} characters (it is stored with each figure)")
        for lang in LANGUAGES:
            for label, field in ((key, lang), (key, "any"), (_SEAT + key, "seats")):
                entries[lang] += [(n, label, _written_case(n)) for n in _names(spec.get(field), f"{where}.{field}")]
        part_of = spec.get("part_of")
        places[key] = Place(key, str(spec.get("name") or key), str(part_of) if part_of else None)
    for place in places.values():
        if place.part_of and place.part_of not in places:
            raise ValueError(f"places.{place.id}.part_of: no place '{place.part_of}'")
    prepositions = data.get("prepositions")
    if not isinstance(prepositions, dict):
        raise ValueError("'prepositions' must map a language to its words for to, in, from and its articles")
    roles = {lang: _role_pattern([prepositions.get(lang) or {}], lang) for lang in LANGUAGES}
    roles[""] = _role_pattern([prepositions.get(lang) or {} for lang in LANGUAGES], "any")
    names = {lang: Lexicon(terms) for lang, terms in entries.items()}
    names[""] = Lexicon(t for lang in LANGUAGES for t in entries[lang])
    no_bare = frozenset(
        lang
        for lang in LANGUAGES
        if isinstance(prepositions.get(lang), dict) and prepositions[lang].get("bare_names") is False
    )
    return Gazetteer(version, places, names, roles, no_bare)


def choose_place(
    text: str,
    folded: str,
    lang: str | None,
    gazetteer: Gazetteer,
    sentence: tuple[int, int],
    figure: tuple[int, int],
    action: str | None = None,
) -> tuple[str, str] | None:
    """(place id, the name as written) of the place the figure at text[figure] is about, among the
    names in its sentence (text[sentence]); None when the sentence names none."""
    s, e = sentence
    names = gazetteer.names.get(lang or "") or gazetteer.names[""]
    hits = names.find(text[s:e], folded[s:e])
    if not hits:
        return None
    roles = gazetteer.roles.get(lang or "") or gazetteer.roles[""]
    bare_after = lang not in gazetteer.no_bare_names
    qs, qe = figure
    best: tuple[int, int] | None = None
    chosen: Hit | None = None
    for hit in _outermost(hits):
        start, end = s + hit.start, s + hit.end
        role = _role(roles, text, max(s, start - _WINDOW), start)
        if role == "not":
            continue  # "fight against Russia", "exercises with the United States": another role
        if role is None:
            if hit.label.startswith(_SEAT):
                continue  # "Washington will withdraw...": the government, not the place
            if end <= qs:
                if not _heading(text, s, start, end, qs):
                    continue  # the actor: "Russia has lost 300,000 soldiers", "US troops"
                tier = 1  # "Israel: 2 soldiers wounded in West Bank": a place after a preposition first
            elif start < qe or not bare_after or not _stands_alone(text, end, e):
                continue  # the figure's own noun phrase, or a name qualifying a noun ("US vessels")
            else:
                tier = 2
        else:
            tier = 1 if role == "from" and action not in _ORIGIN_ACTIONS else 0
        distance = qs - end if end <= qs else max(0, start - qe)
        if best is None or (tier, distance) < best:
            best, chosen = (tier, distance), hit
    if chosen is None:
        return None
    label = chosen.label.removeprefix(_SEAT)
    return label, text[s + chosen.start : s + chosen.end]


def _outermost(hits: list[Hit]) -> list[Hit]:
    """Hits not inside a longer one: "South Korea", not "Korea"; "Eastern Europe", not "Europe"
    (of hits of the same span, the first)."""
    out: list[Hit] = []
    for i, h in enumerate(hits):
        inside = any(
            (o.start <= h.start and h.end <= o.end) and ((o.start, o.end) != (h.start, h.end) or j < i)
            for j, o in enumerate(hits)
            if j != i
        )
        if not inside:
            out.append(h)
    return out


def _heading(text: str, sentence_start: int, start: int, end: int, figure_start: int) -> bool:
    """The name opens the sentence as its heading: "Gaza: nine soldiers killed", "Groenland : ..."."""
    if text[sentence_start:start].strip(" \t\n'\"‘“«„"):
        return False
    mark = next((i for i in range(end, min(figure_start, end + _HEADING_CHARS)) if text[i] in _HEADING_MARKS), None)
    return mark is not None


def _stands_alone(text: str, end: int, sentence_end: int) -> bool:
    """Nothing but punctuation follows the name: "in a crash off Yakushima, Japan." (not "US vessels",
    "Israel readies an assault")."""
    rest = text[end:sentence_end].lstrip(" ")
    return not rest or not (rest[0].isalnum() or rest[0] in "-‑")


def _role(pattern: re.Pattern[str], text: str, lo: int, at: int) -> str | None:
    """'to', 'in', 'from' or 'not' when a preposition (and articles) ends right before `at`."""
    m = pattern.search(text, lo, at)
    return m.lastgroup if m else None


def _role_pattern(specs: list[dict[str, Any]], where: str) -> re.Pattern[str]:
    """A preposition of each role, then any articles, anchored at the end: r'(?P<to>...)...\\Z'."""
    words: dict[str, set[str]] = {role: set() for role in (*_ROLES, "articles")}
    for spec in specs:
        if not isinstance(spec, dict):
            raise ValueError(f"prepositions.{where} must map to, in, from and articles to lists of words")
        unknown = set(spec) - set(words) - {"bare_names"}
        if unknown:
            raise ValueError(f"prepositions.{where} has unknown keys {sorted(unknown)}")
        for role in words:
            words[role] |= set(_names(spec.get(role), f"prepositions.{where}.{role}"))
    # A word in two roles across languages ("de": from in French, of in Dutch) keeps the first role.
    taken: set[str] = set()
    groups = []
    for role in _ROLES:
        alternatives = sorted(words[role] - taken, key=len, reverse=True)
        taken |= words[role]
        if alternatives:
            groups.append(f"(?P<{role}>" + "|".join(_word(w) for w in alternatives) + ")")
    if not groups:
        return re.compile(r"(?!x)x")
    articles = "|".join(_word(w) for w in sorted(words["articles"], key=len, reverse=True))
    filler = f"(?:(?:{articles}))*" if articles else ""
    # "in the city of San Clemente, California": a place, a comma, then the name (of the larger place).
    apposition = r"(?:(?-i:[A-ZÀ-ÖØ-ÞĄĆĘŁŃŚŹŻ])[\w'’.-]*(?:\s+(?-i:[A-ZÀ-ÖØ-ÞĄĆĘŁŃŚŹŻ])[\w'’.-]*){0,2},\s+)?"
    return re.compile(r"(?<![\w'’])(?:" + "|".join(groups) + ")" + filler + apposition + r"\Z", re.IGNORECASE)


def _word(word: str) -> str:
    """A preposition or article and what follows it: spaces, or nothing after an elision ("l'")."""
    body = r"\s+".join(re.escape(w) for w in word.split())
    return body + (r"\s*" if word.endswith(("'", "’")) else r"\s+")


def _written_case(name: str) -> Case:
    """'US' only in capitals, 'Greenland' only capitalised, 'pays baltes' in any case."""
    core = name.strip("*").replace(".", "").replace("-", "").replace(" ", "")
    if core.isupper() and len(core) > 1:
        return "exact"
    return "capitalized" if core[:1].isupper() else "ignore"


def _names(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(f"{where} must be a list of names")
    for i, v in enumerate(value):
        if isinstance(v, bool):
            raise ValueError(
                f"{where}[{i}] is {v!r}, not a name: YAML reads unquoted on/off/yes/no as true/false, so quote it"
            )
        if not isinstance(v, str) or not v.strip("* "):
            raise ValueError(f"{where}[{i}] must be a name with at least one letter")
    return list(value)
