"""an import job names the worker process running it and counts its runs

Revision ID: d5_import_worker
Revises: d1_transfer
"""

import sqlalchemy as sa
from alembic import op

revision = "d5_import_worker"
down_revision = "d1_transfer"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("import_job") as batch:
        batch.add_column(sa.Column("worker", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))


def downgrade():
    with op.batch_alter_table("import_job") as batch:
        batch.drop_column("attempts")
        batch.drop_column("worker")
