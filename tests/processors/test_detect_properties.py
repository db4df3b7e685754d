"""Property: detection never raises on arbitrary Unicode, and every offset matches its quote."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsvigil.processors.detect import detect_text

FRAGMENTS = st.sampled_from(
    [
        "près de",
        "1 200",
        "80\u202f000",
        "8,5 tys.",
        "militaires",
        "troops",
        "Soldaten",
        "-strong brigade",
        "between",
        "and",
        "Nato",
        "OTAN",
        "Grønland",
        "nato a Roma",
        "https://x.example/nato",
        "%",
        "$",
        "-",
        "\n",
        "İ",
        "ß",
        "  ",
        "deux cents",
        "dwa tysiące",
        "une centaine de",
        "3.000 bis 5.000",
        "US-Soldaten",
        "about",
        "ca.",
        "'",
    ]
)
TEXTS = st.one_of(st.text(max_size=300), st.lists(st.one_of(FRAGMENTS, st.text(max_size=8)), max_size=40).map(" ".join))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=TEXTS, lang=st.sampled_from([None, "fr", "en", "de", "da", "nl", "es", "it", "pl", "xx"]))
def test_detection_is_total_and_offsets_match(rules, text, lang):
    _detected_lang, topics, troops, vague, verdicts = detect_text(text, rules, lang)
    assert set(topics) <= set(rules.topics)
    for mention in troops:
        assert 0 <= mention.start < mention.end <= len(text)
        assert text[mention.start : mention.end] == mention.quote
        assert mention.low <= mention.value <= mention.high
    for quantity in vague:
        assert text[quantity.start : quantity.end] == quantity.quote
        assert quantity.magnitude >= 10
    kept = [v.candidate.mention for v in verdicts if v.kept and v.candidate.magnitude is None]
    assert {(m.value, m.low, m.high) for m in kept} == {(m.value, m.low, m.high) for m in troops}
