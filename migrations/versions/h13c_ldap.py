"""directory sign-in: where an account comes from (local or ldap)

Revision ID: h13c_ldap
Revises: i17_training_context
"""

import sqlalchemy as sa
from alembic import op

revision = "h13c_ldap"
down_revision = "i17_training_context"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("user") as batch:
        batch.add_column(
            sa.Column("source", sa.String(20), nullable=False, server_default="local")
        )


def downgrade():
    with op.batch_alter_table("user") as batch:
        batch.drop_column("source")
