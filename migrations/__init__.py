"""Alembic migrations for newsvigil's database (SQLite and PostgreSQL)."""
