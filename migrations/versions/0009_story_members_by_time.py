"""A story's latest members by index: (story_id, joined_at DESC, article_id) replaces (story_id)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28 (written by hand)

Story assignment reads the latest 20 members of each candidate story. Ranking every member with a
window function made a batch's cost grow with the size of the stories it touched; with this index
each story's latest members are the first rows of an index range on SQLite and PostgreSQL alike.
Its story_id prefix serves every lookup the single-column index served, which goes.
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_story_articles_recent", "story_articles", ["story_id", sa.text("joined_at DESC"), "article_id"])
    op.drop_index("ix_story_articles_story_id", table_name="story_articles")


def downgrade() -> None:
    op.create_index("ix_story_articles_story_id", "story_articles", ["story_id"])
    op.drop_index("ix_story_articles_recent", table_name="story_articles")
