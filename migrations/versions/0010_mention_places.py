"""The place a troop figure is about: troop_mentions.place (gazetteer id) and place_name (as written)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28 (written by hand)

Figures stored before this revision have no place (NULL) until `reprocess` reads them again.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("troop_mentions") as batch:
        batch.add_column(sa.Column("place", sa.String(64), nullable=True))
        batch.add_column(sa.Column("place_name", sa.String(128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("troop_mentions") as batch:
        batch.drop_column("place_name")
        batch.drop_column("place")
