"""Figure series: series (actor, place, unit class, kind) and series_points (a report's figure for one)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28 (written by hand)

Points are recorded as reports are stored; reports stored before this revision join their series
when `reprocess` (or a replay of their archive) reads them again.
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "series",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("place", sa.String(64), nullable=False),
        sa.Column("unit_class", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("place_name", sa.String(128), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_series"),
        sa.UniqueConstraint("actor", "place", "unit_class", "kind", name="uq_series_key"),
    )
    op.create_table(
        "series_points",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.String(64), nullable=False),
        sa.Column("published", sa.DateTime(timezone=True), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("low", sa.Float(), nullable=False),
        sa.Column("high", sa.Float(), nullable=False),
        sa.Column("approx", sa.Boolean(), nullable=False),
        sa.Column("unit", sa.String(128), nullable=False),
        sa.Column("quote", sa.Text(), nullable=False),
        sa.Column("start", sa.Integer(), nullable=False),
        sa.Column("end", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(64), nullable=True),
        sa.Column("place_name", sa.String(128), nullable=True),
        sa.Column("previous_id", sa.Integer(), nullable=True),
        sa.Column("changed", sa.Boolean(), nullable=False),
        sa.Column("newest", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_series_points"),
        sa.ForeignKeyConstraint(
            ["series_id"], ["series.id"], name="fk_series_points_series_id_series", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["article_id"], ["articles.id"], name="fk_series_points_article_id_articles", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["previous_id"],
            ["series_points.id"],
            name="fk_series_points_previous_id_series_points",
            ondelete="SET NULL",
        ),
        sa.UniqueConstraint("series_id", "article_id", name="uq_series_points_series_article"),
    )
    op.create_index("ix_series_points_article_id", "series_points", ["article_id"])
    op.create_index("ix_series_points_series_published", "series_points", ["series_id", "published"])


def downgrade() -> None:
    op.drop_index("ix_series_points_series_published", table_name="series_points")
    op.drop_index("ix_series_points_article_id", table_name="series_points")
    op.drop_table("series_points")
    op.drop_table("series")
