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

SCALES: dict[str, int] = {}
for _value, _words in (
    (1_000, "k thousand thousands tausend tsd tsd. mille mila mil duizend tusind tusinde tys tys. tysiąc tysiące tysięcy tysiącach"),
    (1_000_000, "m million millions millionen mio mio. miljoen miljoenen millón millones milione milioni millioner mln mln. milion miliony milionów"),
):
    for _w in _words.split():
        SCALES[_w] = _value

# "une centaine de soldats" = about 100: nouns of approximate quantity, with the number they stand for.
APPROX_NOUNS = {
    "centaine": 100, "centaines": 100, "millier": 1000, "milliers": 1000, "dizaine": 10, "dizaines": 10,
    "centinaio": 100, "centinaia": 100, "migliaio": 1000, "migliaia": 1000, "centenar": 100, "centenares": 100,
    "millar": 1000, "millares": 1000, "honderdtal": 100, "duizendtal": 1000, "dozen": 12, "dutzend": 12,
}
# Words that only mean "one" before a scale or quantity noun: "a thousand", "un millier".
ONE = {"a", "an", "one", "un", "une", "ein", "eine", "einer", "et", "en", "een", "uno", "una", "jeden", "jedna"}

_MORPHEMES = sorted(
    set(
        """
        one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen
        seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred thousand
        un une deux trois quatre cinq six sept huit neuf dix onze douze treize quatorze quinze seize vingt
        vingts trente quarante cinquante soixante septante huitante nonante cent cents mille
        ein eins zwei drei vier fünf sechs sieben acht neun zehn elf zwölf zwanzig dreißig dreissig vierzig
        fünfzig sechzig siebzig achtzig neunzig hundert tausend und sech sieb
        een twee drie vier vijf zes zeven acht negen tien elf twaalf dertien veertien vijftien zestien
        zeventien achttien negentien twintig dertig veertig vijftig zestig zeventig tachtig negentig
        honderd duizend ën en
        et to tre fire fem seks syv otte ni ti elleve tolv tretten fjorten femten seksten sytten atten
        nitten tyve tredive fyrre halvtreds tres halvfjerds firs halvfems hundrede tusind tusinde og
        uno una dos cuatro cinco seis siete ocho nueve diez once doce trece catorce quince dieciséis
        dieciseis diecisiete dieciocho diecinueve veinte veinti treinta cuarenta cincuenta sesenta setenta
        ochenta noventa cien ciento doscientos doscientas trescientos trescientas cuatrocientos
        cuatrocientas quinientos quinientas seiscientos seiscientas setecientos setecientas ochocientos
        ochocientas novecientos novecientas mil
        due tré quattro cinque sei sette otto nove dieci undici dodici tredici quattordici quindici sedici
        diciassette diciotto diciannove venti vent trenta trent quaranta quarant cinquanta cinquant
        sessanta sessant settanta settant ottanta ottant novanta novant cento mila
        """.split()
    ),
    key=len,
    reverse=True,
)
_WORD_NUMBER = re.compile(r"(?:" + "|".join(map(re.escape, _MORPHEMES)) + r")+")
CONNECTORS = {"and", "et", "und", "og", "y", "e", "en", "i"}

# Polish number words in the cases news uses ("dwa tysiące", "trzech tysięcy", "pięciuset").
_POLISH: dict[str, int] = {}
for _v, _forms in (
    (1, "jeden jedna jedno jednego"), (2, "dwa dwie dwóch dwu dwoma dwom"), (3, "trzy trzech trzem trzema"),
    (4, "cztery czterech czterem czterema"), (5, "pięć pięciu"), (6, "sześć sześciu"), (7, "siedem siedmiu"),
    (8, "osiem ośmiu"), (9, "dziewięć dziewięciu"), (10, "dziesięć dziesięciu"), (11, "jedenaście jedenastu"),
    (12, "dwanaście dwunastu"), (13, "trzynaście trzynastu"), (14, "czternaście czternastu"),
    (15, "piętnaście piętnastu"), (16, "szesnaście szesnastu"), (17, "siedemnaście siedemnastu"),
    (18, "osiemnaście osiemnastu"), (19, "dziewiętnaście dziewiętnastu"), (20, "dwadzieścia dwudziestu"),
    (30, "trzydzieści trzydziestu"), (40, "czterdzieści czterdziestu"), (50, "pięćdziesiąt pięćdziesięciu"),
    (60, "sześćdziesiąt sześćdziesięciu"), (70, "siedemdziesiąt siedemdziesięciu"),
    (80, "osiemdziesiąt osiemdziesięciu"), (90, "dziewięćdziesiąt dziewięćdziesięciu"), (100, "sto stu"),
    (200, "dwieście dwustu"), (300, "trzysta trzystu"), (400, "czterysta czterystu"), (500, "pięćset pięciuset"),
    (600, "sześćset sześciuset"), (700, "siedemset siedmiuset"), (800, "osiemset ośmiuset"),
    (900, "dziewięćset dziewięciuset"),
):
    for _w in _forms.split():
        _POLISH[_w] = _v
_POLISH_SCALES = {w: v for w, v in SCALES.items() if w.startswith(("tys", "mil", "mln"))}

TEXT2NUM_LANGS = ("fr", "en", "de", "es", "it", "nl", "da")


def parse_digits(token: str) -> float | None:
    """The value of a digit token: '1 200' -> 1200, '80.000' -> 80000, '1,5' -> 1.5, '2.5' -> 2.5."""
    compact = re.sub(r"[ \u00a0\u202f\u2009]", "", token)
    parts = re.split(r"[.,'’]", compact)
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
    head_digits = re.sub(r"[.,'’]", "", head)
    return float(f"{head_digits}.{tail}")


def is_number_word(word: str) -> bool:
    """True for a number word (or compound like 'dreitausend', 'quatre-vingt') in any supported language."""
    w = word.lower()
    if w in _POLISH or w in _POLISH_SCALES or w in SCALES:
        return True
    return all(_WORD_NUMBER.fullmatch(part) for part in w.split("-") if part) and bool(w.strip("-"))


def number_words_value(words: list[str], lang: str | None) -> float | None:
    """The value of a run of number words, or None when it is not a number in any language."""
    lowered = [w.lower() for w in words]
    if all(w in _POLISH or w in _POLISH_SCALES for w in lowered):
        return _polish_value(lowered)
    return _text2num(" ".join(lowered), lang)


@lru_cache(maxsize=4096)
def _text2num(phrase: str, lang: str | None) -> float | None:
    langs = ((lang,) if lang in TEXT2NUM_LANGS else ()) + tuple(l for l in TEXT2NUM_LANGS if l != lang)
    for candidate in langs:
        try:
            return float(text2num(phrase, candidate))
        except (ValueError, IndexError, KeyError, AssertionError):
            continue
    return None


def _polish_value(words: list[str]) -> float | None:
    total = 0
    current = 0
    for word in words:
        if word in _POLISH_SCALES:
            total += (current or 1) * _POLISH_SCALES[word]
            current = 0
        else:
            current += _POLISH[word]
    return float(total + current) or None
