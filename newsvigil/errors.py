"""The errors the library reports. Each names what was wrong and where; the interfaces word them
(the CLI adds a hint per class, the API picks a status, the worker logs them)."""

from __future__ import annotations


class NewsvigilError(Exception):
    """Base of every expected failure: bad input, bad configuration, a service that is not there.

    `remedy` is an interface-neutral fix ("remove the <!DOCTYPE> block"); interfaces may add their own.
    """

    def __init__(self, message: str, remedy: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.remedy = remedy

    def __str__(self) -> str:
        return self.message


class ConfigError(NewsvigilError):
    """A setting, or a file a setting names, that cannot be used."""


class FeedListError(ConfigError):
    """The feed list (OPML or text) is missing or malformed."""


class RulesError(ConfigError):
    """The topics file is missing or malformed."""


class DatabaseError(NewsvigilError):
    """The database URL is unusable or the database cannot be migrated."""


class BrokerError(NewsvigilError):
    """Kafka is unreachable or refused an operation."""


class BrokerUnreachable(BrokerError):
    """No Kafka broker answers at the configured address."""


class WorkersRunning(BrokerError):
    """An operation needs the consumer group's workers stopped."""


class TopicMissing(BrokerError):
    """A bus topic does not exist yet."""


class ArchiveError(NewsvigilError):
    """An archive could not be read as a whole (a file's bad items are reported, not raised)."""


class NotFound(NewsvigilError):
    """A thing named by id or URL does not exist."""


class InvalidInput(NewsvigilError):
    """A value given by a user is refused."""
