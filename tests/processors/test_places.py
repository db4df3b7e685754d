"""Places of troop figures: the gazetteer (seeds/places.yaml) and the choice in a figure's sentence."""

import json
import shutil

import pytest

from newsvigil.errors import RulesError
from newsvigil.processors.detect import detect_text
from newsvigil.processors.places import compile_gazetteer
from newsvigil.processors.rules import SHIPPED_PLACES, load_rules
from tests.support import REPO_ROOT, newsvigil


def places(rules, text, lang):
    """(value, place id, place name) of every figure detect finds in `text`."""
    return [(m.value, m.place, m.place_name) for m in detect_text(text, rules, lang).troops]


@pytest.mark.parametrize(
    ("lang", "text", "expected"),
    [
        # destination
        ("en", "Britain sends 900 troops to Estonia for an allied exercise.", ("estonia", "Estonia")),
        ("fr", "Copenhague enverra une centaine de soldats supplémentaires au Groenland.", ("greenland", "Groenland")),
        ("de", "Die Bundeswehr schickt 300 Soldaten nach Litauen.", ("lithuania", "Litauen")),
        ("da", "Danmark sender omkring 150 soldater til Grønland.", ("greenland", "Grønland")),
        ("nl", "Nederland stuurt ruim 1.000 militairen naar Litouwen.", ("lithuania", "Litouwen")),
        ("es", "España desplegará 600 soldados a Letonia este verano.", ("latvia", "Letonia")),
        ("it", "L'Italia invierà 250 alpini in Lettonia.", ("latvia", "Lettonia")),
        ("pl", "Polska wyśle 200 żołnierzy na Łotwę.", ("latvia", "Łotwę")),
        # station
        ("en", "Nearly 80,000 American troops remain in Europe.", ("europe", "Europe")),
        ("fr", "Environ 1 500 soldats français sont stationnés en Estonie.", ("estonia", "Estonie")),
        ("de", "Etwa 35.000 US-Soldaten sind in Deutschland stationiert.", ("germany", "Deutschland")),
        ("da", "Omkring 300 danske soldater deltager i en øvelse i Letland.", ("latvia", "Letland")),
        ("nl", "Op de basis in Groenland werken ongeveer 150 Amerikaanse militairen.", ("greenland", "Groenland")),
        ("es", "Unos 35.000 soldados estadounidenses siguen en Alemania.", ("germany", "Alemania")),
        ("it", "Circa 12.000 soldati statunitensi sono di stanza in Italia.", ("italy", "Italia")),
        ("pl", "Około 10 tys. amerykańskich żołnierzy stacjonuje w Polsce.", ("poland", "Polsce")),
        # withdrawal origin
        ("en", "The US will withdraw some 1,500 soldiers from Romania.", ("romania", "Romania")),
        ("fr", "Les États-Unis vont retirer 3 000 militaires d'Allemagne.", ("germany", "Allemagne")),
        ("de", "Die USA ziehen rund 1.500 Soldaten aus Bayern ab.", ("germany", "Bayern")),
        ("da", "USA trækker omkring 1.000 soldater ud af Europa.", ("europe", "Europa")),
        ("nl", "De VS halen 1.500 soldaten weg uit Italië.", ("italy", "Italië")),
        ("es", "Estados Unidos retirará unos 3.000 soldados de Europa.", ("europe", "Europa")),
        ("it", "Gli Stati Uniti ritireranno circa 1.200 militari dalla Germania.", ("germany", "Germania")),
        ("pl", "USA wycofają 8,5 tys. żołnierzy z Niemiec.", ("germany", "Niemiec")),
    ],
)
def test_each_language_names_destination_station_and_origin(rules, lang, text, expected):
    [(_, place, name)] = places(rules, text, lang)
    assert (place, name) == expected


def test_no_place_when_the_sentence_names_none(rules):
    assert places(rules, "The army will recruit 6,000 more reservists next year.", "en") == [(6000, None, None)]
    # The place is in another sentence: it is not this figure's.
    text = "Denmark looks north.\nAbout 150 soldiers will be sent. The base is in Greenland."
    assert places(rules, text, "en") == [(150, None, None)]


@pytest.mark.parametrize(
    ("lang", "text", "expected"),
    [
        ("en", "Washington will withdraw 1,200 troops.", None),  # a seat of government stands for the actor
        ("en", "Russia has lost 300,000 soldiers, officials say.", None),  # the subject is the actor
        ("en", "US troops: 1,200 soldiers will be sent to Greenland.", "greenland"),
        ("en", "1,200 US troops are based in Germany.", "germany"),  # "US" is the figure's own
        ("de", "Rund 1.200 amerikanische Soldaten sind in Polen stationiert.", "poland"),
        ("de", "Rund 1.200 US-Soldaten verlassen die Nato-Stäbe.", None),
        ("en", "Ukraine needs 500,000 more soldiers to fight Russia.", None),  # an adversary, no place
        ("en", "The 2,000 troops will train with the United States.", None),  # a partner, no place
        ("en", "National Guard troops: 400 soldiers were sent to Washington.", "united_states"),  # a seat, after "to"
        ("fr", "Groenland : Copenhague dépêche une centaine de soldats supplémentaires", "greenland"),  # a heading
        ("en", "Israel: 2 soldiers wounded in West Bank drive-by shooting", "west_bank"),
        (
            "pl",
            "Od początku wojny Rosja straciła 340 tys. żołnierzy - podał Sztab Generalny Sił Zbrojnych Ukrainy.",
            None,
        ),
    ],
)
def test_the_actor_is_not_the_place(rules, lang, text, expected):
    [(_, place, _)] = places(rules, text, lang)
    assert place == expected


@pytest.mark.parametrize(
    ("text", "lang", "name", "place"),
    [
        ("Dania wyśle 150 żołnierzy do Grenlandii.", "pl", "Grenlandii", "greenland"),
        ("Dania wyśle 150 żołnierzy na Grenlandię.", "pl", "Grenlandię", "greenland"),
        ("USA wycofają 8,5 tys. żołnierzy z Europy.", "pl", "Europy", "europe"),
        ("W Europie stacjonuje 80 tys. amerykańskich żołnierzy.", "pl", "Europie", "europe"),
        ("Na Litwie stacjonuje 4 tys. niemieckich żołnierzy.", "pl", "Litwie", "lithuania"),
        ("Kanada ma 1000 żołnierzy na Łotwie.", "pl", "Łotwie", "latvia"),
        ("Niemcy wyślą 5 tys. żołnierzy do Niemiec i Polski.", "pl", "Niemiec", "germany"),
        ("Amerykanie przeniosą 1000 żołnierzy z Niemiec do Polski.", "pl", "Polski", "poland"),
        ("Rosjanie stracili pod Bachmutem 20 tys. żołnierzy.", "pl", "Bachmutem", "ukraine"),
        ("Dänemark hat 200 Soldaten innerhalb Grönlands verlegt.", "de", "Grönlands", "greenland"),
        ("Forsvaret sender 150 soldater til Grønlands østkyst.", "da", "Grønlands", "greenland"),
        ("Bundeswehr: 4.800 Soldaten für die Brigade in Litauen.", "de", "Litauen", "lithuania"),
    ],
)
def test_inflected_forms(rules, text, lang, name, place):
    [(_, found, written)] = places(rules, text, lang)
    assert (found, written) == (place, name)


def test_a_figure_said_twice_takes_the_place_either_sentence_names(rules):
    text = "US to withdraw 1,200 troops\nThe 1,200 troops will leave Germany by May."
    assert places(rules, text, "en") == [(1200, "germany", "Germany")]


def test_of_them_takes_the_place_of_its_figure(rules):
    text = "Some 12,000 soldiers of other Nato countries are stationed in Poland, 10,000 of them from the USA."
    assert places(rules, text, "en") == [(12000, "poland", "Poland"), (10000, "poland", "Poland")]


def test_the_nearest_name_after_a_preposition_wins(rules):
    text = "Germany will move 1,000 soldiers from Bavaria to Lithuania."
    assert places(rules, text, "en") == [(1000, "lithuania", "Lithuania")]  # destination before origin
    withdrawal = "The US will withdraw 1,000 soldiers from Germany to the United States."
    assert places(rules, withdrawal, "en") == [(1000, "germany", "Germany")]  # a withdrawal: its origin


def test_the_language_unknown_reads_every_languages_names(rules):
    assert places(rules, "La France déploie 1 500 soldats en Estonie.", None) == [(1500, "estonia", "Estonie")]


def test_every_place_lies_in_known_places_and_the_gazetteer_versions_the_rules(rules):
    gazetteer = rules.troops.places
    assert gazetteer.within("estonia") == ["baltic_states", "eastern_europe", "europe"]
    assert gazetteer.within("greenland") == ["arctic"]
    assert all(p.part_of is None or p.part_of in gazetteer.places for p in gazetteer.places.values())
    assert rules.version.endswith(f"+places.{gazetteer.version}")


def test_a_topics_file_may_name_another_gazetteer(tmp_path):
    topics = tmp_path / "topics.yaml"
    topics.write_text((REPO_ROOT / "seeds" / "topics.yaml").read_text(encoding="utf-8") + "\nplaces: mine.yaml\n")
    (tmp_path / "mine.yaml").write_text(
        'version: "7"\nprepositions:\n  en:\n    to: [to]\nplaces:\n  mars:\n    name: Mars\n    en: [Mars]\n',
        encoding="utf-8",
    )
    rules = load_rules(topics)
    assert rules.version.endswith("+places.7")
    assert places(rules, "NASA sends 4 soldiers to Mars.", "en") == [(4, "mars", "Mars")]
    assert places(rules, "Britain sends 900 troops to Estonia.", "en") == [(900, None, None)]
    shipped = load_rules(REPO_ROOT / "seeds" / "topics.yaml")
    assert shipped.version != rules.version and shipped.digest != rules.digest


def test_a_changed_gazetteer_changes_the_rules_fingerprint(tmp_path):
    folder = tmp_path / "seeds"
    folder.mkdir()
    shutil.copy(REPO_ROOT / "seeds" / "topics.yaml", folder / "topics.yaml")
    with (folder / "topics.yaml").open("a", encoding="utf-8") as f:
        f.write("\nplaces: places.yaml\n")
    shutil.copy(SHIPPED_PLACES, folder / "places.yaml")
    before = load_rules(folder / "topics.yaml")
    with (folder / "places.yaml").open("a", encoding="utf-8") as f:
        f.write("  atlantis:\n    name: Atlantis\n    en: [Atlantis]\n")
    after = load_rules(folder / "topics.yaml")
    assert before.digest != after.digest


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "does not exist"),
        ("places: [unclosed", "is not valid YAML at line 1"),
        ('version: "1"\nprepositions: {}\nplaces: []\n', "'places' must be a mapping"),
        ('version: "1"\nprepositions:\n  en:\n    in: [in, on]\nplaces:\n  x:\n    en: [X]\n', "quote it"),
        ('version: "1"\nprepositions: {}\nplaces:\n  x:\n    part_of: y\n    en: [X]\n', "part_of: no place 'y'"),
        ('version: "1"\nprepositions: {}\nplaces:\n  x:\n    english: [X]\n', "unknown keys ['english']"),
        ('version: "1"\nprepositions: {}\nplaces:\n  ' + "x" * 65 + ":\n    en: [X]\n", "an id is 1 to 64 characters"),
    ],
)
def test_a_bad_gazetteer_is_a_clear_error(tmp_path, content, message):
    topics = tmp_path / "topics.yaml"
    topics.write_text((REPO_ROOT / "seeds" / "topics.yaml").read_text(encoding="utf-8") + "\nplaces: bad.yaml\n")
    if content is not None:
        (tmp_path / "bad.yaml").write_text(content, encoding="utf-8")
    with pytest.raises(RulesError) as error:
        load_rules(topics)
    assert "bad.yaml" in str(error.value) and message in str(error.value)


def test_compile_gazetteer_refuses_a_mapping_without_version():
    with pytest.raises(ValueError, match="'version' is missing"):
        compile_gazetteer({"places": {"x": {"en": ["X"]}}})


def test_detect_cli_prints_the_place():
    items = [
        {"id": "1", "lang": "da", "title": "Forsvaret sender 150 soldater til Grønland", "summary": ""},
        {"id": "2", "lang": "en", "title": "Washington will withdraw 1,200 troops", "summary": ""},
    ]
    result = newsvigil("detect", input="".join(json.dumps(i) + "\n" for i in items))
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.returncode == 0
    assert lines[0]["troops"][0]["place"] == {"id": "greenland", "name": "Grønland"}
    assert lines[1]["troops"][0]["place"] is None
