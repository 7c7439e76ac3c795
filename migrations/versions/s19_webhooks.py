"""outgoing webhooks: subscriptions, deliveries, and the events already emitted

Revision ID: s19_webhooks
Revises: i19_service_catalogue
"""

import sqlalchemy as sa
from alembic import op

revision = "s19_webhooks"
down_revision = "i19_service_catalogue"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade():
    op.create_table(
        "webhook_subscription",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("description", sa.String(200), nullable=False),
        sa.Column("events", sa.String(400), nullable=False),
        sa.Column("secret", sa.String(64), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False, index=True),
        sa.Column("created_by_id", sa.Integer, sa.ForeignKey("user.id"), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("changed_at", TS),
    )
    op.create_table(
        "webhook_delivery",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("uid", sa.String(36), nullable=False, unique=True),
        sa.Column(
            "subscription_id",
            sa.Integer,
            sa.ForeignKey("webhook_subscription.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("event", sa.String(40), nullable=False, index=True),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("state", sa.String(20), nullable=False, index=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_status", sa.Integer),
        sa.Column("last_error", sa.String(500)),
        sa.Column("created_at", TS, nullable=False, index=True),
        sa.Column("queued_at", TS, nullable=False),
        sa.Column("last_attempt_at", TS),
        sa.Column("delivered_at", TS),
    )
    op.create_table(
        "webhook_mark",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("event", sa.String(40), nullable=False),
        sa.Column("object_key", sa.String(40), nullable=False),
        sa.Column("due_date", sa.Date, nullable=False),
        sa.Column("emitted_at", TS, nullable=False),
        sa.UniqueConstraint("event", "object_key", "due_date"),
    )


def downgrade():
    op.drop_table("webhook_mark")
    op.drop_table("webhook_delivery")
    op.drop_table("webhook_subscription")
