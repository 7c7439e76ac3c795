"""equipment register: instruments, calibrations and calibration reminders

Revision ID: h18c_equipment
Revises: i17_training_context
"""

import sqlalchemy as sa
from alembic import op

revision = "h18c_equipment"
down_revision = "i17_training_context"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade():
    op.create_table(
        "equipment",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("number", sa.String(40), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("serial", sa.String(100), nullable=False),
        sa.Column("location", sa.String(200), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("measurement", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("interval_value", sa.Integer(), nullable=False),
        sa.Column("interval_unit", sa.String(10), nullable=False),
        sa.Column("last_calibrated_on", sa.Date()),
        sa.Column("last_result", sa.String(20)),
        sa.Column("next_due", sa.Date()),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"], ["department.id"], name="fk_equipment_department_id"
        ),
        sa.ForeignKeyConstraint(["owner_id"], ["user.id"], name="fk_equipment_owner_id"),
        sa.UniqueConstraint("number", name="uq_equipment_number"),
    )
    for column in ("department_id", "owner_id", "measurement", "next_due", "status"):
        op.create_index(f"ix_equipment_{column}", "equipment", [column])
    op.create_table(
        "calibration",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("equipment_id", sa.Integer(), nullable=False),
        sa.Column("performed_on", sa.Date(), nullable=False),
        sa.Column("result", sa.String(20), nullable=False),
        sa.Column("performed_by", sa.String(200), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("certificate_sha256", sa.String(64)),
        sa.Column("certificate_name", sa.String(255)),
        sa.Column("next_due", sa.Date(), nullable=False),
        sa.Column("nc_number", sa.String(40)),
        sa.Column("recorded_by_id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["equipment_id"], ["equipment.id"], name="fk_calibration_equipment_id"
        ),
        sa.ForeignKeyConstraint(["recorded_by_id"], ["user.id"], name="fk_calibration_recorded_by"),
    )
    for column in ("equipment_id", "performed_on", "result", "recorded_at"):
        op.create_index(f"ix_calibration_{column}", "calibration", [column])
    op.create_table(
        "equipment_reminder",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("equipment_id", sa.Integer(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("sent_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["equipment_id"], ["equipment.id"], name="fk_equipment_reminder_equipment_id"
        ),
        sa.UniqueConstraint("equipment_id", "due_date", name="uq_equipment_reminder_due"),
    )


def downgrade():
    op.drop_table("equipment_reminder")
    op.drop_table("calibration")
    op.drop_table("equipment")
