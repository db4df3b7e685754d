"""Persistence: SQLAlchemy 2.x models, the engine, and repositories with idempotent writes."""
