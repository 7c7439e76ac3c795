"""adopting standards from upstream repositories

Revision ID: d3_adoption
Revises: 3c52f455ef4a
"""

import sqlalchemy as sa
from alembic import op

revision = "d3_adoption"
down_revision = "3c52f455ef4a"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "upstream_subscription",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("fetched_commit", sa.String(length=40), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["user.id"], name=op.f("fk_upstream_subscription_created_by_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_upstream_subscription")),
        sa.UniqueConstraint("name", name=op.f("uq_upstream_subscription_name")),
    )
    op.create_table(
        "adoption",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("document_code", sa.String(length=40), nullable=False),
        sa.Column("revision_label", sa.String(length=10), nullable=False),
        sa.Column("upstream_code", sa.String(length=40), nullable=False),
        sa.Column("upstream_revision", sa.String(length=10), nullable=False),
        sa.Column("upstream_commit", sa.String(length=40), nullable=False),
        sa.Column("upstream_blob", sa.String(length=40), nullable=False),
        sa.Column("adopted_by_id", sa.Integer(), nullable=False),
        sa.Column("adopted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["upstream_subscription.id"],
            name=op.f("fk_adoption_subscription_id_upstream_subscription"),
        ),
        sa.ForeignKeyConstraint(
            ["adopted_by_id"], ["user.id"], name=op.f("fk_adoption_adopted_by_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_adoption")),
    )
    with op.batch_alter_table("adoption") as batch_op:
        batch_op.create_index(batch_op.f("ix_adoption_document_code"), ["document_code"])
    op.create_table(
        "upstream_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("document_code", sa.String(length=40), nullable=False),
        sa.Column("upstream_code", sa.String(length=40), nullable=False),
        sa.Column("change_request", sa.String(length=20), nullable=False),
        sa.Column("from_revision", sa.String(length=10), nullable=False),
        sa.Column("from_commit", sa.String(length=40), nullable=False),
        sa.Column("from_blob", sa.String(length=40), nullable=False),
        sa.Column("to_revision", sa.String(length=10), nullable=False),
        sa.Column("to_commit", sa.String(length=40), nullable=False),
        sa.Column("to_blob", sa.String(length=40), nullable=False),
        sa.Column("taken_in_revision", sa.String(length=10), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["upstream_subscription.id"],
            name=op.f("fk_upstream_change_subscription_id_upstream_subscription"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_upstream_change")),
        sa.UniqueConstraint(
            "subscription_id",
            "upstream_code",
            "to_revision",
            "document_code",
            name=op.f("uq_upstream_change_subscription_id"),
        ),
        sa.UniqueConstraint("change_request", name=op.f("uq_upstream_change_change_request")),
    )
    with op.batch_alter_table("upstream_change") as batch_op:
        batch_op.create_index(batch_op.f("ix_upstream_change_document_code"), ["document_code"])


def downgrade():
    op.drop_table("upstream_change")
    op.drop_table("adoption")
    op.drop_table("upstream_subscription")
