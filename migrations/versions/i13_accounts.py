"""accounts: session version, lockout, forced password change; token expiry, revocation

Revision ID: i13_accounts
Revises: i12_performance
"""

import sqlalchemy as sa
from alembic import op

revision = "i13_accounts"
down_revision = "i12_performance"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("user") as batch:
        batch.add_column(
            sa.Column("session_version", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(
            sa.Column("failed_sign_ins", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("locked_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column(
                "must_change_password", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
    with op.batch_alter_table("api_token") as batch:
        batch.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("label", sa.String(120), nullable=False, server_default=""))


def downgrade():
    with op.batch_alter_table("api_token") as batch:
        batch.drop_column("label")
        batch.drop_column("revoked_at")
        batch.drop_column("expires_at")
    with op.batch_alter_table("user") as batch:
        batch.drop_column("must_change_password")
        batch.drop_column("locked_at")
        batch.drop_column("failed_sign_ins")
        batch.drop_column("session_version")
