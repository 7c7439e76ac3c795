"""external providers: the supplier register, criteria, evaluations, status changes,
reminders, governing documents, and the provider an NC names

Revision ID: h18b_suppliers
Revises: i17_training_context
"""

import sqlalchemy as sa
from alembic import op

revision = "h18b_suppliers"
down_revision = "i17_training_context"
branch_labels = None
# nonconformity.supplier_id: the table comes from the improvement branch.
depends_on = ("c1_improvement",)

TS = sa.DateTime(timezone=True)


def _fk(table: str, column: str, referred: str, ondelete: str | None = None):
    return sa.ForeignKeyConstraint(
        [column],
        [f"{referred}.id"],
        name=f"fk_{table}_{column}_{referred}",
        ondelete=ondelete,
    )


def _child(name: str, *columns, unique: tuple[str, ...] = ()):
    """Create a table belonging to one supplier, deleted with it."""
    args = [
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("supplier_id", sa.Integer(), nullable=False),
        *columns,
        sa.PrimaryKeyConstraint("id", name=f"pk_{name}"),
        _fk(name, "supplier_id", "supplier", "CASCADE"),
    ]
    if unique:
        args.append(sa.UniqueConstraint("supplier_id", *unique, name=f"uq_{name}_{unique[0]}"))
    op.create_table(name, *args)
    op.create_index(f"ix_{name}_supplier_id", name, ["supplier_id"])


def upgrade():
    op.create_table(
        "supplier",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(20), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("supplies", sa.Text(), nullable=False),
        sa.Column("controls", sa.Text(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("evaluation_months", sa.Integer(), nullable=False),
        sa.Column("next_evaluation_due", sa.Date(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_supplier"),
        sa.UniqueConstraint("number", name="uq_supplier_number"),
        _fk("supplier", "owner_id", "user"),
    )
    for column in ("name", "status", "owner_id", "next_evaluation_due", "created_at"):
        op.create_index(f"ix_supplier_{column}", "supplier", [column])
    _child(
        "supplier_criterion",
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("weight", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        unique=("name",),
    )
    _child(
        "supplier_document",
        sa.Column("code", sa.String(40), nullable=False),
        unique=("code",),
    )
    op.create_index("ix_supplier_document_code", "supplier_document", ["code"])
    _child(
        "supplier_evaluation",
        sa.Column("evaluated_on", sa.Date(), nullable=False),
        sa.Column("total", sa.Float(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("evaluated_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        _fk("supplier_evaluation", "evaluated_by_id", "user"),
    )
    op.create_index(
        "ix_supplier_evaluation_evaluated_on", "supplier_evaluation", ["evaluated_on"]
    )
    op.create_table(
        "supplier_score",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("evaluation_id", sa.Integer(), nullable=False),
        sa.Column("criterion", sa.String(200), nullable=False),
        sa.Column("weight", sa.Integer(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_supplier_score"),
        _fk("supplier_score", "evaluation_id", "supplier_evaluation", "CASCADE"),
    )
    op.create_index("ix_supplier_score_evaluation_id", "supplier_score", ["evaluation_id"])
    _child(
        "supplier_status_change",
        sa.Column("from_status", sa.String(20), nullable=True),
        sa.Column("to_status", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("changed_by_id", sa.Integer(), nullable=False),
        sa.Column("changed_at", TS, nullable=False),
        _fk("supplier_status_change", "changed_by_id", "user"),
    )
    op.create_index(
        "ix_supplier_status_change_changed_at", "supplier_status_change", ["changed_at"]
    )
    op.create_table(
        "supplier_reminder",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("supplier_id", sa.Integer(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("sent_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_supplier_reminder"),
        _fk("supplier_reminder", "supplier_id", "supplier", "CASCADE"),
        sa.UniqueConstraint("supplier_id", "due_date", name="uq_supplier_reminder_due"),
    )
    with op.batch_alter_table("nonconformity") as batch:
        batch.add_column(sa.Column("supplier_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_nonconformity_supplier_id_supplier",
            "supplier",
            ["supplier_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch.create_index("ix_nonconformity_supplier_id", ["supplier_id"])


def downgrade():
    with op.batch_alter_table("nonconformity") as batch:
        batch.drop_index("ix_nonconformity_supplier_id")
        batch.drop_constraint("fk_nonconformity_supplier_id_supplier", type_="foreignkey")
        batch.drop_column("supplier_id")
    for table in (
        "supplier_reminder",
        "supplier_status_change",
        "supplier_score",
        "supplier_evaluation",
        "supplier_document",
        "supplier_criterion",
        "supplier",
    ):
        op.drop_table(table)
