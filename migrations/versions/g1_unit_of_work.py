"""the refs the database has acknowledged, for the unit of work over git and the database

Revision ID: g1_unit_of_work
Revises: 3c52f455ef4a
"""

import sqlalchemy as sa
from alembic import op

revision = "g1_unit_of_work"
down_revision = "3c52f455ef4a"
branch_labels = None
depends_on = None


def upgrade():
    # Left empty: the first unit of work takes git's refs as acknowledged (qms.uow).
    op.create_table(
        "git_ref",
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("commit", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_git_ref")),
    )


def downgrade():
    op.drop_table("git_ref")
