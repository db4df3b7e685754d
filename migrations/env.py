"""Alembic environment: the URL comes from the caller (newsvigil db upgrade) or the settings."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from newsvigil.settings import get_settings
from newsvigil.storage.database import make_engine
from newsvigil.storage.models import Base

config = context.config
url: str = config.get_main_option("sqlalchemy.url") or get_settings().database_url


def run_migrations_offline() -> None:
    context.configure(url=url, target_metadata=Base.metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = make_engine(url)
    with engine.connect() as connection:
        # Batch mode lets later ALTERs work on SQLite, which cannot alter most columns in place.
        context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                # Workers and ingesters start together and all migrate: one at a time.
                connection.execute(text("SELECT pg_advisory_xact_lock(7243911)"))
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
