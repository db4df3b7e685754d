"""How the command line words errors: the library's message, then a hint for what to do here."""

from __future__ import annotations

from newsvigil import errors


class UserError(errors.NewsvigilError):
    """Bad command-line input, reported with a hint that speaks of commands and options."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message, hint)


# Most specific class first: the first match gives the hint.
_HINTS: tuple[tuple[type[errors.NewsvigilError], str], ...] = (
    (errors.FeedListError, "set NEWSVIGIL_FEEDS to an OPML file or a text file of feed URLs"),
    (errors.RulesError, "fix the file (see seeds/topics.yaml) or point NEWSVIGIL_TOPICS at another"),
    (errors.DatabaseError, "check NEWSVIGIL_DATABASE_URL and that the database server runs"),
    (errors.BrokerUnreachable, "start it (make services) or fix NEWSVIGIL_BROKER"),
    (errors.WorkersRunning, "stop the workers (newsvigil worker) first; start them again afterwards"),
    (errors.TopicMissing, "run `newsvigil ingest` or `newsvigil replay` in Kafka mode first"),
    (errors.BrokerError, "check that the workers are stopped and try again"),
    (errors.ArchiveError, "replay again with fewer --workers, or --workers 0"),
    (errors.NotFound, "the matching `list` command shows what exists (e.g. `newsvigil subscribe list`)"),
)


def hint_for(exc: errors.NewsvigilError) -> str:
    """The error's own remedy, else the command line's hint for its kind of error."""
    if exc.remedy:
        return exc.remedy
    return next((hint for kind, hint in _HINTS if isinstance(exc, kind)), "")
