"""quality objectives, customer feedback, management reviews

Revision ID: f1_reviews
Revises: 3c52f455ef4a
"""

import sqlalchemy as sa
from alembic import op

revision = "f1_reviews"
down_revision = "3c52f455ef4a"
branch_labels = None
depends_on = None

UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade():
    op.create_table(
        "objective",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("unit", sa.String(length=20), nullable=False),
        sa.Column("target", sa.Float(), nullable=False),
        sa.Column("direction", sa.String(length=10), nullable=False),
        sa.Column("frequency", sa.String(length=10), nullable=False),
        sa.Column("source", sa.String(length=30), nullable=False),
        sa.Column("method", sa.Text(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(["owner_id"], ["user.id"], name=op.f("fk_objective_owner_id_user")),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["user.id"], name=op.f("fk_objective_created_by_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_objective")),
        sa.UniqueConstraint("name", name=op.f("uq_objective_name")),
    )
    op.create_index(op.f("ix_objective_owner_id"), "objective", ["owner_id"])
    op.create_index(op.f("ix_objective_active"), "objective", ["active"])

    op.create_table(
        "objective_measurement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("objective_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("origin", sa.String(length=20), nullable=False),
        sa.Column("entered_by_id", sa.Integer(), nullable=True),
        sa.Column("entered_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["objective_id"],
            ["objective.id"],
            name=op.f("fk_objective_measurement_objective_id_objective"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["entered_by_id"], ["user.id"], name=op.f("fk_objective_measurement_entered_by_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_objective_measurement")),
        sa.UniqueConstraint(
            "objective_id", "period", name=op.f("uq_objective_measurement_objective_id")
        ),
    )
    op.create_index(
        op.f("ix_objective_measurement_objective_id"), "objective_measurement", ["objective_id"]
    )
    op.create_index(op.f("ix_objective_measurement_period"), "objective_measurement", ["period"])

    op.create_table(
        "complaint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("person", sa.String(length=200), nullable=True),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("response_due", sa.Date(), nullable=False),
        sa.Column("response", sa.Text(), nullable=True),
        sa.Column("responded_on", sa.Date(), nullable=True),
        sa.Column("responded_by_id", sa.Integer(), nullable=True),
        sa.Column("satisfied", sa.Boolean(), nullable=True),
        sa.Column("nc_number", sa.String(length=20), nullable=True),
        sa.Column("raised_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"], ["department.id"], name=op.f("fk_complaint_department_id_department")
        ),
        sa.ForeignKeyConstraint(
            ["responded_by_id"], ["user.id"], name=op.f("fk_complaint_responded_by_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["raised_by_id"], ["user.id"], name=op.f("fk_complaint_raised_by_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint")),
        sa.UniqueConstraint("number", name=op.f("uq_complaint_number")),
    )
    for column in ("channel", "received_on", "department_id", "response_due", "nc_number"):
        op.create_index(op.f(f"ix_complaint_{column}"), "complaint", [column])

    op.create_table(
        "survey_result",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("service", sa.String(length=200), nullable=False),
        sa.Column("responses", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("entered_by_id", sa.Integer(), nullable=True),
        sa.Column("entered_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["entered_by_id"], ["user.id"], name=op.f("fk_survey_result_entered_by_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_result")),
        sa.UniqueConstraint("period", "service", name=op.f("uq_survey_result_period")),
    )
    op.create_index(op.f("ix_survey_result_period"), "survey_result", ["period"])

    op.create_table(
        "management_review",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("planned_on", sa.Date(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("chair_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("notes", sa.JSON(), nullable=False),
        sa.Column("inputs", sa.JSON(), nullable=True),
        sa.Column("prepared_at", UTC_DATETIME, nullable=True),
        sa.Column("held_on", sa.Date(), nullable=True),
        sa.Column("discussion", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("minutes", sa.Text(), nullable=True),
        sa.Column("minutes_sha256", sa.String(length=64), nullable=True),
        sa.Column("minutes_lang", sa.String(length=10), nullable=True),
        sa.Column("approved_at", UTC_DATETIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["chair_id"], ["user.id"], name=op.f("fk_management_review_chair_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["user.id"], name=op.f("fk_management_review_created_by_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_management_review")),
        sa.UniqueConstraint("number", name=op.f("uq_management_review_number")),
    )
    for column in ("planned_on", "chair_id", "state"):
        op.create_index(op.f(f"ix_management_review_{column}"), "management_review", [column])

    op.create_table(
        "review_attendee",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["review_id"],
            ["management_review.id"],
            name=op.f("fk_review_attendee_review_id_management_review"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_review_attendee_user_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_attendee")),
        sa.UniqueConstraint("review_id", "user_id", name=op.f("uq_review_attendee_review_id")),
    )
    op.create_index(op.f("ix_review_attendee_review_id"), "review_attendee", ["review_id"])
    op.create_index(op.f("ix_review_attendee_user_id"), "review_attendee", ["user_id"])

    op.create_table(
        "review_decision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("actions", sa.JSON(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["review_id"],
            ["management_review.id"],
            name=op.f("fk_review_decision_review_id_management_review"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["user.id"], name=op.f("fk_review_decision_created_by_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_decision")),
    )
    op.create_index(op.f("ix_review_decision_review_id"), "review_decision", ["review_id"])

    op.create_table(
        "review_topic",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("key", sa.String(length=60), nullable=False),
        sa.ForeignKeyConstraint(
            ["review_id"],
            ["management_review.id"],
            name=op.f("fk_review_topic_review_id_management_review"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_topic")),
        sa.UniqueConstraint("review_id", "kind", "key", name=op.f("uq_review_topic_review_id")),
    )
    op.create_index(op.f("ix_review_topic_review_id"), "review_topic", ["review_id"])
    op.create_index(op.f("ix_review_topic_key"), "review_topic", ["key"])


def downgrade():
    for table in (
        "review_topic",
        "review_decision",
        "review_attendee",
        "management_review",
        "survey_result",
        "complaint",
        "objective_measurement",
        "objective",
    ):
        op.drop_table(table)
