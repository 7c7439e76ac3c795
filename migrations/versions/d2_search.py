"""search index

Revision ID: d2_search
Revises: 3c52f455ef4a
"""

import sqlalchemy as sa
from alembic import op

revision = "d2_search"
down_revision = "3c52f455ef4a"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "search_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("key", sa.String(length=60), nullable=False),
        sa.Column("version", sa.String(length=20), nullable=False),
        sa.Column("current", sa.Boolean(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("endpoint", sa.String(length=80), nullable=True),
        sa.Column("params", sa.JSON(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        # Matched columns before the long display text: SQLite reads a row's columns in
        # order through its overflow pages, so a search never walks through ``text``.
        sa.Column("norm_title", sa.Text(), nullable=False),
        sa.Column("norm", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_entry")),
        sa.UniqueConstraint("type", "key", "version", name=op.f("uq_search_entry_type")),
    )
    with op.batch_alter_table("search_entry") as batch_op:
        batch_op.create_index(batch_op.f("ix_search_entry_type"), ["type"])
        batch_op.create_index(batch_op.f("ix_search_entry_key"), ["key"])
        batch_op.create_index(batch_op.f("ix_search_entry_current"), ["current"])


def downgrade():
    op.drop_table("search_entry")
