"""Detection rules: topics.yaml loaded, checked and compiled once into fast matchers."""

from __future__ import annotations

import hashlib
import importlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ahocorasick
import yaml

from newsvigil.errors import RulesError
from newsvigil.processors.lexicon import Case, Lexicon, LexiconScan
from newsvigil.processors.numbers import DIGITS, SCALES
from newsvigil.processors.places import Gazetteer, compile_gazetteer, empty_gazetteer

# The gazetteer shipped beside the rules (seeds/places.yaml), used unless a topics file names another.
SHIPPED_PLACES = Path(__file__).resolve().parent.parent / "seeds" / "places.yaml"


@dataclass(frozen=True, slots=True)
class Exclusion:
    pattern: re.Pattern[str]
    langs: frozenset[str]  # empty = every language
    # Text every match contains (_required_text): a window without it holds no match, and the
    # pattern need not run there.
    needs: tuple[str, ...] = ()  # as written
    needs_lowered: tuple[str, ...] = ()  # ASCII, matched case-insensitively: sought in the lower-cased window
    needs_one_of: tuple[Cues, ...] = ()  # of each alternation every match goes through, one of its cues
    # Text every match begins with (_leading_text): the pattern is tried only where it occurs.
    begins: str = ""  # as written
    begins_lowered: str = ""  # ASCII, matched case-insensitively

    def may_match(self, window: str) -> bool:
        """False only when no match of the pattern can lie within `window`."""
        for text in self.needs:  # a loop, not any(): this runs for every exclusion of every hit
            if text not in window:
                return False
        if self.needs_lowered:
            lowered = ascii_lowered(window)
            if lowered is not None and not all(text in lowered for text in self.needs_lowered):
                return False
        return all(cues.may_match(window) for cues in self.needs_one_of)

    def finditer(self, text: str, lo: int, hi: int) -> Iterator[re.Match[str]]:
        """pattern.finditer(text, lo, hi), the pattern tried only where the text its matches begin
        with occurs (found by str.find), not at every position of the window."""
        if self.begins:
            where, needle, offset = text, self.begins, 0
        elif self.begins_lowered and (lowered := ascii_lowered(text[lo:hi])) is not None:
            where, needle, offset = lowered, self.begins_lowered, lo  # where[i] is text[lo + i]
        else:
            yield from self.pattern.finditer(text, lo, hi)
            return
        # finditer's matches: the leftmost from `at`, then the leftmost from its end. The pattern
        # begins with the needle, so only the needle's places can start one; match() there sees
        # the text before them, as the search does, for lookbehinds and word boundaries.
        at = lo
        while (found := where.find(needle, at - offset, hi - offset)) >= 0:
            m = self.pattern.match(text, found + offset, hi)
            if m is None:
                at = found + offset + 1
            else:
                yield m
                at = m.end()  # never empty: it holds the needle


# The characters beyond ASCII that a case-insensitive pattern matches to ASCII ones ('K' Kelvin sign
# to k, 'ſ' to s, 'İ' and 'ı' to i; tests/processors/test_topics.py checks the list against `re`).
# In a window without them, lower() keeps every character in place and makes no ASCII of others,
# so an ASCII text matches case-insensitively exactly where it occurs in the lower-cased window.
ASCII_CASE_PARTNERS = "\u0130\u0131\u017f\u212a"
_ASCII_CASE_PARTNERS = re.compile(f"[{ASCII_CASE_PARTNERS}]")


def ascii_lowered(window: str) -> str | None:
    """`window` lower-cased, in which ASCII text occurs exactly where a case-insensitive pattern
    finds it; None when the window holds one of ASCII_CASE_PARTNERS."""
    if window.isascii() or not _ASCII_CASE_PARTNERS.search(window):
        return window.lower()
    return None


class Cues:
    """Lower-case ASCII texts of which every match of a case-insensitive pattern holds one: a
    window holding none of them holds no match, and the pattern need not run there."""

    __slots__ = ("_automaton", "texts")

    def __init__(self, texts: tuple[str, ...] = ()) -> None:
        self.texts = texts  # empty: no such texts are known, the pattern may match anywhere
        # One pass finds any of them, where `in` would read the window once for each.
        self._automaton: ahocorasick.Automaton | None = None
        if texts:
            self._automaton = ahocorasick.Automaton()
            for text in texts:
                self._automaton.add_word(text, text)
            self._automaton.make_automaton()

    def __repr__(self) -> str:
        return f"Cues({self.texts!r})"

    def may_match(self, window: str) -> bool:
        """False only when no match of the pattern can lie within `window`."""
        if self._automaton is None:
            return True
        lowered = ascii_lowered(window)
        return lowered is None or next(self._automaton.iter(lowered), None) is not None


def phrase_cues(phrases: list[str]) -> Cues:
    """The cues of a case-insensitive alternation of `phrases` (their words apart by any spaces,
    see _phrase): an ASCII run in a word of each phrase, of at least _MIN_NEEDED characters; no
    cues when a phrase has no such run."""
    runs_of = []
    for phrase in phrases:
        runs = [run.lower() for word in phrase.split() for run in _ASCII_RUN.findall(word) if len(run) >= _MIN_NEEDED]
        if not runs:
            return Cues()
        runs_of.append(runs)
    # A phrase with a run holding a cue already taken needs no cue of its own; else its longest run.
    kept: list[str] = []
    for runs in sorted(runs_of, key=len):
        if not any(cue in run for run in runs for cue in kept):
            kept.append(max(runs, key=len))
    # A cue holding another needs no test of its own: where it occurs, the shorter one does.
    kept.sort(key=lambda c: (len(c), c))
    return Cues(tuple(cue for i, cue in enumerate(kept) if not any(shorter in cue for shorter in kept[:i])))


_ASCII_RUN = re.compile(r"[\x00-\x7f]+")


@dataclass(frozen=True, slots=True)
class Proximity:
    """A hit when a term of every group occurs within `words` words of the others."""

    index: int
    words: int
    groups: int


@dataclass(slots=True)
class Topic:
    name: str
    label: str
    exclusions: list[Exclusion]
    proximities: list[Proximity]
    full_text: bool = False  # fetch the article page of matching items and detect on its main text too


@dataclass(slots=True)
class TroopRules:
    units: Lexicon  # label "unit" or "weak"
    military_context: Lexicon
    blockers: Lexicon
    actors: Lexicon
    actions: Lexicon
    approx: frozenset[tuple[str, ...]]  # folded word sequences: ("près", "de"), ("about",)
    approx_words: frozenset[str]  # every word of those phrases: "up", "to", "about"
    strength: re.Pattern[str]
    strength_cue: re.Pattern[str]  # what every strength match holds (a digit, then the dash): a cheap test first
    formations: Lexicon  # "brigade", "force", "contingent": a count of persons of one is a troop figure
    count_cue: re.Pattern[str]  # anchored at the end of the text before a unit: "the number of"
    count_to: re.Pattern[str]  # anchored after a unit: "... in the Baltics to 30,000"
    civilian: Lexicon  # qualifiers that make personnel non-military: "ICE officers", "oficerów policji"
    fiction: Lexicon  # words that put soldiers in a game, toy box or film: "Warhammer", "toy soldiers"
    phrase_breaks: frozenset[str]  # words that, between a number and a unit, part them: "killed 7 after a staff party"
    vague: re.Pattern[str]  # anchored before a unit: "thousands of", "kilka tysięcy"
    vague_magnitudes: dict[str, int]  # folded vague phrase -> order of magnitude
    unit_modifies: Lexicon  # after a unit, a noun it modifies: "personnel carriers", "personnel changes"
    counted_noun_endings: dict[
        str, tuple[str, ...]
    ]  # per language: a word between number and unit that the number counts
    non_state: Lexicon  # armed groups that are not a state's forces: "Wagner reportedly has 50,000 troops"
    non_state_verbs: frozenset[str]  # between such a group and a figure, these make the figure its own
    singular_units: frozenset[str]  # after a year these are labels: "the 2021 troop withdrawal"
    of_them: re.Pattern[str]  # "of them", "z nich": a part of a figure said just before follows
    of_them_number: re.Pattern[str]  # anchored before "of them": "sześciu", "more than 5 thousand"
    # What every match of `vague` and of `of_them` holds: a cheap test before they run.
    vague_cues: Cues
    of_them_cues: Cues
    places: Gazetteer = field(default_factory=empty_gazetteer)  # where a figure's troops go, are or leave from
    # Figure series (processors/series.py): each unit word's class ("troops", "officers"), and words that
    # make a figure count an incident ("killed", "arrested"), not a force.
    unit_classes: Lexicon = field(default_factory=lambda: Lexicon(()))
    incidents: Lexicon = field(default_factory=lambda: Lexicon(()))
    # actors and actions are read over the same sentence of each figure: one pass finds both.
    actors_and_actions: LexiconScan = field(init=False)

    def __post_init__(self) -> None:
        self.actors_and_actions = LexiconScan([self.actors, self.actions])


@dataclass(slots=True)
class RuleSet:
    """Everything detection needs, compiled; `version` is recorded with every detection."""

    version: str
    topics: dict[str, Topic]
    terms: Lexicon  # label = topic name
    near_terms: Lexicon  # label = "topic/proximity index/group index"
    troops: TroopRules
    digest: str = field(default="")
    # terms, near_terms and troops.units are read over the whole text: one pass finds all three.
    whole_text: LexiconScan = field(init=False)

    def __post_init__(self) -> None:
        self.whole_text = LexiconScan([self.terms, self.near_terms, self.troops.units])

    @property
    def full_text_topics(self) -> frozenset[str]:
        return frozenset(name for name, topic in self.topics.items() if topic.full_text)


def load_rules(path: str | Path) -> RuleSet:
    """Read and compile a rules file; a problem is a RulesError naming the file and the entry."""
    path = Path(path)
    raw_text, data = _read_yaml(path, "topics file")
    places_path = _places_path(path, data)
    places_text, places_data = _read_yaml(places_path, "places file")
    try:
        rules = compile_rules(data)
    except ValueError as exc:
        raise RulesError(f"topics file {path}: {exc}") from None
    try:
        gazetteer = compile_gazetteer(places_data)
    except ValueError as exc:
        raise RulesError(f"places file {places_path}: {exc}") from None
    with_places(rules, gazetteer)
    rules.digest = hashlib.sha256(raw_text.encode() + b"\0" + places_text.encode()).hexdigest()[:12]
    return rules


def with_places(rules: RuleSet, gazetteer: Gazetteer) -> RuleSet:
    """`rules` with `gazetteer` for the places of troop figures; its version joins the rules' version
    ("2026.11.28-2+places.2026.11.28-1"), so that every detection records both and a changed
    gazetteer is a change of rules."""
    rules.troops.places = gazetteer
    rules.version = f"{rules.version.split('+places.')[0]}+places.{gazetteer.version}"
    return rules


def _places_path(topics_path: Path, data: Any) -> Path:
    """The gazetteer a topics file names (`places: FILE`, relative to the topics file), else the shipped one."""
    named = data.get("places") if isinstance(data, dict) else None
    if named is None:
        return SHIPPED_PLACES
    if not isinstance(named, str) or not named.strip():
        raise RulesError(f"topics file {topics_path}: 'places' must name a gazetteer file (e.g. places: places.yaml)")
    return topics_path.parent / named


# libyaml's safe loader reads the two rules files in a third of the pure-Python loader's time
# (about 0.1 s at every start). Both build the same data; libyaml also accepts a few documents the
# pure-Python loader refuses (a tab after "key:").
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read_yaml(path: Path, what: str) -> tuple[str, Any]:
    """The text of a rules file (`what`: "topics file", "places file") and its parsed YAML; a problem
    is a RulesError naming the file and, for bad YAML, the line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RulesError(f"{what} {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RulesError(f"cannot read {what} {path}: {exc}") from None
    try:
        return text, yaml.load(text, Loader=_SAFE_LOADER)
    except yaml.YAMLError:
        pass
    try:  # the pure-Python loader again, for its wording and line (libyaml names the line after an unclosed one)
        return text, yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" at line {where.line + 1}" if where else ""
        raise RulesError(f"{what} {path} is not valid YAML{at}: {getattr(exc, 'problem', exc)}") from None


def compile_rules(data: Any) -> RuleSet:
    """Compile parsed YAML into a RuleSet; raises ValueError naming the bad entry."""
    if not isinstance(data, dict):
        raise ValueError("the top level must be a mapping with 'version', 'topics' and 'troops'")
    version = str(data.get("version") or "").strip()
    if not version:
        raise ValueError("'version' is missing: rule files carry a version (e.g. version: \"2026.11.1\")")
    topics_data = data.get("topics")
    if not isinstance(topics_data, dict) or not topics_data:
        raise ValueError("'topics' must be a mapping of topic names to rules")

    topics: dict[str, Topic] = {}
    entries: list[tuple[str, str, Case]] = []
    near_entries: list[tuple[str, str, Case]] = []
    for name, spec in topics_data.items():
        where = f"topics.{name}"
        if not isinstance(spec, dict):
            raise ValueError(f"{where} must be a mapping")
        cases: tuple[tuple[str, Case], ...] = (("terms", "ignore"), ("capitalized", "capitalized"), ("exact", "exact"))
        for key, case in cases:
            entries += [(t, str(name), case) for t in _strings(spec.get(key), f"{where}.{key}")]
        proximities = []
        for i, near in enumerate(_list(spec.get("near"), f"{where}.near")):
            groups = near.get("groups") if isinstance(near, dict) else None
            if not isinstance(groups, list) or len(groups) < 2:
                raise ValueError(f"{where}.near[{i}] needs 'groups': at least two lists of terms")
            words = near.get("words", 10)
            if not isinstance(words, int) or words < 1:
                raise ValueError(f"{where}.near[{i}].words must be a positive whole number")
            for g, group in enumerate(groups):
                near_entries += [
                    (t, f"{name}/{i}/{g}", "ignore") for t in _strings(group, f"{where}.near[{i}].groups[{g}]")
                ]
            proximities.append(Proximity(i, words, len(groups)))
        exclusions = [
            _exclusion(x, f"{where}.exclude[{i}]") for i, x in enumerate(_list(spec.get("exclude"), f"{where}.exclude"))
        ]
        if not any(e[1] == name for e in entries) and not proximities:
            raise ValueError(f"{where} has no terms: give it 'terms', 'capitalized', 'exact' or 'near'")
        full_text = spec.get("full_text", False)
        if not isinstance(full_text, bool):
            raise ValueError(f"{where}.full_text must be true or false")
        topics[str(name)] = Topic(str(name), str(spec.get("label") or name), exclusions, proximities, full_text)

    troops = data.get("troops")
    if not isinstance(troops, dict):
        raise ValueError("'troops' must be a mapping with 'units' and the other troop word lists")
    return RuleSet(
        version=version,
        topics=topics,
        terms=Lexicon(entries),
        near_terms=Lexicon(near_entries),
        troops=_troop_rules(troops),
    )


def _troop_rules(spec: dict[str, Any]) -> TroopRules:
    units: list[tuple[str, str, Case]] = [(t, "unit", "ignore") for t in _strings(spec.get("units"), "troops.units")]
    if not units:
        raise ValueError("troops.units must list at least one unit word")
    units += [(t, "weak", "ignore") for t in _strings(spec.get("weak_units"), "troops.weak_units")]
    units += [(t, "person", "ignore") for t in _strings(spec.get("person_units"), "troops.person_units")]
    of_them = _strings(spec.get("of_them"), "troops.of_them")
    approx = _strings(spec.get("approx"), "troops.approx")
    strength = _strings(spec.get("strength_words"), "troops.strength_words") or ["strong"]
    formations = _strings(spec.get("formations"), "troops.formations") or ["force"]
    cues = _strings(spec.get("count_cues"), "troops.count_cues")
    to_words = _strings(spec.get("count_to"), "troops.count_to")
    vague = _vague_phrases(spec.get("vague"))
    vague_alt = "|".join(_phrase(v) for v in sorted(vague, key=len, reverse=True)) or r"(?!x)x"
    approx_alt = "|".join(_phrase(a) for a in sorted(approx, key=len, reverse=True)) or r"(?!x)x"
    return TroopRules(
        units=Lexicon(units),
        military_context=Lexicon(
            (t, "military", "ignore") for t in _strings(spec.get("military_context"), "troops.military_context")
        ),
        blockers=Lexicon((t, "blocker", "ignore") for t in _strings(spec.get("blockers"), "troops.blockers")),
        actors=Lexicon(_labelled(spec.get("actors"), "troops.actors")),
        actions=Lexicon(_labelled(spec.get("actions"), "troops.actions")),
        approx=frozenset(tuple(a.lower().split()) for a in approx if a.strip()),
        approx_words=frozenset(w for a in approx for w in a.lower().split()),
        formations=Lexicon((f, "formation", "ignore") for f in formations),
        strength=re.compile(
            r"(?P<number>"
            + DIGITS
            + r")"
            + _STRENGTH_DASH
            + r"\s?(?:"
            + "|".join(map(re.escape, strength))
            + r")\s+(?:\w+\s+){0,2}?(?P<formation>"
            + "|".join(_phrase(f) for f in sorted(formations, key=len, reverse=True))
            + r")(?!\w)",
            re.IGNORECASE,
        ),
        strength_cue=re.compile(r"\d" + _STRENGTH_DASH),  # DIGITS ends with a digit
        count_cue=re.compile(
            r"(?<!\w)(?:"
            + "|".join(_phrase(c) for c in sorted(cues, key=len, reverse=True))
            + r")\s*(?:\w+\s+){0,2}\Z",
            re.IGNORECASE,
        )
        if cues
        else re.compile(r"(?!x)x"),
        count_to=re.compile(
            r"(?:[ \t]+[^\s.,;:!?()]+){0,5}?[ \t]+(?:"
            + "|".join(_phrase(t) for t in sorted(to_words, key=len, reverse=True))
            + r")\s+(?:(?P<approx>"
            + approx_alt
            + r")\s+)?(?P<number>"
            + DIGITS
            + r")(?:\s+(?P<scale>"
            + "|".join(map(re.escape, sorted(SCALES, key=len, reverse=True)))
            + r"))?(?=[ \t]*(?:[.,;:!?)\n]|\Z))",
            re.IGNORECASE,
        )
        if to_words
        else re.compile(r"(?!x)x"),
        civilian=Lexicon(
            (t, "civilian", _written_case(t))
            for t in _strings(spec.get("civilian_qualifiers"), "troops.civilian_qualifiers")
        ),
        fiction=Lexicon((t, "fiction", "ignore") for t in _strings(spec.get("fiction"), "troops.fiction")),
        phrase_breaks=frozenset(w.lower() for w in _strings(spec.get("phrase_breaks"), "troops.phrase_breaks")),
        # "thousands of troops", "des milliers d'hommes", "tysiące żołnierzy": up to two words before the unit.
        vague=re.compile(
            r"(?<!\w)(?P<phrase>" + vague_alt + r")(?:\s+(?:of|de|di|af|van|von|dei|degli|delle|del)\s+|\s+d['’]|\s+)"
            r"(?:[^\s\d.,;:!?()\[\]]+\s+){0,2}?\Z",
            re.IGNORECASE,
        ),
        vague_magnitudes=vague,
        vague_cues=phrase_cues(list(vague)),
        counted_noun_endings=_endings(spec.get("counted_noun_endings")),
        non_state=Lexicon(
            (t, "non-state", "ignore") for t in _strings(spec.get("non_state_groups"), "troops.non_state_groups")
        ),
        non_state_verbs=frozenset(w.lower() for w in _strings(spec.get("non_state_verbs"), "troops.non_state_verbs")),
        singular_units=frozenset(w.lower() for w in _strings(spec.get("singular_units"), "troops.singular_units")),
        unit_modifies=Lexicon(
            (t, "modified", "ignore") for t in _strings(spec.get("unit_modifies"), "troops.unit_modifies")
        ),
        of_them_cues=phrase_cues(of_them),
        of_them=re.compile(
            r"(?<!\w)(?:"
            + ("|".join(_phrase(o) for o in sorted(of_them, key=len, reverse=True)) or r"(?!x)x")
            + r")(?!\w)",
            re.IGNORECASE,
        ),
        of_them_number=re.compile(
            r"(?<!\w)(?:(?P<approx>"
            + approx_alt
            + r")\s+)?(?P<number>"
            + DIGITS
            + r"|[^\W\d_]+)(?:\s+(?P<scale>"
            + "|".join(map(re.escape, sorted(SCALES, key=len, reverse=True)))
            + r"))?\s+\Z",
            re.IGNORECASE,
        ),
        unit_classes=Lexicon(_labelled(spec.get("unit_classes"), "troops.unit_classes")),
        incidents=Lexicon((t, "incident", "ignore") for t in _strings(spec.get("incidents"), "troops.incidents")),
    )


_STRENGTH_DASH = r"\s?[-‑–]"  # between the number and the strength word: "4,000-strong", "300 – member"


def _endings(spec: Any) -> dict[str, tuple[str, ...]]:
    """troops.counted_noun_endings: {language: [endings]}."""
    if spec is None:
        return {}
    if not isinstance(spec, dict):
        raise ValueError("troops.counted_noun_endings must map a language code to a list of word endings")
    return {
        str(lang): tuple(_strings(endings, f"troops.counted_noun_endings.{lang}")) for lang, endings in spec.items()
    }


def _vague_phrases(spec: Any) -> dict[str, int]:
    """troops.vague: {magnitude: [phrases]} -> {folded phrase: magnitude}."""
    if spec is None:
        return {}
    if not isinstance(spec, dict):
        raise ValueError("troops.vague must map an order of magnitude (10, 100, 1000...) to a list of phrases")
    phrases: dict[str, int] = {}
    for magnitude, words in spec.items():
        if not isinstance(magnitude, int) or magnitude < 10:
            raise ValueError(f"troops.vague: {magnitude!r} is not an order of magnitude (10, 100, 1000...)")
        for word in _strings(words, f"troops.vague.{magnitude}"):
            phrases[" ".join(word.lower().split())] = magnitude
    return phrases


def _written_case(word: str) -> Case:
    """Acronyms ("ICE", "FBI") match only in capitals, capitalised names ("Met") only capitalised."""
    core = word.strip("*").replace(".", "").replace("-", "")
    if core.isupper():
        return "exact"
    return "capitalized" if core[:1].isupper() else "ignore"


def _labelled(spec: Any, where: str) -> list[tuple[str, str, Case]]:
    if spec is None:
        return []
    if not isinstance(spec, dict):
        raise ValueError(f"{where} must map a name to a list of words")
    out: list[tuple[str, str, Case]] = []
    for label, words in spec.items():
        if not 1 <= len(str(label)) <= 64:  # stored with each figure (troop_mentions.actor, .action)
            raise ValueError(f"{where}.{label}: a name is 1 to 64 characters")
        for word in _strings(words, f"{where}.{label}"):
            # Short upper-case forms ("US", "UK") are words only in capitals: "us" is a pronoun.
            case: Case = "exact" if word.strip("*").replace(".", "").replace("-", "").isupper() else "ignore"
            out.append((word, str(label), case))
    return out


def _phrase(words: str) -> str:
    return r"\s+".join(re.escape(w) for w in words.split())


def _strings(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, (str, int)) for v in value):
        raise ValueError(f"{where} must be a list of words")
    flag = next((v for v in value if isinstance(v, bool)), None)
    if flag is not None:
        raise ValueError(
            f"{where} holds {flag!r}, not a word: YAML reads unquoted on/off/yes/no as true/false, so quote it ('on')"
        )
    words = [str(v) for v in value]
    empty = next((i for i, w in enumerate(words) if not w.strip("* ")), None)
    if empty is not None:
        raise ValueError(f"{where}[{empty}] is empty: a term needs at least one letter")
    return words


def _list(value: Any, where: str) -> list[Any]:
    """An optional list of entries (near, exclude)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(f"{where} must be a list")
    return value


def _exclusion(spec: Any, where: str) -> Exclusion:
    langs: frozenset[str] = frozenset()
    if isinstance(spec, dict):
        langs = frozenset(_strings(spec.get("lang"), f"{where}.lang"))
        spec = spec.get("pattern")
    if not isinstance(spec, str):
        raise ValueError(f"{where} must be a regular expression or {{pattern, lang}}")
    try:
        pattern = re.compile(spec, re.IGNORECASE)
    except re.error as exc:
        raise ValueError(f"{where} is not a valid regular expression: {exc}") from None
    needs, needs_lowered, needs_one_of = _required_text(pattern)
    begins, begins_lowered = _leading_text(pattern)
    return Exclusion(
        pattern, langs, needs, needs_lowered, tuple(Cues(cues) for cues in needs_one_of), begins, begins_lowered
    )


_MIN_NEEDED = 3  # shorter runs of letters say little about a window


def _parse(pattern: re.Pattern[str]) -> tuple[Any, Any] | None:
    """The pattern's parse (re._parser) and re's constants to read it with; None on a Python without
    them (CPython 3.11+, not in the typing stubs): the shortcuts read from it are then left out."""
    try:
        parser = importlib.import_module("re._parser")
        constants = importlib.import_module("re._constants")
        return parser.parse(pattern.pattern, pattern.flags), constants
    except Exception:  # another Python's internals: no shortcut, same results
        return None


def _required_text(
    pattern: re.Pattern[str],
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[tuple[str, ...], ...]]:
    """Runs of literal characters that every match of `pattern` contains: (case-sensitive runs,
    lower-cased ASCII runs matched case-insensitively, and for each alternation of the top-level
    sequence whose every alternative has one, the lower-cased ASCII runs of its alternatives, of
    which a match holds one case-insensitively). Read from the pattern's parse (re._parser): only
    literals of the top-level sequence, of the groups in it and of its alternatives' own sequences
    count, never those under a repeat or a lookaround (a lookbehind may look outside the window).
    Nothing when the parse is not of the expected shape: the pattern then always runs."""
    found = _parse(pattern)
    if found is None:
        return (), (), ()
    parsed, _constants = found
    try:
        flags = int(parsed.state.flags)
    except Exception:  # another Python's internals: no shortcut, same results
        return (), (), ()
    exact: list[str] = []
    lowered: list[str] = []
    one_of: list[tuple[str, ...]] = []

    def alternative_run(items: Any) -> str:
        """The longest run of ASCII literals in an alternative's own sequence, lower-cased."""
        longest = run = ""
        for op, av in items:
            run = run + chr(av) if op is _constants.LITERAL and av < 0x80 else ""
            longest = max(longest, run, key=len)
        return longest.lower()

    def walk(items: Any, flags: int) -> None:
        run: list[str] = []

        def close() -> None:
            text = "".join(run)
            run.clear()
            if len(text) < _MIN_NEEDED:
                return
            if not flags & re.IGNORECASE:
                exact.append(text)
            elif text.isascii():
                lowered.append(text.lower())

        for op, av in items:
            if op is _constants.LITERAL:
                run.append(chr(av))
                continue
            close()
            if op is _constants.SUBPATTERN:
                _group, add_flags, del_flags, sub = av
                walk(sub, (flags | add_flags) & ~del_flags)
            elif op is _constants.BRANCH:
                runs = [alternative_run(alternative) for alternative in av[1]]
                if all(len(run) >= _MIN_NEEDED for run in runs):
                    one_of.append(tuple(sorted(set(runs))))
        close()

    try:
        walk(parsed, flags)
    except (TypeError, ValueError):
        return (), (), ()
    return tuple(exact), tuple(lowered), tuple(one_of)


def _leading_text(pattern: re.Pattern[str]) -> tuple[str, str]:
    """The literal text every match of `pattern` begins with, of _MIN_NEEDED characters or more:
    (as written, "") when it is matched case-sensitively, ("", lower-cased) when matched
    case-insensitively and ASCII, else ("", ""). Read from the pattern's parse: zero-width items
    (word boundaries, anchors, lookarounds) may come first, and a group may hold the text."""
    found = _parse(pattern)
    if found is None:
        return "", ""
    parsed, _constants = found
    try:
        items = list(parsed)
        flags = pattern.flags
        zero_width = (_constants.AT, _constants.ASSERT, _constants.ASSERT_NOT)
        while True:
            while items and items[0][0] in zero_width:
                items.pop(0)
            if not items or items[0][0] is not _constants.SUBPATTERN:
                break
            _group, add_flags, del_flags, sub = items[0][1]
            items, flags = list(sub), (flags | add_flags) & ~del_flags
        run = ""
        for op, av in items:
            if op is not _constants.LITERAL:
                break
            run += chr(av)
    except Exception:  # another Python's internals: no shortcut, same results
        return "", ""
    if not flags & re.IGNORECASE:
        return (run, "") if len(run) >= _MIN_NEEDED else ("", "")
    ascii_run = run[: next((i for i, c in enumerate(run) if not c.isascii()), len(run))]
    return ("", ascii_run.lower()) if len(ascii_run) >= _MIN_NEEDED else ("", "")
