"""The story signature: datasketch's MinHash values, computed without datasketch, and computed
where an article is detected."""

import itertools
import random
from datetime import UTC, datetime

import numpy as np
from datasketch import MinHash

from newsvigil.processors.detect import detect_articles
from newsvigil.processors.stories import _WORD, NUM_PERM, signature
from newsvigil.records import Article


def datasketch_signature(text: str) -> np.ndarray:
    """The signature as it was first defined: datasketch's MinHash over the same shingles."""
    words = [w.lower() for w in _WORD.findall(text)]
    shingles = set(words) | {f"{a} {b}" for a, b in itertools.pairwise(words)}
    minhash = MinHash(num_perm=NUM_PERM, seed=7)
    minhash.update_batch([s.encode() for s in shingles] or [b""])
    return minhash.hashvalues.astype(np.uint64)


def test_the_signature_is_datasketchs_minhash_bit_for_bit():
    rng = random.Random(5)
    alphabet = "abcdefgh ąęłŻ ЖжИи 0123 ,."
    texts = ["", "   ", "NATO", "Nato sends 4,500 troops to Lithuania.", "Die Bundeswehr verlegt 5.000 Soldaten."]
    texts += ["".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 400))) for _ in range(500)]
    texts += texts[:50]  # again: shingles hashed before come from the cache
    for text in texts:
        ours = signature(text)
        assert ours.dtype == np.uint64
        assert np.array_equal(ours, datasketch_signature(text)), text


def article(id_: str, title: str, body: str = "") -> Article:
    return Article(
        id=id_,
        feed_url="https://f.example/rss",
        source="F",
        title=title,
        summary="Allies meet in Brussels.",
        published=datetime(2025, 3, 1, tzinfo=UTC),
        language="en",
        body=body,
    )


def test_detection_carries_the_signature_of_on_topic_articles_only(rules):
    on_topic = article("a1", "Nato plans Baltic rotation", "The alliance will rotate about 4,500 troops.")
    off_topic = article("a2", "Bakery wins a prize for its bread")
    (_, found), (_, nothing) = detect_articles([on_topic, off_topic], rules)
    assert not isinstance(found, str) and found.topics
    assert np.array_equal(np.frombuffer(found.text_signature, dtype=np.uint64), signature(on_topic.text))
    assert not isinstance(nothing, str) and not nothing.topics and nothing.text_signature is None
