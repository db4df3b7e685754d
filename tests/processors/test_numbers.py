import pytest

from newsvigil.processors.numbers import is_number_word, number_words_value, parse_digits


@pytest.mark.parametrize(
    "token, value",
    [
        ("1 200", 1200),
        ("80\u00a0000", 80000),
        ("80\u202f000", 80000),
        ("80,000", 80000),
        ("80.000", 80000),
        ("80'000", 80000),
        ("1,5", 1.5),
        ("2.5", 2.5),
        ("1.234,5", 1234.5),
        ("1,234.5", 1234.5),
        ("150", 150),
        ("1.200.000", 1200000),
    ],
)
def test_digit_groupings(token, value):
    assert parse_digits(token) == value


@pytest.mark.parametrize(
    "words, lang, value",
    [
        (["deux", "cents"], "fr", 200),
        (["quatre-vingt", "mille"], "fr", 80000),
        (["dreitausend"], "de", 3000),
        (["tusind"], "da", 1000),
        (["dos", "mil"], "es", 2000),
        (["tweeduizend"], "nl", 2000),
        (["duemila"], "it", 2000),
        (["dwa", "tysiące"], "pl", 2000),
        (["trzech", "tysięcy"], "pl", 3000),
        (["pięciuset"], "pl", 500),
        (["two", "hundred", "and", "fifty"], "en", 250),
        (["to", "tusind"], None, 2000),
    ],
)
def test_number_words(words, lang, value):
    assert all(is_number_word(w) for w in words if w not in {"and"})
    assert number_words_value(words, lang) == value


def test_ordinary_words_are_not_numbers():
    assert not is_number_word("soldats")
    assert not is_number_word("centre")
    assert number_words_value(["soldats"], "fr") is None
