"""Defaults that settings and the pure core share, in a module that imports nothing (detection
must not pull in pydantic to know them)."""

# The identifier may answer only these unless NEWSVIGIL_LANGUAGES says otherwise.
DEFAULT_LANGUAGES = (
    "fr",
    "en",
    "de",
    "da",
    "nl",
    "es",
    "it",
    "pl",
    "sv",
    "no",
    "fi",
    "is",
    "pt",
    "ru",
    "uk",
    "cs",
    "ro",
    "hu",
)

DEFAULT_STORY_WINDOW_HOURS = 72.0

# Spike alerts (processors/spikes.py): the statistic's parameters, NEWSVIGIL_SPIKE_* in settings.
DEFAULT_SPIKE_HALFLIFE_HOURS = 24.0  # an hour this long ago weighs half as much in the baseline
DEFAULT_SPIKE_BASELINE_DAYS = 7  # hours before the window the baseline reads
DEFAULT_SPIKE_FLOOR = 1.0  # least baseline rate (reports per hour): a quiet topic does not spike on 2 reports
DEFAULT_SPIKE_ALPHA = 1e-5  # Poisson tail probability under which an hour's count is a spike
DEFAULT_SPIKE_MIN_REPORTS = 5  # fewer reports in an hour are never a spike
DEFAULT_SPIKE_COOLDOWN_HOURS = 6  # at most one spike per (topic, language) within this many hours
DEFAULT_SPIKE_WARMUP_HOURS = 24  # hours of stored reports (any topic) before the first hour judged
DEFAULT_SPIKE_LATE_HOURS = 2  # a report this many hours older than its topic's newest raises no spike
