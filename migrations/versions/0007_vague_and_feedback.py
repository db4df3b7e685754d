"""Vague quantities on detections; users' feedback on wrong troop figures

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 (written by hand)
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("detections") as batch:
        batch.add_column(sa.Column("vague", sa.Text(), nullable=True))
    op.create_table(
        "troop_feedback",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("article_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("rules_version", sa.String(length=64), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"], ["articles.id"], name=op.f("fk_troop_feedback_article_id_articles"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_troop_feedback")),
        sa.UniqueConstraint("article_id", "kind", "value", name="uq_troop_feedback_figure"),
    )
    op.create_index(op.f("ix_troop_feedback_article_id"), "troop_feedback", ["article_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_troop_feedback_article_id"), table_name="troop_feedback")
    op.drop_table("troop_feedback")
    with op.batch_alter_table("detections") as batch:
        batch.drop_column("vague")
