"""The language of a text: the feed's own unless the text contradicts it, else the identifier's."""

import pytest

from newsvigil.processors.detect import detect
from newsvigil.processors.language import identify_language, normalise_language, plausible
from newsvigil.records import Article
from newsvigil.settings import DEFAULT_LANGUAGES

DUTCH = "Het kabinet presenteerde dinsdag de plannen voor de woningmarkt."
POLISH = (
    "Finlandia wkrótce w NATO. Znamy dokładną datę\nFinlandia zostanie oficjalnie przyjęta do NATO we wtorek — "
    "powiedział na konferencji prasowej w Brukseli sekretarz generalny NATO Jens Stoltenberg."
)
RUSSIAN = "Путин заявил, что Россия не собирается нападать на страны НАТО."
UKRAINIAN = "Лідери НАТО зустрілися у Вільнюсі, щоб обговорити підтримку України."
ENGLISH_WITH_NAMES = (
    "Polish general Władysław Sikorski and Lech Wałęsa were honoured in Kraków on Sunday, "
    "while Recep Tayyip Erdoğan met Darwin Núñez, officials said."
)


def lang(text, declared=None, languages=DEFAULT_LANGUAGES):
    return identify_language(text, declared, languages)


def test_a_plausible_declared_language_is_taken_as_it_is():
    assert lang(DUTCH) == "nl"
    assert lang(DUTCH, "de") == "de"  # nothing in the text contradicts the feed: no identification
    assert lang(ENGLISH_WITH_NAMES, "en-GB") == "en"  # a few foreign names do not make it another language
    assert lang("Danmark sender omkring 150 soldater til Grønland.", "nb") == "no"


@pytest.mark.parametrize(
    "text, declared, expected",
    [
        (POLISH, "en", "pl"),  # a Polish outlet whose feed says "en" (a CMS default)
        (RUSSIAN, "fr", "ru"),  # another script
        ("Putin said Russia has no plans to attack the countries of NATO.", "ru", "en"),
        (UKRAINIAN, "ru", "uk"),  # letters Russian does not have
    ],
)
def test_a_declared_language_the_text_contradicts_is_identified(text, declared, expected):
    assert not plausible(normalise_language(declared), text)
    assert lang(text, declared) == expected


def test_a_declared_language_outside_the_configured_ones_is_kept():
    """NEWSVIGIL_LANGUAGES limits what the identifier may answer; it could only answer another language."""
    assert lang("Slovenska vojska bo poslala 50 vojakov.", "sl") == "sl"
    assert lang(POLISH, "pl", ("en", "fr")) == "pl"


def test_text_without_letters():
    assert lang("1 200 - 3 000") is None
    assert lang("") is None
    assert lang("1 200 - 3 000", "fr") == "fr"


def test_plausible_counts_letters_not_signs():
    quoted = "«Le sommet de l’Otan» — “a turning point”, € 3 000 … " * 3
    assert plausible("en", quoted) and plausible("fr", quoted)
    assert plausible("en", "Wałęsa")  # two foreign letters: below the count
    assert not plausible("en", "Wałęsa Łódź")  # five, and more than 2 % of the text
    assert plausible("en", "Wałęsa Łódź " + "x" * 300)  # five, under 2 %
    assert plausible("xx", RUSSIAN)  # no alphabet known: nothing can contradict it
    assert plausible("ru", RUSSIAN + " NATO") and plausible("uk", UKRAINIAN)
    assert not plausible("ru", "NATO summit in Vilnius")


def test_detect_takes_the_article_language(rules):
    def article(text, language):
        return Article(id="a", feed_url="f", source="s", title=text, summary="", language=language)

    assert detect(article(DUTCH, "de"), rules).lang == "de"
    assert detect(article(POLISH, "en"), rules).lang == "pl"
    assert detect(article(POLISH, None), rules).lang == "pl"


def test_languages_identified_in_one_batch_are_those_found_one_by_one():
    from newsvigil.processors.evaluation import load_corpus
    from newsvigil.processors.language import identify_language, identify_languages
    from newsvigil.records import join_text
    from newsvigil.settings import DEFAULT_LANGUAGES
    from tests.support import REPO_ROOT

    items = load_corpus(REPO_ROOT / "tests" / "processors" / "corpus")
    texts = [join_text(i["title"], i["summary"]) for i in items]
    # no hint, a right or wrong hint, a hint outside the languages, and texts without letters
    hints = [None, "en", "pl", "fr-FR", "xx", None, "de"]
    pairs = [(t, hints[n % len(hints)]) for n, t in enumerate(texts)] + [("1,200", None), ("", "da"), ("   ", None)]
    languages = tuple(DEFAULT_LANGUAGES)
    assert identify_languages(pairs, languages) == [identify_language(t, h, languages) for t, h in pairs]
