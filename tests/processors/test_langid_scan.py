"""The vectorised byte scan gives py3langid's own scores, bit for bit, and so its answers."""

from collections import Counter
from functools import cache

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from py3langid.langid import MODEL_FILE, LanguageIdentifier

from newsvigil.processors.evaluation import load_corpus
from newsvigil.processors.langid_scan import ByteScanner, _first_occurrences, fast_identifier
from newsvigil.records import join_text
from newsvigil.settings import DEFAULT_LANGUAGES
from tests.support import REPO_ROOT

LANGUAGES = list(DEFAULT_LANGUAGES)


@cache
def pair(languages=None):
    """(py3langid's identifier, ours), both limited to `languages` when given."""
    plain = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=False)
    fast = fast_identifier(MODEL_FILE)
    if languages:
        plain.set_languages(list(languages))
        fast.set_languages(list(languages))
    return plain, fast


def same_scores(text):
    for languages in (tuple(LANGUAGES), ("en", "pl"), None):
        plain, fast = pair(languages)
        data = plain._encode(text)
        assert np.array_equal(fast._raw_score(data), plain._raw_score(data))
        assert fast.classify(text) == plain.classify(text)


def test_the_fast_identifier_is_in_use():
    _, fast = pair()
    assert isinstance(fast.scanner, ByteScanner)
    assert 2 <= fast.scanner.depth <= 16


@pytest.mark.slow  # a few seconds: make test-fast stays near a minute (CI runs it)
def test_same_scores_on_the_corpus():
    for item in load_corpus(REPO_ROOT / "tests" / "processors" / "corpus"):
        text = join_text(item["title"], item["summary"])
        same_scores(text[:240])
        same_scores(text[:17])


@settings(max_examples=300, deadline=None)
@given(
    text=st.one_of(
        st.text(max_size=240),
        st.text(alphabet=st.sampled_from("aąeęłnoóstwzżAĘÅØÆÉ éèüß.,'-\n0123456789Дж"), max_size=240),
        st.binary(max_size=120).map(lambda b: b.decode("latin-1")),
    )
)
def test_same_scores_on_any_text(text):
    same_scores(text)


def test_featureless_text_gets_py3langids_answer():
    for text in ["", " ", "\x00\x01", "@@@###"]:
        same_scores(text)


def test_a_model_that_is_not_a_byte_dfa_keeps_py3langids_scan():
    # Byte 0 leaves the root: padding with zero bytes would not start each window at the root.
    nextmove = np.zeros(512, dtype=np.uint32)
    nextmove[0] = 1
    with pytest.raises(ValueError, match="byte 0"):
        ByteScanner(nextmove, np.array([0, 1], dtype=np.uint16), [-1, 0])


def same_answers_in_one_walk(texts):
    for languages in (tuple(LANGUAGES), ("en", "pl"), None):
        plain, fast = pair(languages)
        assert fast.classify_many(list(texts)) == [plain.classify(t)[0] for t in texts]


def test_one_walk_over_many_texts_gives_each_texts_answer():
    items = load_corpus(REPO_ROOT / "tests" / "processors" / "corpus")
    texts = [join_text(i["title"], i["summary"])[:240] for i in items]
    # short and featureless texts between the others: no window may reach into a neighbour
    texts += ["", "a", "\x00\x01", "@@@###", "NATO", "Ål", "Grønland"] + [t[:17] for t in texts[:50]]
    same_answers_in_one_walk(texts)
    same_answers_in_one_walk(texts[::-1])
    same_answers_in_one_walk([])


@settings(max_examples=100, deadline=None)
@given(
    texts=st.lists(st.text(alphabet=st.sampled_from("aąeęłnoóstwzżAĘÅØÆÉ éèüß.,'-\n0123Дж"), max_size=80), max_size=12)
)
def test_one_walk_over_any_texts_gives_each_texts_answer(texts):
    same_answers_in_one_walk(texts)


@settings(max_examples=200, deadline=None)
@given(values=st.lists(st.integers(min_value=0, max_value=40), min_size=1, max_size=60), huge=st.booleans())
def test_first_occurrences_counts_values_as_a_counter_does(values, huge):
    # `huge` values cannot be packed with their index in an int64: the stable argsort then groups them
    offset = 1 << 61 if huge else 0
    group = np.array(values, dtype=np.int64) + offset
    kept, counts = _first_occurrences(group)
    counted = Counter(values)  # in first-occurrence order, as py3langid counts features
    assert [values[k] for k in kept] == list(counted)
    assert counts.dtype == np.float32
    assert counts.tolist() == [float(c) for c in counted.values()]
