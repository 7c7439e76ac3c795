"""training sessions (several attendees recorded at once) and effectiveness evaluation (7.2 c)

Revision ID: i17_sessions
Revises: i17_training_context
"""

import sqlalchemy as sa
from alembic import op

revision = "i17_sessions"
down_revision = "i17_training_context"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("competence") as batch:
        batch.add_column(
            sa.Column(
                "evaluate_effectiveness", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
    with op.batch_alter_table("revision_training") as batch:
        batch.add_column(
            sa.Column(
                "evaluate_effectiveness", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
    with op.batch_alter_table("training_record") as batch:
        batch.add_column(sa.Column("session_number", sa.String(20)))
        batch.add_column(sa.Column("effective", sa.Boolean()))
        batch.add_column(sa.Column("evaluation", sa.Text()))
        batch.add_column(sa.Column("evaluated_on", sa.Date()))
        batch.add_column(
            sa.Column(
                "evaluated_by_id",
                sa.Integer(),
                sa.ForeignKey("user.id", name="fk_training_record_evaluated_by"),
            )
        )
        batch.create_index("ix_training_record_session_number", ["session_number"])


def downgrade():
    with op.batch_alter_table("training_record") as batch:
        batch.drop_index("ix_training_record_session_number")
        batch.drop_constraint("fk_training_record_evaluated_by", type_="foreignkey")
        for column in ("evaluated_by_id", "evaluated_on", "evaluation", "effective"):
            batch.drop_column(column)
        batch.drop_column("session_number")
    with op.batch_alter_table("revision_training") as batch:
        batch.drop_column("evaluate_effectiveness")
    with op.batch_alter_table("competence") as batch:
        batch.drop_column("evaluate_effectiveness")
