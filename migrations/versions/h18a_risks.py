"""risks and opportunities: the register, its settings, level history and audit criteria

Revision ID: h18a_risks
Revises: i17_training_context
"""

import sqlalchemy as sa
from alembic import op

revision = "h18a_risks"
down_revision = "i17_training_context"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade():
    op.create_table(
        "risk_settings",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("scale", sa.Integer(), nullable=False),
        sa.Column("likelihood_names", sa.JSON(), nullable=False),
        sa.Column("impact_names", sa.JSON(), nullable=False),
        sa.Column("matrix", sa.JSON(), nullable=False),
        sa.Column(
            "updated_by_id",
            sa.Integer(),
            sa.ForeignKey("user.id", name="fk_risk_settings_updated_by_id_user"),
        ),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "risk",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("number", sa.String(20), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("cause", sa.Text(), nullable=False),
        sa.Column("effect", sa.Text(), nullable=False),
        sa.Column(
            "department_id",
            sa.Integer(),
            sa.ForeignKey("department.id", name="fk_risk_department_id_department"),
        ),
        sa.Column("process", sa.String(120), nullable=False),
        sa.Column("likelihood", sa.Integer(), nullable=False),
        sa.Column("impact", sa.Integer(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(10), nullable=False),
        sa.Column("treatment", sa.Text(), nullable=False),
        sa.Column("residual_likelihood", sa.Integer()),
        sa.Column("residual_impact", sa.Integer()),
        sa.Column("residual_score", sa.Integer()),
        sa.Column("residual_level", sa.String(10)),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("status_note", sa.Text(), nullable=False),
        sa.Column(
            "owner_id",
            sa.Integer(),
            sa.ForeignKey("user.id", name="fk_risk_owner_id_user"),
            nullable=False,
        ),
        sa.Column("review_date", sa.Date(), nullable=False),
        sa.Column(
            "created_by_id",
            sa.Integer(),
            sa.ForeignKey("user.id", name="fk_risk_created_by_id_user"),
            nullable=False,
        ),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("closed_at", TS),
        sa.UniqueConstraint("number", name="uq_risk_number"),
    )
    for column in (
        "kind",
        "department_id",
        "process",
        "level",
        "residual_level",
        "status",
        "owner_id",
        "review_date",
        "created_at",
    ):
        op.create_index(f"ix_risk_{column}", "risk", [column])
    op.create_table(
        "risk_level_change",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "risk_id",
            sa.Integer(),
            sa.ForeignKey("risk.id", ondelete="CASCADE", name="fk_risk_level_change_risk_id_risk"),
            nullable=False,
        ),
        sa.Column("at", TS, nullable=False),
        sa.Column("level", sa.String(10), nullable=False),
    )
    op.create_index("ix_risk_level_change_risk_id", "risk_level_change", ["risk_id"])
    op.create_index("ix_risk_level_change_at", "risk_level_change", ["at"])
    op.create_table(
        "risk_audit",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "risk_id",
            sa.Integer(),
            sa.ForeignKey("risk.id", ondelete="CASCADE", name="fk_risk_audit_risk_id_risk"),
            nullable=False,
        ),
        sa.Column("audit_ref", sa.String(20), nullable=False),
        sa.UniqueConstraint("risk_id", "audit_ref", name="uq_risk_audit_risk_ref"),
    )
    op.create_index("ix_risk_audit_risk_id", "risk_audit", ["risk_id"])
    op.create_index("ix_risk_audit_audit_ref", "risk_audit", ["audit_ref"])


def downgrade():
    op.drop_table("risk_audit")
    op.drop_table("risk_level_change")
    op.drop_table("risk")
    op.drop_table("risk_settings")
