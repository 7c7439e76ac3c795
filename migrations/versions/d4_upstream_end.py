"""an upstream subscription can be ended, keeping what was adopted from it

Revision ID: d4_upstream_end
Revises: d3_adoption
"""

import sqlalchemy as sa
from alembic import op

revision = "d4_upstream_end"
down_revision = "d3_adoption"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("upstream_subscription") as batch:
        batch.add_column(sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("upstream_subscription") as batch:
        batch.drop_column("ended_at")
