"""Spike alerts: article_topics.language and .hour (what spikes count by), the spikes table, and the
new kinds for subscriptions that asked for every kind

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29 (written by hand)

article_topics gains the report's detected language ("" when unknown) and its clock hour (hours since
1970-01-01T00:00Z of published, else fetched: records.hour_of), filled here for stored reports; the
index (topic, hour, language) replaces (topic), whose lookups it serves as a prefix. Subscriptions
whose kinds held all three kinds there were (the default: "everything") get the two kinds of step 12,
`figure_changed` (0011) and `spike`, as new subscriptions do by default.
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

OLD_KINDS = {"new_story", "new_report", "new_figure"}
NEW_KINDS = ("figure_changed", "spike")


def upgrade() -> None:
    with op.batch_alter_table("article_topics") as batch:
        batch.add_column(sa.Column("language", sa.String(16), nullable=False, server_default=""))
        batch.add_column(sa.Column("hour", sa.Integer(), nullable=True))
        batch.drop_index("ix_article_topics_topic")
        batch.create_index("ix_article_topics_topic_hour", ["topic", "hour", "language"])
    when = "COALESCE(a.published_at, a.fetched_at)"
    if op.get_bind().dialect.name == "postgresql":
        hour = f"CAST(FLOOR(EXTRACT(EPOCH FROM {when}) / 3600) AS INTEGER)"
    else:  # SQLite keeps UTC times as text: strftime('%s') reads them as UTC
        hour = f"CAST(strftime('%s', {when}) AS INTEGER) / 3600"
    op.execute(
        "UPDATE article_topics SET "
        f"hour = (SELECT {hour} FROM articles a WHERE a.id = article_topics.article_id), "
        "language = COALESCE((SELECT d.lang FROM detections d WHERE d.article_id = article_topics.article_id), '')"
    )
    op.create_table(
        "spikes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("topic", sa.String(128), nullable=False),
        sa.Column("language", sa.String(16), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("baseline", sa.Float(), nullable=False),
        sa.Column("sd", sa.Float(), nullable=False),
        sa.Column("p_value", sa.Float(), nullable=False),
        sa.Column("article_id", sa.String(64), nullable=False),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_spikes"),
        sa.UniqueConstraint("topic", "language", "window_start", name="uq_spikes_window"),
    )
    op.create_index("ix_spikes_window_start", "spikes", ["window_start"])
    subscriptions = sa.table("subscriptions", sa.column("id", sa.Integer()), sa.column("kinds", sa.String()))
    bind = op.get_bind()
    for sub_id, kinds in bind.execute(sa.select(subscriptions.c.id, subscriptions.c.kinds)).all():
        listed = [k for k in (kinds or "").split(",") if k]
        added = [k for k in NEW_KINDS if k not in listed]
        if set(listed) >= OLD_KINDS and added:
            bind.execute(
                subscriptions.update().where(subscriptions.c.id == sub_id).values(kinds=",".join([*listed, *added]))
            )


def downgrade() -> None:
    subscriptions = sa.table("subscriptions", sa.column("id", sa.Integer()), sa.column("kinds", sa.String()))
    bind = op.get_bind()
    for sub_id, kinds in bind.execute(sa.select(subscriptions.c.id, subscriptions.c.kinds)).all():
        listed = [k for k in (kinds or "").split(",") if k]
        if "spike" in listed:
            kept = [k for k in listed if k != "spike"] or sorted(OLD_KINDS)
            bind.execute(subscriptions.update().where(subscriptions.c.id == sub_id).values(kinds=",".join(kept)))
    op.execute("DELETE FROM alerts WHERE kind = 'spike'")
    op.drop_index("ix_spikes_window_start", table_name="spikes")
    op.drop_table("spikes")
    with op.batch_alter_table("article_topics") as batch:
        batch.drop_index("ix_article_topics_topic_hour")
        batch.create_index("ix_article_topics_topic", ["topic"])
        batch.drop_column("hour")
        batch.drop_column("language")
