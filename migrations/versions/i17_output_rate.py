"""an objective computed per thousand outputs issued names the record form that counts them

Revision ID: i17_output_rate
Revises: i17_sessions
"""

import sqlalchemy as sa
from alembic import op

revision = "i17_output_rate"
down_revision = "i17_sessions"
branch_labels = None
depends_on = ("f1_reviews",)


def upgrade():
    with op.batch_alter_table("objective") as batch:
        batch.add_column(sa.Column("source_form", sa.String(40), nullable=True))


def downgrade():
    with op.batch_alter_table("objective") as batch:
        batch.drop_column("source_form")
