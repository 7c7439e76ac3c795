"""citizens' ratings of cases and the rectification of poor ones

Revision ID: i19r_ratings
Revises: i19_service_catalogue
"""

import sqlalchemy as sa
from alembic import op

revision = "i19r_ratings"
down_revision = "i19_service_catalogue"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade():
    op.create_table(
        "rating",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("case_number", sa.String(60), nullable=False, unique=True),
        sa.Column(
            "item_id", sa.Integer, sa.ForeignKey("service_item.id"), nullable=False, index=True
        ),
        sa.Column(
            "window_id", sa.Integer, sa.ForeignKey("service_window.id"), nullable=False, index=True
        ),
        sa.Column("department_id", sa.Integer, sa.ForeignKey("department.id"), index=True),
        sa.Column("staff_id", sa.Integer, sa.ForeignKey("user.id"), index=True),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("level", sa.Integer, nullable=False, index=True),
        sa.Column("attitude", sa.Integer),
        sa.Column("efficiency", sa.Integer),
        sa.Column("quality", sa.Integer),
        sa.Column("convenience", sa.Integer),
        sa.Column("fairness", sa.Integer),
        sa.Column("comment", sa.Text, nullable=False),
        sa.Column("rated_at", TS, nullable=False, index=True),
        sa.Column("origin", sa.String(10), nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("received_by_id", sa.Integer, sa.ForeignKey("user.id"), nullable=False),
    )
    op.create_table(
        "rectification",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("number", sa.String(30), nullable=False, unique=True),
        sa.Column("rating_id", sa.Integer, sa.ForeignKey("rating.id"), nullable=False, unique=True),
        sa.Column("department_id", sa.Integer, sa.ForeignKey("department.id"), index=True),
        sa.Column("state", sa.String(20), nullable=False, index=True),
        sa.Column("due_date", sa.Date, nullable=False, index=True),
        sa.Column("opened_at", TS, nullable=False),
        sa.Column("finding", sa.Text, nullable=False),
        sa.Column("fix", sa.Text, nullable=False),
        sa.Column("rectified_at", TS),
        sa.Column("rectified_by_id", sa.Integer, sa.ForeignKey("user.id")),
        sa.Column("followup_on", sa.Date),
        sa.Column("followup_way", sa.String(20)),
        sa.Column("followup_result", sa.String(30)),
        sa.Column("followup_note", sa.Text, nullable=False),
        sa.Column("followed_up_by_id", sa.Integer, sa.ForeignKey("user.id")),
        sa.Column("closed_at", TS),
        sa.Column("closed_by_id", sa.Integer, sa.ForeignKey("user.id")),
        sa.Column("nc_number", sa.String(30), index=True),
    )


def downgrade():
    op.drop_table("rectification")
    op.drop_table("rating")
