"""Numbers as news writes them, in eight languages: '1 200', '80.000', '8,5 tys.', 'dreitausend'.

`parse_digits` reads digit groups with any European separator; `number_words_value` reads number
words (text2num for fr/en/de/es/it/nl/da, our own reader for Polish); `SCALES` maps scale words.
"""

from __future__ import annotations

import re
from functools import lru_cache

from text_to_num import text2num

# Digit groups: "80 000" (space, U+00A0, U+202F, U+2009), "80,000", "80.000", "80'000", "1,5".
DIGITS = r"(?<![\d.,])\d{1,3}(?:[ \u00a0\u202f\u2009]\d{3})+(?![\d])|(?<![\d.,])\d+(?:[.,'’]\d+)*"
DIGITS_RE = re.compile(DIGITS)
_INDIAN_GROUPS = re.compile(r"\d{1,2}(?:,\d\d)+,\d{3}")

SCALES: dict[str, int] = {}
for _value, _words in (
    (
        1_000,
        "k thousand thousands tausend tsd tsd. mille mila mil duizend tusind tusinde tys tys. tysiąc tysiąca tysiące tysięcy tysiącach",
    ),
    (
        1_000_000,
        "m million millions millionen mio mio. miljoen miljoenen millón millones milione milioni millioner mln mln. milion miliona miliony milionów",
    ),
):
    for _w in _words.split():
        SCALES[_w] = _value

# A plural scale standing alone ("thousands of troops", "tysiące żołnierzy") is a vague quantity,
# not a figure; after a number ("dwa tysiące", "3 millions") it is a scale.
PLURAL_SCALES = frozenset(
    {
        "thousands",
        "millions",
        "tysiące",
        "tysięcy",
        "tysiącach",
        "miliony",
        "milionów",
        "millionen",
        "miljoenen",
        "millioner",
        "millones",
        "milioni",
    }
)

# "une centaine de soldats" = about 100: nouns of approximate quantity, with the number they stand for.
# Their plurals ("des milliers de soldats") are vague quantities, not figures: see troops.vague in topics.yaml.
APPROX_NOUNS = {
    "centaine": 100,
    "millier": 1000,
    "dizaine": 10,
    "centinaio": 100,
    "migliaio": 1000,
    "centenar": 100,
    "millar": 1000,
    "honderdtal": 100,
    "duizendtal": 1000,
    "dozen": 12,
    "dutzend": 12,
}
# Words that only mean "one" before a scale or quantity noun ("a thousand", "un millier"), per
# language: Danish "en"/"et" and Dutch "een" are also English words, so each is read in its own language.
ONE_BY_LANG: dict[str, frozenset[str]] = {
    "en": frozenset({"a", "an", "one"}),
    "fr": frozenset({"un", "une"}),
    "de": frozenset({"ein", "eine", "einer"}),
    "da": frozenset({"en", "et"}),
    "nl": frozenset({"een"}),
    "es": frozenset({"un", "uno", "una"}),
    "it": frozenset({"un", "uno", "una"}),
    "pl": frozenset({"jeden", "jedna"}),
}
ONE = frozenset().union(*ONE_BY_LANG.values())

# Number-word morphemes per language. A word is a number word only in the language of the text it is
# in: English "to" is not Danish "to" (two), Italian "Otto" in a name is not English, Polish "sto"
# (hundred) is not read in other languages. Text of an unknown language is read in all of them.
_MORPHEMES_BY_LANG = {
    "en": """one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen
        seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred thousand""",
    "fr": """un une deux trois quatre cinq six sept huit neuf dix onze douze treize quatorze quinze seize vingt
        vingts trente quarante cinquante soixante septante huitante nonante cent cents mille et""",
    "de": """ein eins zwei drei vier fünf sechs sieben acht neun zehn elf zwölf zwanzig dreißig dreissig vierzig
        fünfzig sechzig siebzig achtzig neunzig hundert tausend und sech sieb""",
    "nl": """een twee drie vier vijf zes zeven acht negen tien elf twaalf dertien veertien vijftien zestien
        zeventien achttien negentien twintig dertig veertig vijftig zestig zeventig tachtig negentig
        honderd duizend ën en""",
    "da": """en et to tre fire fem seks syv otte ni ti elleve tolv tretten fjorten femten seksten sytten atten
        nitten tyve tredive fyrre halvtreds tres halvfjerds firs halvfems hundrede tusind tusinde og""",
    "es": """un uno una dos tres cuatro cinco seis siete ocho nueve diez once doce trece catorce quince dieciséis
        dieciseis diecisiete dieciocho diecinueve veinte veinti treinta cuarenta cincuenta sesenta setenta
        ochenta noventa cien ciento doscientos doscientas trescientos trescientas cuatrocientos
        cuatrocientas quinientos quinientas seiscientos seiscientas setecientos setecientas ochocientos
        ochocientas novecientos novecientas mil y""",
    "it": """un uno una due tre tré quattro cinque sei sette otto nove dieci undici dodici tredici quattordici
        quindici sedici diciassette diciotto diciannove venti vent trenta trent quaranta quarant cinquanta
        cinquant sessanta sessant settanta settant ottanta ottant novanta novant cento mila mille""",
}


def _alternation(words: set[str]) -> re.Pattern[str]:
    return re.compile(r"(?:" + "|".join(map(re.escape, sorted(words, key=len, reverse=True))) + r")+")


_WORD_NUMBER_BY_LANG = {lang: _alternation(set(words.split())) for lang, words in _MORPHEMES_BY_LANG.items()}
_WORD_NUMBER_ANY = _alternation({w for words in _MORPHEMES_BY_LANG.values() for w in words.split()})
CONNECTORS = {"and", "et", "und", "og", "y", "e", "en", "i"}

# Polish number words in the cases news uses ("dwa tysiące", "trzech tysięcy", "pięciuset").
_POLISH: dict[str, float] = {}
for _v, _forms in (
    (1, "jeden jedna jedno jednego"),
    (2, "dwa dwie dwóch dwu dwoma dwom"),
    (3, "trzy trzech trzem trzema"),
    (4, "cztery czterech czterem czterema"),
    (5, "pięć pięciu"),
    (6, "sześć sześciu"),
    (7, "siedem siedmiu"),
    (8, "osiem ośmiu"),
    (9, "dziewięć dziewięciu"),
    (10, "dziesięć dziesięciu"),
    (11, "jedenaście jedenastu"),
    (12, "dwanaście dwunastu"),
    (13, "trzynaście trzynastu"),
    (14, "czternaście czternastu"),
    (15, "piętnaście piętnastu"),
    (16, "szesnaście szesnastu"),
    (17, "siedemnaście siedemnastu"),
    (18, "osiemnaście osiemnastu"),
    (19, "dziewiętnaście dziewiętnastu"),
    (20, "dwadzieścia dwudziestu"),
    (30, "trzydzieści trzydziestu"),
    (40, "czterdzieści czterdziestu"),
    (50, "pięćdziesiąt pięćdziesięciu"),
    (60, "sześćdziesiąt sześćdziesięciu"),
    (70, "siedemdziesiąt siedemdziesięciu"),
    (80, "osiemdziesiąt osiemdziesięciu"),
    (90, "dziewięćdziesiąt dziewięćdziesięciu"),
    (100, "sto stu"),
    (200, "dwieście dwustu"),
    (300, "trzysta trzystu"),
    (400, "czterysta czterystu"),
    (500, "pięćset pięciuset"),
    (600, "sześćset sześciuset"),
    (700, "siedemset siedmiuset"),
    (800, "osiemset ośmiuset"),
    (900, "dziewięćset dziewięciuset"),
):
    for _w in _forms.split():
        _POLISH[_w] = _v
_POLISH["pół"] = 0.5  # "pół miliona" = 500 000
_POLISH["półtora"] = 1.5  # "półtora tysiąca" = 1 500
_POLISH_SCALES = {w: v for w, v in SCALES.items() if w.startswith(("tys", "mil", "mln"))}

TEXT2NUM_LANGS = ("fr", "en", "de", "es", "it", "nl", "da")


_GROUP_SPACE = re.compile(r"[ \u00a0\u202f\u2009]")
_SEPARATOR = re.compile(r"[.,'’]")


def parse_digits(token: str) -> float | None:
    """The value of a digit token: '1 200' -> 1200, '80.000' -> 80000, '1,5' -> 1.5, '2.5' -> 2.5."""
    compact = _GROUP_SPACE.sub("", token)
    if _INDIAN_GROUPS.fullmatch(compact):
        return float(compact.replace(",", ""))  # "2,44,000" = 244 000 (lakh grouping, Indian outlets)
    parts = _SEPARATOR.split(compact)
    if len(parts) == 1:
        return float(compact) if compact.isdigit() else None
    if not all(p.isdigit() for p in parts):
        return None
    last_sep = max(compact.rfind(c) for c in ".,'’")
    head, tail = compact[:last_sep], compact[last_sep + 1 :]
    if len(tail) == 3 and len(parts[0]) <= 3 and all(len(p) == 3 for p in parts[1:]):
        return float("".join(parts))  # every separator groups thousands
    if compact[last_sep] in "'’":
        return None
    # The last separator is a decimal point; any before it group thousands.
    head_digits = _SEPARATOR.sub("", head)
    return float(f"{head_digits}.{tail}")


def is_number_word(word: str, lang: str | None = None) -> bool:
    """True for a number word (or compound like 'dreitausend', 'quatre-vingt') of `lang`; of any
    supported language when `lang` is None or not one of them."""
    w = word.lower()
    if lang in _WORD_NUMBER_BY_LANG:
        pattern = _WORD_NUMBER_BY_LANG[lang]
        if w in SCALES:
            return True
    elif lang == "pl":
        return w in _POLISH or w in _POLISH_SCALES or w in SCALES
    else:
        if w in _POLISH or w in _POLISH_SCALES or w in SCALES:
            return True
        pattern = _WORD_NUMBER_ANY
    return all(pattern.fullmatch(part) for part in w.split("-") if part) and bool(w.strip("-"))


def number_words_value(words: list[str], lang: str | None) -> float | None:
    """The value of a run of number words in `lang` (any supported language when None), or None."""
    lowered = [w.lower() for w in words]
    if lang in (None, "pl") or lang not in TEXT2NUM_LANGS:
        if all(w in _POLISH or w in _POLISH_SCALES for w in lowered):
            return _polish_value(lowered)
        if lang == "pl":
            return None
    return _text2num(" ".join(lowered), lang)


@lru_cache(maxsize=4096)
def _text2num(phrase: str, lang: str | None) -> float | None:
    langs = (lang,) if lang in TEXT2NUM_LANGS else TEXT2NUM_LANGS
    for candidate in langs:
        try:
            return float(text2num(phrase, candidate))
        except (ValueError, IndexError, KeyError, AssertionError):
            continue
    return None


def _polish_value(words: list[str]) -> float | None:
    total = 0.0
    current = 0.0
    for word in words:
        if word in _POLISH_SCALES:
            total += (current or 1) * _POLISH_SCALES[word]
            current = 0
        else:
            current += _POLISH[word]
    return float(total + current) or None
