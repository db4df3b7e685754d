"""Rules come from YAML: a user adds a topic or a unit word without code; bad files say where."""

import pytest

from newsvigil.errors import RulesError
from newsvigil.processors.detect import detect_text
from newsvigil.processors.rules import load_rules
from tests.support import REPO_ROOT


def test_user_adds_topic_and_unit(tmp_path):
    text = (REPO_ROOT / "seeds" / "topics.yaml").read_text(encoding="utf-8")
    text = text.replace(
        "topics:\n", "topics:\n  svalbard:\n    label: Svalbard\n    terms: [svalbard*, longyearbyen]\n", 1
    )
    text = text.replace("  units:\n", "  units:\n    - gardistes\n", 1)
    path = tmp_path / "topics.yaml"
    path.write_text(text, encoding="utf-8")
    rules = load_rules(path)
    _lang, found, troops, _, _ = detect_text("La Norvège envoie 40 gardistes au Svalbard.", rules, "fr")
    assert found == ["svalbard"]
    assert [m.value for m in troops] == [40]


@pytest.mark.parametrize(
    "content, message",
    [
        ("topics: [", "not valid YAML at line"),
        ("topics: {}\n", "'version' is missing"),
        ("version: 1\ntopics:\n  x:\n    label: X\ntroops: {units: [a]}\n", "topics.x has no terms"),
        (
            "version: 1\ntopics:\n  x:\n    terms: [a]\n    exclude: ['(']\ntroops: {units: [a]}\n",
            "topics.x.exclude[0] is not a valid regular expression",
        ),
        ("version: 1\ntopics:\n  x:\n    terms: a\ntroops: {units: [a]}\n", "topics.x.terms must be a list"),
        (
            "version: 1\ntopics:\n  x:\n    terms: [a]\ntroops: {units: [a], phrase_breaks: [by, on]}\n",
            "troops.phrase_breaks holds True, not a word: YAML reads unquoted on/off/yes/no as true/false",
        ),
        (
            "version: 1\ntopics:\n  x:\n    terms: [a]\ntroops: {units: [a], vague: {lots: [many]}}\n",
            "troops.vague: 'lots' is not an order of magnitude",
        ),
        (
            "version: 1\ntopics:\n  x:\n    terms: [a]\n    near: 5\ntroops: {units: [a]}\n",
            "topics.x.near must be a list",
        ),
        (
            "version: 1\ntopics:\n  x:\n    terms: [a]\n    exclude: 5\ntroops: {units: [a]}\n",
            "topics.x.exclude must be a list",
        ),
        ("version: 1\ntopics:\n  x:\n    terms: ['', a]\ntroops: {units: [a]}\n", "topics.x.terms[0] is empty"),
    ],
)
def test_bad_rules_name_the_problem(tmp_path, content, message):
    path = tmp_path / "topics.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(RulesError) as info:
        load_rules(path)
    assert message in str(info.value) and str(path) in str(info.value)


def test_missing_rules_file(tmp_path):
    with pytest.raises(RulesError, match="does not exist"):
        load_rules(tmp_path / "nope.yaml")
