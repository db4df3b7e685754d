"""The spike statistic over synthetic series: bursts, steady streams with Poisson noise, the floor,
the cooldown, topic × language, late reports, and live batches against one replay."""

import math
import random
from datetime import UTC, datetime, timedelta

import pytest

from newsvigil.processors.spikes import (
    History,
    Report,
    SpikeParams,
    baseline,
    describe,
    find_spikes,
    poisson_tail,
    tally,
    threshold,
)
from newsvigil.records import hour_of

START = datetime(2025, 1, 1, tzinfo=UTC)
PARAMS = SpikeParams()


def poisson(rng: random.Random, rate: float) -> int:
    """A Poisson draw (Knuth: fine for the small rates here)."""
    limit, k, p = math.exp(-rate), 0, 1.0
    while True:
        p *= rng.random()
        if p < limit:
            return k
        k += 1


def stream(
    rng: random.Random, hours: int, rate: float, topic: str = "greenland", lang: str | None = "en", tag: str = "r"
) -> list[Report]:
    """Poisson(rate) reports in each hour, at random times within it."""
    out = []
    for h in range(hours):
        for i in range(poisson(rng, rate)):
            when = START + timedelta(hours=h, seconds=rng.randrange(3600))
            out.append(Report(f"{tag}{h:05d}-{i}-{topic}-{lang}", when, (topic,), lang))
    return out


def burst(at: datetime, n: int, topic: str = "greenland", lang: str | None = "en", tag: str = "b") -> list[Report]:
    """n reports within the hour from `at`."""
    return [Report(f"{tag}{i:03d}-{topic}", at + timedelta(minutes=i * 50 / n), (topic,), lang) for i in range(n)]


def keys(spikes):
    return [(s.topic, s.language, s.hour) for s in spikes]


def test_the_poisson_tail_is_exact():
    assert poisson_tail(0, 3.0) == 1.0
    assert poisson_tail(1, 3.0) == pytest.approx(1 - math.exp(-3))
    head = sum(math.exp(-3) * 3**k / math.factorial(k) for k in range(12))
    assert poisson_tail(12, 3.0) == pytest.approx(1 - head, rel=1e-9)
    assert 0 < poisson_tail(200, 3.0) < 1e-200  # far in the tail, where 1 - cdf is 0


def test_the_threshold_is_the_least_count_under_alpha():
    n = threshold(3.0, PARAMS)
    assert poisson_tail(n, 3.0) < PARAMS.alpha <= poisson_tail(n - 1, 3.0)
    assert threshold(0.0, SpikeParams(floor=0.0, min_reports=5)) == 5  # never under min_reports


def test_a_burst_raises_one_spike():
    rng = random.Random(1)
    quiet = stream(rng, 24 * 11, 3.0)
    at = START + timedelta(days=10, hours=14)
    spikes = find_spikes(quiet + burst(at, 40), History(), PARAMS)
    assert len(spikes) == 2  # one per key: greenland, and greenland in English
    topic_wide = next(s for s in spikes if s.language == "")
    assert topic_wide.hour == hour_of(at) and topic_wide.window_start == at
    assert topic_wide.count == baseline(tally(quiet)[("greenland", "")], hour_of(at), PARAMS).threshold  # at crossing
    assert 2.5 < topic_wide.mean < 3.5 and 1 < topic_wide.sd < 2.5
    assert topic_wide.p_value < PARAMS.alpha
    in_hour = [r for r in quiet + burst(at, 40) if hour_of(r.when) == hour_of(at)]
    crossing = sorted(in_hour, key=lambda r: (r.when, r.article_id))[topic_wide.count - 1]
    assert topic_wide.article_id == crossing.article_id
    assert describe("greenland", "", 42, at, 3.04, 1.7) == (
        "greenland: 42 reports in the hour from 2025-01-11 14:00 UTC, usual 3.0 ± 1.7"
    )


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("rate", [0.2, 3.0, 25.0])
def test_a_steady_stream_with_poisson_noise_raises_none(seed, rate):
    rng = random.Random(seed)
    assert find_spikes(stream(rng, 24 * 30, rate), History(), PARAMS) == []


def test_the_floor_keeps_a_quiet_topic_from_spiking_on_a_few_reports():
    """A topic with one report a week: 4 reports in an hour is not news, 9 is."""
    rare = [Report(f"w{d}", START + timedelta(days=d), ("greenland",), None) for d in range(0, 28, 7)]
    at = START + timedelta(days=30, hours=9)
    assert find_spikes(rare + burst(at, 4, lang=None), History(), PARAMS) == []
    assert keys(find_spikes(rare + burst(at, 9, lang=None), History(), PARAMS)) == [("greenland", "", hour_of(at))]
    assert threshold(PARAMS.floor, PARAMS) == 9  # the floor, not the tiny mean, sets the bar
    unfloored = SpikeParams(floor=0.01)
    assert keys(find_spikes(rare + burst(at, 5, lang=None), History(), unfloored)) != []


def test_the_cooldown_allows_one_spike_per_window():
    rng = random.Random(2)
    quiet = stream(rng, 24 * 10, 2.0, lang=None)
    first = START + timedelta(days=10)
    bursts = [burst(first + timedelta(hours=h), 30, lang=None, tag=f"b{h}-") for h in (0, 2, 5, 6)]
    spikes = find_spikes(quiet + [r for b in bursts for r in b], History(), PARAMS)
    assert [s.hour - hour_of(first) for s in spikes] == [0, 6]  # 2 and 5 are within 6 hours of 0


def test_topic_by_language_spikes_beside_the_topic_wide_one():
    """A burst in Danish alone: a Danish spike (and a topic-wide one); English stays quiet."""
    rng = random.Random(3)
    english = stream(rng, 24 * 10, 6.0, lang="en", tag="e")
    danish = stream(rng, 24 * 10, 0.5, lang="da", tag="d")
    at = START + timedelta(days=10, hours=3)
    spikes = find_spikes(english + danish + burst(at, 12, lang="da"), History(), PARAMS)
    assert sorted((s.topic, s.language) for s in spikes) == [("greenland", "da")]  # 6+12 is no spike for all
    spikes = find_spikes(english + danish + burst(at, 30, lang="da"), History(), PARAMS)
    assert sorted((s.topic, s.language) for s in spikes) == [("greenland", ""), ("greenland", "da")]
    two_topics = [Report(f"x{i}", at + timedelta(minutes=i), ("greenland", "nato"), "da") for i in range(30)]
    spikes = find_spikes(english + danish + two_topics, History(), PARAMS)
    assert {(s.topic, s.language) for s in spikes} == {
        ("greenland", ""),
        ("greenland", "da"),
        ("nato", ""),
        ("nato", "da"),
    }


def test_a_late_report_raises_no_spike_in_the_past():
    rng = random.Random(4)
    quiet = stream(rng, 24 * 10, 1.0, lang=None)
    at = START + timedelta(days=9)
    stored = [r for r in quiet if r.when < at] + [r for r in quiet if r.when >= at]
    history = History(hour_of(START), tally(stored), {("greenland", ""): hour_of(max(r.when for r in stored))})
    # The burst's reports arrive a day after their hour: counted, never a spike.
    assert find_spikes(burst(at, 40, lang=None), history, PARAMS) == []
    # The same burst within late_hours of the newest stored report is still on time.
    recent = START + timedelta(days=10) - timedelta(hours=PARAMS.late_hours)
    assert len(find_spikes(burst(recent, 40, lang=None), history, PARAMS)) == 1


def live(reports: list[Report], rng: random.Random, params: SpikeParams = PARAMS) -> list:
    """Process reports as a live pipeline does: in arrival batches of any size, each shuffled, each
    judged over what earlier batches stored (counts, newest hours, recorded spikes, first hour)."""
    ordered = sorted(reports, key=lambda r: (r.when, r.article_id))
    counts: dict = {}
    spiked: dict = {}
    first = None
    spikes: list = []
    at = 0
    while at < len(ordered):
        size = rng.choice([1, 2, 5, 20, 100, 500])
        batch = ordered[at : at + size]
        rng.shuffle(batch)
        at += size
        newest = {key: max(per_hour) for key, per_hour in counts.items()}
        found = find_spikes(batch, History(first, counts, newest, spiked), params)
        spikes += found
        for s in found:
            spiked.setdefault(s.key, set()).add(s.hour)
        for key, per_hour in tally(batch).items():
            for hour, n in per_hour.items():
                counts.setdefault(key, {})[hour] = counts.get(key, {}).get(hour, 0) + n
        first = min(hour_of(r.when) for r in batch) if first is None else first
    return spikes


@pytest.mark.slow
def test_a_year_in_live_batches_gives_the_spikes_of_one_replay():
    rng = random.Random(2025)
    reports = []
    for topic, lang, rate in [
        ("greenland", "da", 0.4),
        ("greenland", "en", 2.0),
        ("nato", "en", 6.0),
        ("nato", None, 1),
    ]:
        reports += stream(rng, 24 * 365, rate, topic, lang, tag=f"{topic}{lang}")
    for i in range(12):  # a burst a month, on a random topic and language
        topic, lang = rng.choice([("greenland", "da"), ("greenland", "en"), ("nato", "en")])
        at = START + timedelta(days=30 * i + rng.randrange(25), hours=rng.randrange(24))
        reports += burst(at, rng.randrange(15, 60), topic, lang, tag=f"m{i}-")
    replayed = find_spikes(reports, History(), PARAMS)
    assert len(replayed) >= 12  # each burst spikes at least its own key
    assert live(reports, random.Random(7)) == replayed
