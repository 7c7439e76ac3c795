"""an objective may be computed by a query over a record form; its values carry their records

Revision ID: i19_record_query
Revises: i19_service_catalogue
"""

import sqlalchemy as sa
from alembic import op

revision = "i19_record_query"
down_revision = "i19_service_catalogue"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("objective") as batch:
        batch.add_column(sa.Column("source_query", sa.JSON(), nullable=True))
    with op.batch_alter_table("objective_measurement") as batch:
        batch.add_column(sa.Column("records", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("objective_measurement") as batch:
        batch.drop_column("records")
    with op.batch_alter_table("objective") as batch:
        batch.drop_column("source_query")
