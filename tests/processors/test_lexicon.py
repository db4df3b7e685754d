"""fold and the one-pass scan of several lexicons: the same results as the simple forms they replace."""

from hypothesis import given, settings
from hypothesis import strategies as st

from newsvigil.processors.lexicon import Lexicon, LexiconScan, fold

# Characters that lower-case to two ('İ'), by context ('Σ'), or that are spaces of every kind.
SPECIAL = (
    "İΣσςẞßĲǅǈΐ\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2007\u200a\u200b\u2028\u2029\u202f\u205f\u3000\ufeff"
)
TEXTS = st.one_of(
    st.text(max_size=200),
    st.text(alphabet=st.sampled_from(SPECIAL + "aZ é-"), max_size=60),
    st.lists(st.one_of(st.text(max_size=6), st.sampled_from(list(SPECIAL))), max_size=40).map("".join),
)


def reference_fold(text: str) -> str:
    """fold as it was first written: str.translate over a table of every space below U+3001."""
    spaces = str.maketrans({c: " " for c in map(chr, range(0x3001)) if c.isspace() and c != " "})
    lowered = text.lower()
    if len(lowered) != len(text):
        lowered = "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
    return lowered.translate(spaces)


@settings(max_examples=600, deadline=None)
@given(text=TEXTS)
def test_fold_is_the_reference_fold(text):
    folded = fold(text)
    assert folded == reference_fold(text)
    assert len(folded) == len(text)  # offsets into the folded text are offsets into the text


def test_fold_examples():
    # 'İ' lower-cases to two characters: it stays, and the others are lowered one by one.
    assert fold("NATO\u00a0Summit\tİstanbul\u2028ΟΔΟΣ") == "nato summit İstanbul οδοσ"
    assert fold("ΟΔΟΣ") == "οδος"  # otherwise str.lower, final sigma included
    assert fold("ascii only\r\n") == "ascii only  "


ENTRIES = [
    ("nato", "nato", "capitalized"),
    ("otan", "nato", "ignore"),
    ("sojusz* północnoatlantyck*", "nato", "ignore"),
    ("greenland*", "greenland", "ignore"),
    ("*soldaten", "unit", "ignore"),
    ("troops", "unit", "ignore"),
    ("troop", "weak", "ignore"),
    ("US", "us", "exact"),
    ("atlantic", "near", "ignore"),
    ("atlantic alliance", "near", "ignore"),
    ("alliance", "near", "ignore"),
]
WORDS = st.sampled_from(
    [
        *("Nato", "nato", "OTAN", "sojusz", "Sojuszu Północnoatlantyckiego", "Greenland's", "Bundeswehrsoldaten"),
        *("troops", "troop", "US", "us", "Atlantic alliance", "alliance", "senator", "İ", "\u00a0", "-", "'", "x"),
    ]
)


@settings(max_examples=300, deadline=None)
@given(words=st.lists(st.one_of(WORDS, st.text(max_size=5)), max_size=25), sep=st.sampled_from([" ", "", "\n", "-"]))
def test_one_scan_finds_what_each_lexicon_finds(words, sep):
    lexicons = [
        Lexicon(e for e in ENTRIES if e[1] in {"nato", "greenland"}),
        Lexicon(e for e in ENTRIES if e[1] == "near"),
        Lexicon(e for e in ENTRIES if e[1] in {"unit", "weak", "us", "nato"}),  # keys shared with the first
        Lexicon([]),
    ]
    text = sep.join(words)
    folded = fold(text)
    assert LexiconScan(lexicons).scan(text, folded) == [lexicon.find(text, folded) for lexicon in lexicons]


def test_one_scan_with_the_shipped_rules(rules):
    text = (
        "NATO's Sojuszu Północnoatlantyckiego: 3,000 US troops and Bundeswehrsoldaten in Greenland (atlantic alliance)"
    )
    folded = fold(text)
    found = rules.whole_text.scan(text, folded)
    assert found == [
        rules.terms.find(text, folded),
        rules.near_terms.find(text, folded),
        rules.troops.units.find(text, folded),
    ]
    assert {h.label for h in found[0]} == {"nato", "greenland"} and found[2]
