"""import jobs, imported originals, mirror push queue

Revision ID: d1_transfer
Revises: 3c52f455ef4a
"""

import sqlalchemy as sa
from alembic import op

revision = "d1_transfer"
down_revision = "3c52f455ef4a"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "import_job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source_dir", sa.String(length=500), nullable=False),
        sa.Column("source_name", sa.String(length=300), nullable=False),
        sa.Column("mapping_name", sa.String(length=300), nullable=True),
        sa.Column("pattern", sa.String(length=300), nullable=True),
        sa.Column("plan", sa.JSON(), nullable=True),
        sa.Column("problem_count", sa.Integer(), nullable=False),
        sa.Column("commit", sa.String(length=40), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["user.id"], name=op.f("fk_import_job_created_by_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_job")),
    )
    with op.batch_alter_table("import_job") as batch_op:
        batch_op.create_index(batch_op.f("ix_import_job_created_by_id"), ["created_by_id"])
        batch_op.create_index(batch_op.f("ix_import_job_status"), ["status"])

    op.create_table(
        "imported_original",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("document_code", sa.String(length=40), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("commit", sa.String(length=40), nullable=False),
        sa.Column("filename", sa.String(length=300), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"], ["import_job.id"], name=op.f("fk_imported_original_job_id_import_job")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_imported_original")),
    )
    with op.batch_alter_table("imported_original") as batch_op:
        batch_op.create_index(batch_op.f("ix_imported_original_job_id"), ["job_id"])
        batch_op.create_index(batch_op.f("ix_imported_original_document_code"), ["document_code"])

    op.create_table(
        "mirror_push",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("commit", sa.String(length=40), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mirror_push")),
    )
    with op.batch_alter_table("mirror_push") as batch_op:
        batch_op.create_index(batch_op.f("ix_mirror_push_status"), ["status"])
        batch_op.create_index(batch_op.f("ix_mirror_push_next_attempt_at"), ["next_attempt_at"])


def downgrade():
    op.drop_table("mirror_push")
    op.drop_table("imported_original")
    op.drop_table("import_job")
