"""training, nonconforming outputs (nc_output), context registers and the legal register

Revision ID: i17_training_context
Revises: i13_accounts
"""

import sqlalchemy as sa
from alembic import op

revision = "i17_training_context"
down_revision = "i13_accounts"
branch_labels = None
# nc_output refers to nonconformity, which the improvement branch creates.
depends_on = ("c1_improvement",)

TS = sa.DateTime(timezone=True)


def upgrade():
    op.create_table(
        "competence",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("validity_months", sa.Integer()),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "position",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("department_id", sa.Integer(), sa.ForeignKey("department.id"), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("department_id", "name"),
    )
    op.create_index("ix_position_department_id", "position", ["department_id"])
    op.create_table(
        "position_document",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "position_id",
            sa.Integer(),
            sa.ForeignKey("position.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("document_id", sa.Integer(), sa.ForeignKey("document.id"), nullable=False),
        sa.UniqueConstraint("position_id", "document_id"),
    )
    op.create_index("ix_position_document_document_id", "position_document", ["document_id"])
    op.create_table(
        "position_competence",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "position_id",
            sa.Integer(),
            sa.ForeignKey("position.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("competence_id", sa.Integer(), sa.ForeignKey("competence.id"), nullable=False),
        sa.UniqueConstraint("position_id", "competence_id"),
    )
    op.create_index(
        "ix_position_competence_competence_id", "position_competence", ["competence_id"]
    )
    op.create_table(
        "position_holder",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "position_id",
            sa.Integer(),
            sa.ForeignKey("position.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("user.id"), nullable=False),
        sa.Column("since", sa.Date(), nullable=False),
        sa.UniqueConstraint("position_id", "user_id"),
    )
    op.create_index("ix_position_holder_user_id", "position_holder", ["user_id"])
    op.create_table(
        "revision_training",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "revision_id", sa.Integer(), sa.ForeignKey("revision.id"), nullable=False, unique=True
        ),
        sa.Column("needs_training", sa.Boolean(), nullable=False),
        sa.Column("due_days", sa.Integer(), nullable=False),
        sa.Column("set_by_id", sa.Integer(), sa.ForeignKey("user.id"), nullable=False),
        sa.Column("set_at", TS, nullable=False),
    )
    op.create_table(
        "training_record",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("number", sa.String(20), nullable=False, unique=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("user.id"), nullable=False),
        sa.Column("document_id", sa.Integer(), sa.ForeignKey("document.id")),
        sa.Column("revision_id", sa.Integer(), sa.ForeignKey("revision.id")),
        sa.Column("competence_id", sa.Integer(), sa.ForeignKey("competence.id")),
        sa.Column("trained_on", sa.Date(), nullable=False),
        sa.Column("trainer", sa.String(200), nullable=False),
        sa.Column("method", sa.String(20), nullable=False),
        sa.Column("result", sa.String(10), nullable=False),
        sa.Column("valid_until", sa.Date()),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("evidence_sha256", sa.String(64)),
        sa.Column("evidence_name", sa.String(255)),
        sa.Column("recorded_by_id", sa.Integer(), sa.ForeignKey("user.id"), nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    for column in ("user_id", "document_id", "revision_id", "competence_id", "trained_on"):
        op.create_index(f"ix_training_record_{column}", "training_record", [column])
    op.create_index("ix_training_record_valid_until", "training_record", ["valid_until"])
    op.create_table(
        "training_reminder",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("user.id"), nullable=False),
        sa.Column("item", sa.String(80), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("sent_at", TS, nullable=False),
        sa.UniqueConstraint("user_id", "item", "due_date"),
    )

    op.create_table(
        "nc_output",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "nonconformity_id",
            sa.Integer(),
            sa.ForeignKey("nonconformity.id", ondelete="CASCADE"),
            nullable=False,
            unique=True,
        ),
        sa.Column("output", sa.String(300), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("disposition", sa.String(30)),
        sa.Column("disposition_note", sa.Text()),
        sa.Column("authorised_by_id", sa.Integer(), sa.ForeignKey("user.id")),
        sa.Column("evidence_ref", sa.String(300)),
        sa.Column("evidence_sha256", sa.String(64)),
        sa.Column("evidence_name", sa.String(255)),
        sa.Column("disposed_by_id", sa.Integer(), sa.ForeignKey("user.id")),
        sa.Column("disposed_on", sa.Date()),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_nc_output_disposition", "nc_output", ["disposition"])
    op.create_index("ix_nc_output_disposed_on", "nc_output", ["disposed_on"])

    for table in ("context_issue", "interested_party"):
        op.create_table(
            table,
            sa.Column("id", sa.Integer(), primary_key=True),
            sa.Column("number", sa.String(20), nullable=False, unique=True),
            *(
                [
                    sa.Column("kind", sa.String(10), nullable=False, index=True),
                    sa.Column("title", sa.String(300), nullable=False),
                    sa.Column("description", sa.Text(), nullable=False),
                ]
                if table == "context_issue"
                else [
                    sa.Column("name", sa.String(200), nullable=False),
                    sa.Column("needs", sa.Text(), nullable=False),
                ]
            ),
            sa.Column("owner_id", sa.Integer(), sa.ForeignKey("user.id"), nullable=False),
            sa.Column("review_date", sa.Date(), nullable=False, index=True),
            sa.Column("created_at", TS, nullable=False, index=True),
            sa.Column("updated_at", TS, nullable=False, index=True),
        )
    op.create_table(
        "legal_requirement",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("number", sa.String(20), nullable=False, unique=True),
        sa.Column("law", sa.String(300), nullable=False),
        sa.Column("article", sa.String(100), nullable=False),
        sa.Column("requirement", sa.Text(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False, index=True),
        sa.Column("owner_id", sa.Integer(), sa.ForeignKey("user.id"), nullable=False),
        sa.Column("review_date", sa.Date(), nullable=False, index=True),
        sa.Column("created_at", TS, nullable=False, index=True),
        sa.Column("changed_at", TS, index=True),
    )
    op.create_table(
        "legal_requirement_document",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "requirement_id",
            sa.Integer(),
            sa.ForeignKey("legal_requirement.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("code", sa.String(40), nullable=False, index=True),
        sa.UniqueConstraint("requirement_id", "code"),
    )


def downgrade():
    for table in (
        "legal_requirement_document",
        "legal_requirement",
        "interested_party",
        "context_issue",
        "nc_output",
        "training_reminder",
        "training_record",
        "revision_training",
        "position_holder",
        "position_competence",
        "position_document",
        "position",
        "competence",
    ):
        op.drop_table(table)
