"""Topics: multilingual names, inflections, case rules, exclusions, URLs, proximity rules."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsvigil.processors.detect import detect_text


def topics(text, rules, lang=None):
    return detect_text(text, rules, lang)[1]


@pytest.mark.parametrize(
    "text, lang, expected",
    [
        ("Sommet de l'Otan à La Haye", "fr", ["nato"]),
        ("NATO allies meet in Brussels", "en", ["nato"]),
        ("Nato-Gipfel in Den Haag", "de", ["nato"]),
        ("NAVO-top in Den Haag", "nl", ["nato"]),
        ("Natos generalsekretær besøger Nuuk", "da", ["nato", "greenland"]),
        ("Sekretarz generalny Sojuszu Północnoatlantyckiego", "pl", ["nato"]),
        ("Trump chce kupić Grenlandię", "pl", ["greenland"]),
        ("Grönlands Regierung lehnt ab", "de", ["greenland"]),
        ("Los groenlandeses votan", "es", ["greenland"]),
        ("La Nato a Vilnius: il vertice", "it", ["nato"]),
        ("Les alliés de l'Alliance atlantique", "fr", ["nato"]),
        ("Pituffik Space Base gets new radar", "en", ["greenland"]),
    ],
)
def test_topic_names(text, lang, expected, rules):
    assert topics(text, rules, lang) == expected


@pytest.mark.parametrize(
    "text, lang",
    [
        ("Marco è nato a Roma nel 1980 e vive a Milano.", "it"),
        ("Nato a Roma nel 1950, l'attore ha lavorato a lungo.", "it"),
        ("I gemelli sono nati in primavera.", "it"),
        ("The senator met a donator in Chinatown.", "en"),
        ("Read more at https://example.com/nato-greenland-news", "en"),
        ("Curator Nato Thompson said the show opens Friday.", "en"),
        ("Richard Greenland, a chef from Leeds, opened a bistro.", "en"),
        ("Greenland Holdings reported higher profit in Shanghai.", "en"),
        ("The film Greenland stars Gerard Butler.", "en"),
        # Topic sense on words the rules never listed: rules that generalise, not lists of examples.
        ("Greenland sharks can live for 400 years, scientists say.", "en"),
        ("Fishermen landed a record catch of Greenland halibut off Norway.", "en"),
        ("Der Grönlandhai wird bis zu 400 Jahre alt.", "de"),
        ("Le requin du Groenland vit très longtemps.", "fr"),
        ("Greenland Foods Ltd opens a new bakery in Leeds.", "en"),
        ("Greenland Pizza on Main Street wins an award.", "en"),
        ("Watch the new Greenland trailer before the weekend.", "en"),
        ("The National Association of Theater Owners (NATO) set ticket prices at $4.", "en"),
    ],
)
def test_traps(text, lang, rules):
    assert topics(text, rules, lang) == []


def test_proximity_rule(rules):
    assert topics("Trump eyes the Arctic island, a Danish territory", rules, "en") == ["greenland"]
    assert topics("An Arctic island far from anything", rules, "en") == []


def test_required_text_of_a_pattern():
    import re

    from newsvigil.processors.rules import _required_text

    def needs(pattern):
        return _required_text(re.compile(pattern, re.IGNORECASE))[:2]

    assert needs(r"(?-i:\bNato\s+[A-Z][a-z]+)(?=\s+said)") == (("Nato",), ())
    assert needs(r"\bgreenland\s+(?:shark|seal)s?\b") == ((), ("greenland",))
    assert needs(r"\b(?:requin|phoque)\s+du\s+(?:groenland|groenlandia)\b") == ((), ("groenland",))
    # Under an alternative, a repeat or a lookaround, a literal is not needed in the window.
    assert needs(r"(?:nato|otan)|(?<=Nuuk )x|(?=Thule)y|(?:Pituffik)?z") == ((), ())
    assert needs(r"\bétats-unis\b") == ((), ())  # not ASCII: case-insensitive matching is not lower()
    assert needs(r"(?-i:Grønland)") == (("Grønland",), ())


def test_required_alternatives_of_a_pattern():
    import re

    from newsvigil.processors.rules import _required_text

    def one_of(pattern):
        return _required_text(re.compile(pattern, re.IGNORECASE))[2]

    assert one_of(r"\b(?:actress|Actor|künstlerin)\s+(?-i:Nato)") == (("actor", "actress", "nstlerin"),)
    assert one_of(r"(?:box\s+office|film)\s+(?:of|the)") == (("film", "office"),)  # "of": too short
    assert one_of(r"(?:nato|otan)?x|(?=nato|otan)y") == ()  # under a repeat or a lookaround: not needed


def test_lower_finds_ascii_text_as_case_insensitive_patterns_do():
    """Exclusion.may_match seeks ASCII text in a lower-cased window unless the window holds one of
    ASCII_CASE_PARTNERS: they are all the characters beyond ASCII that `re` matches to ASCII ones
    case-insensitively, and no other character lower-cases to ASCII or to more than one character."""
    import re
    import sys

    from newsvigil.processors.rules import ASCII_CASE_PARTNERS

    beyond = "".join(map(chr, range(0x80, sys.maxunicode + 1)))
    assert set(re.findall(r"[\x00-\x7f]", beyond, re.IGNORECASE)) == set(ASCII_CASE_PARTNERS)
    others = [c for c in beyond if c not in ASCII_CASE_PARTNERS]
    assert [c for c in others if len(c.lower()) != 1 or c.lower().isascii()] == []


EXCLUSION_FRAGMENTS = st.sampled_from(
    [
        *("Nato", "NATO", "nato", "Greenland", "GREENLAND", "greenland", "Groenland", "groenlandse", "grenlandzki"),
        *("actress", "Actor", "Thompson", "Vachnadze", "said", ",", " the ", "shark", "Sharks", "requin", "du", "film"),
        *("(NATO)", "National", "Association", "of", "Owners", "Mr.", "Holdings", "trailer", "è", "nato", "a", "Roma"),
        *("\n", ". ", "2", "(2020)", "ſ", "K", "İ", "ı", "Ltd", "haai", "rekin", "Gerard Butler", "Nuuk", "Richard"),
    ]
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(words=st.lists(EXCLUSION_FRAGMENTS, max_size=14), sep=st.sampled_from([" ", "", "  "]))
def test_an_exclusion_skipped_for_a_window_has_no_match_there(words, sep, rules):
    """Exclusion.may_match only skips patterns that find nothing in the window."""
    text = sep.join(words)
    for topic in rules.topics.values():
        for exclusion in topic.exclusions:
            if not exclusion.may_match(text):
                assert exclusion.pattern.search(text) is None


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    words=st.lists(EXCLUSION_FRAGMENTS, max_size=14),
    sep=st.sampled_from([" ", "", "  "]),
    cut=st.tuples(st.integers(0, 200), st.integers(0, 200)),
)
def test_an_exclusion_finds_what_its_pattern_finds(words, sep, cut, rules):
    """Exclusion.finditer, tried where its leading text occurs, gives the pattern's own finditer."""
    text = sep.join(words)
    lo, hi = min(cut), max(cut)
    for topic in rules.topics.values():
        for exclusion in topic.exclusions:
            expected = [m.span() for m in exclusion.pattern.finditer(text, lo, hi)]
            assert [m.span() for m in exclusion.finditer(text, lo, hi)] == expected


def test_leading_text_of_a_pattern():
    import re

    from newsvigil.processors.rules import _leading_text

    def begins(pattern):
        return _leading_text(re.compile(pattern, re.IGNORECASE))

    assert begins(r"(?-i:\bNato\s+[A-Z][a-z]+)(?=\s+said)") == ("Nato", "")
    assert begins(r"\bGreenland\s+(?:shark|seal)") == ("", "greenland")
    assert begins(r"(?<!\w)(?=G)Grøn") == ("", "")  # its ASCII part, "gr", is too short to seek
    assert begins(r"(?:nato|otan)\b") == ("", "")  # alternatives: no text every match begins with
    assert begins(r"\w+ Nato") == ("", "")
