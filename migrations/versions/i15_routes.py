"""approval routes per document type, delegations, and the route step a signature is

Revision ID: i15_routes
Revises: i15_notices
"""

import sqlalchemy as sa
from alembic import op

revision = "i15_routes"
down_revision = "i15_notices"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade():
    op.create_table(
        "approval_route",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("doc_type", sa.String(20), nullable=False, unique=True),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "approval_step",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "route_id",
            sa.Integer,
            sa.ForeignKey("approval_route.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("meaning", sa.String(20), nullable=False),
        sa.Column("role", sa.String(20)),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("user.id")),
        sa.UniqueConstraint("route_id", "position"),
    )
    op.create_table(
        "delegation",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("delegator_id", sa.Integer, sa.ForeignKey("user.id"), nullable=False),
        sa.Column("delegate_id", sa.Integer, sa.ForeignKey("user.id"), nullable=False),
        sa.Column("starts_on", sa.Date, nullable=False),
        sa.Column("ends_on", sa.Date, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("created_by_id", sa.Integer, sa.ForeignKey("user.id"), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("revoked_at", TS),
    )
    op.create_index("ix_delegation_delegator_id", "delegation", ["delegator_id"])
    op.create_index("ix_delegation_delegate_id", "delegation", ["delegate_id"])
    with op.batch_alter_table("signature") as batch:
        batch.add_column(sa.Column("step", sa.Integer))
        batch.add_column(sa.Column("on_behalf_of_id", sa.Integer))
        batch.add_column(sa.Column("delegation_id", sa.Integer))
        batch.create_foreign_key("fk_signature_on_behalf_of", "user", ["on_behalf_of_id"], ["id"])
        batch.create_foreign_key("fk_signature_delegation", "delegation", ["delegation_id"], ["id"])


def downgrade():
    with op.batch_alter_table("signature") as batch:
        batch.drop_constraint("fk_signature_delegation", type_="foreignkey")
        batch.drop_constraint("fk_signature_on_behalf_of", type_="foreignkey")
        batch.drop_column("delegation_id")
        batch.drop_column("on_behalf_of_id")
        batch.drop_column("step")
    op.drop_table("delegation")
    op.drop_table("approval_step")
    op.drop_table("approval_route")
