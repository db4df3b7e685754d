"""The language of a text: the feed's when it is plausible, else py3langid's guess (its model ships
in the wheel; its byte scan is done by newsvigil.processors.langid_scan)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

_SAMPLE_CHARS = 240  # enough for a reliable guess; the model's cost grows with the sample

# The letters of each language the identifier answers by default, beyond a-z for those written in
# Latin script. A declared language is implausible when the text holds many letters outside them
# (a Polish text declared "en", a Cyrillic one declared "fr").
_LATIN_EXTRA = {
    "en": "",
    "fr": "àâæçéèêëîïôœùûüÿ",
    "de": "äöüß",
    "da": "æøåé",
    "nl": "áéèëíïóöúü",
    "es": "áéíóúüñ",
    "it": "àèéìíîòóùú",
    "pl": "ąćęłńóśźż",
    "sv": "åäöé",
    "no": "æøåéòô",
    "fi": "äöåšž",
    "is": "áðéíóúýþæö",
    "pt": "áâãàçéêíóôõúü",
    "cs": "áčďéěíňóřšťúůýž",
    "ro": "ăâîșşțţ",
    "hu": "áéíóöőúüű",
}
_CYRILLIC = {
    "ru": "абвгдежзийклмнопрстуфхцчшщъыьэюяё",
    "uk": "абвгґдеєжзиіїйклмнопрстуфхцчшщьюя",
}
# Letters outside a language's alphabet are tolerated up to this many, and up to this share of the
# text: names and quotes ("Wałęsa", "Erdoğan", "Núñez") in an English text leave it English.
_FOREIGN_LETTERS = 3
_FOREIGN_SHARE = 0.02
_ASCII_LETTERS = re.compile(r"[A-Za-z]")


def _either_case(letters: str) -> str:
    return re.escape("".join(sorted(set(letters + letters.upper()))))


# Characters that are not ASCII and not in the language's alphabet (signs too: only letters count).
_OUTSIDE = {
    lang: re.compile(r"[^\x00-\x7f" + _either_case(letters) + "]")
    for lang, letters in {**_LATIN_EXTRA, **_CYRILLIC}.items()
}
# The letters of an alphabet without a-z: a text in another script has more a-z than these.
_OWN_LETTERS = {lang: re.compile("[" + _either_case(letters) + "]") for lang, letters in _CYRILLIC.items()}


@lru_cache(maxsize=8)
def _identifier(languages: tuple[str, ...]) -> Any:
    from py3langid.langid import MODEL_FILE

    from newsvigil.processors.langid_scan import fast_identifier

    identifier = fast_identifier(MODEL_FILE)
    known = set(identifier.nb_classes)
    wanted = [code for code in languages if code in known]
    if wanted:
        identifier.set_languages(wanted)
    return identifier


def normalise_language(tag: str | None) -> str | None:
    """'fr-FR', 'en_GB', 'DA' -> 'fr', 'en', 'da'; junk -> None."""
    if not tag:
        return None
    code = tag.strip().replace("_", "-").split("-")[0].lower()
    if code in {"nb", "nn"}:
        return "no"
    return code if code.isalpha() and 2 <= len(code) <= 3 else None


def plausible(lang: str, text: str) -> bool:
    """Whether `text` can be in `lang`. Not when more than a few of its letters, and more than 2 % of
    it, are letters that are not ASCII and not in the alphabet of `lang` (a Polish text declared
    "en", a Ukrainian one declared "ru"), nor, for a language not written in Latin script, when it
    has more a-z than letters of its alphabet. True for a language whose alphabet is not listed."""
    outside = _OUTSIDE.get(lang)
    if outside is None:
        return True
    own = _OWN_LETTERS.get(lang)
    if own is None and text.isascii():
        return True
    if own is not None and len(_ASCII_LETTERS.findall(text)) > len(own.findall(text)):
        return False
    found = outside.findall(text)
    if len(found) < _FOREIGN_LETTERS:
        return True
    count = sum(1 for c in found if c.isalpha())
    return count < _FOREIGN_LETTERS or count < _FOREIGN_SHARE * len(text)


def _sample_to_identify(text: str, hint: str | None, languages: tuple[str, ...]) -> tuple[str | None, str | None]:
    """(the language without the identifier, None) when the declared language stands or the text
    has no letters to identify; else (None, the sample the identifier reads)."""
    declared = normalise_language(hint)
    if declared and (declared not in languages or plausible(declared, text)):
        return declared, None
    sample = text[:_SAMPLE_CHARS]
    if not any(c.isalpha() for c in sample):
        return declared, None
    return None, sample


def identify_languages(items: Sequence[tuple[str, str | None]], languages: tuple[str, ...]) -> list[str | None]:
    """`identify_language` of each (text, hint), with the texts that need the identifier scanned in
    one walk (its cost per call, most of a short sample's, is paid once)."""
    out: list[str | None] = []
    asked: list[int] = []
    samples: list[str] = []
    for text, hint in items:
        lang, sample = _sample_to_identify(text, hint, languages)
        if sample is not None:
            asked.append(len(out))
            samples.append(sample)
        out.append(lang)
    if samples:
        identifier = _identifier(languages)
        many = getattr(identifier, "classify_many", None)  # py3langid's own identifier has none
        found = many(samples) if many else [identifier.classify(s)[0] for s in samples]
        for position, lang in zip(asked, found, strict=True):
            out[position] = str(lang)
    return out


def identify_language(text: str, hint: str | None, languages: tuple[str, ...]) -> str | None:
    """The language of `text`: the declared one (`hint`, the feed's) unless the text contradicts it,
    else the identifier's best guess among `languages` (None for a text without letters).

    A declared language that is not among `languages` is kept: they limit what the identifier may
    answer, and it could only answer another language."""
    lang, sample = _sample_to_identify(text, hint, languages)
    return lang if sample is None else str(_identifier(languages).classify(sample)[0])
