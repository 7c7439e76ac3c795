"""supervision and evaluation: schemes with criteria and star thresholds, evaluations
of departments and windows for a period, each subject's result and evidence

Revision ID: i19e_evaluation
Revises: i19_service_catalogue
"""

import sqlalchemy as sa
from alembic import op

revision = "i19e_evaluation"
down_revision = "i19_service_catalogue"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def _fk(table: str, column: str, referred: str, ondelete: str | None = None):
    return sa.ForeignKeyConstraint(
        [column], [f"{referred}.id"], name=f"fk_{table}_{column}_{referred}", ondelete=ondelete
    )


def upgrade():
    op.create_table(
        "evaluation_scheme",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("subject_kind", sa.String(20), nullable=False),
        sa.Column("period", sa.String(20), nullable=False),
        sa.Column("thresholds", sa.JSON(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_evaluation_scheme"),
        sa.UniqueConstraint("name", name="uq_evaluation_scheme_name"),
        _fk("evaluation_scheme", "created_by_id", "user"),
    )
    op.create_table(
        "evaluation_criterion",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scheme_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("weight", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(10), nullable=False),
        sa.Column("direction", sa.String(10), nullable=False),
        sa.Column("target", sa.Float(), nullable=True),
        sa.Column("zero", sa.Float(), nullable=True),
        sa.Column("bands", sa.JSON(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_evaluation_criterion"),
        _fk("evaluation_criterion", "scheme_id", "evaluation_scheme", "CASCADE"),
    )
    op.create_index("ix_evaluation_criterion_scheme_id", "evaluation_criterion", ["scheme_id"])
    op.create_table(
        "evaluation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(20), nullable=False),
        sa.Column("scheme_id", sa.Integer(), nullable=False),
        sa.Column("subject_kind", sa.String(20), nullable=False),
        sa.Column("period", sa.String(10), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("end", sa.Date(), nullable=False),
        sa.Column("thresholds", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("corrects_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("confirmed_by_id", sa.Integer(), nullable=True),
        sa.Column("confirmed_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_evaluation"),
        sa.UniqueConstraint("number", name="uq_evaluation_number"),
        _fk("evaluation", "scheme_id", "evaluation_scheme"),
        _fk("evaluation", "corrects_id", "evaluation"),
        _fk("evaluation", "created_by_id", "user"),
        _fk("evaluation", "confirmed_by_id", "user"),
    )
    for column in ("scheme_id", "period", "state", "corrects_id", "created_at"):
        op.create_index(f"ix_evaluation_{column}", "evaluation", [column])
    op.create_table(
        "evaluation_result",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("evaluation_id", sa.Integer(), nullable=False),
        sa.Column("subject_key", sa.String(40), nullable=False),
        sa.Column("subject_name", sa.String(200), nullable=False),
        sa.Column("total", sa.Float(), nullable=False),
        sa.Column("stars", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_evaluation_result"),
        sa.UniqueConstraint("evaluation_id", "subject_key", name="uq_evaluation_result_subject"),
        _fk("evaluation_result", "evaluation_id", "evaluation", "CASCADE"),
    )
    op.create_index("ix_evaluation_result_evaluation_id", "evaluation_result", ["evaluation_id"])
    op.create_index("ix_evaluation_result_subject_key", "evaluation_result", ["subject_key"])
    op.create_table(
        "evaluation_score",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("result_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("weight", sa.Integer(), nullable=False),
        sa.Column("rule", sa.JSON(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("points", sa.Float(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_evaluation_score"),
        _fk("evaluation_score", "result_id", "evaluation_result", "CASCADE"),
    )
    op.create_index("ix_evaluation_score_result_id", "evaluation_score", ["result_id"])


def downgrade():
    op.drop_table("evaluation_score")
    op.drop_table("evaluation_result")
    op.drop_table("evaluation")
    op.drop_table("evaluation_criterion")
    op.drop_table("evaluation_scheme")
