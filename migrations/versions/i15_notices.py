"""notices to people about the document workflow, each once

Revision ID: i15_notices
Revises: i19_service_catalogue
"""

import sqlalchemy as sa
from alembic import op

revision = "i15_notices"
down_revision = "i19_service_catalogue"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade():
    op.create_table(
        "notice",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "user_id", sa.Integer, sa.ForeignKey("user.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("key", sa.String(160), nullable=False),
        sa.Column("params", sa.JSON, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("read_at", TS),
        sa.Column("mailed_at", TS),
        sa.UniqueConstraint("user_id", "kind", "key"),
    )
    op.create_index("ix_notice_unread", "notice", ["user_id", "read_at"])


def downgrade():
    op.drop_table("notice")
