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
