"""Apply Alembic migrations programmatically (used by `newsvigil db upgrade` and the runners)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.exc import OperationalError

from newsvigil.errors import DatabaseError
from newsvigil.storage.database import shown_url

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at `url` up to `revision`."""
    try:
        command.upgrade(alembic_config(url), revision)
    except OperationalError as exc:
        raise DatabaseError(f"cannot migrate the database {shown_url(url)}: {exc.orig}") from None


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)
