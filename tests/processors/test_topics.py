"""Topics: multilingual names, inflections, case rules, exclusions, URLs, proximity rules."""

import pytest

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
