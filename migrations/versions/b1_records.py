"""records: filled record forms, versions, drafts, links, attachments

Revision ID: b1_records
Revises: 3c52f455ef4a
Create Date: 2026-11-24 16:10:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b1_records"
down_revision = "3c52f455ef4a"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=60), nullable=False),
        sa.Column("form_code", sa.String(length=40), nullable=False),
        sa.Column("form_title", sa.String(length=300), nullable=False),
        sa.Column("form_revision", sa.String(length=10), nullable=False),
        sa.Column("form_commit", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("values", sa.JSON(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("submitted_by_id", sa.Integer(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("void_reason", sa.Text(), nullable=True),
        sa.Column("voided_by_id", sa.Integer(), nullable=True),
        sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["department_id"], ["department.id"], name=op.f("fk_record_department_id_department")
        ),
        sa.ForeignKeyConstraint(
            ["submitted_by_id"], ["user.id"], name=op.f("fk_record_submitted_by_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["voided_by_id"], ["user.id"], name=op.f("fk_record_voided_by_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_record")),
        sa.UniqueConstraint("number", name=op.f("uq_record_number")),
    )
    with op.batch_alter_table("record", schema=None) as batch_op:
        for column in (
            "department_id",
            "form_code",
            "form_revision",
            "status",
            "submitted_at",
            "submitted_by_id",
        ):
            batch_op.create_index(batch_op.f(f"ix_record_{column}"), [column], unique=False)

    op.create_table(
        "record_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("values", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["user.id"], name=op.f("fk_record_version_created_by_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["record_id"], ["record.id"], name=op.f("fk_record_version_record_id_record")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_record_version")),
        sa.UniqueConstraint("record_id", "version", name=op.f("uq_record_version_record_id")),
    )
    with op.batch_alter_table("record_version", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_record_version_record_id"), ["record_id"])

    op.create_table(
        "record_value",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=130), nullable=False),
        sa.Column("value", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"], ["record.id"], name=op.f("fk_record_value_record_id_record")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_record_value")),
    )
    with op.batch_alter_table("record_value", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_record_value_key"), ["key"])
        batch_op.create_index(batch_op.f("ix_record_value_record_id"), ["record_id"])

    op.create_table(
        "record_draft",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("form_code", sa.String(length=40), nullable=False),
        sa.Column("values", sa.JSON(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["user.id"], name=op.f("fk_record_draft_owner_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_record_draft")),
    )
    with op.batch_alter_table("record_draft", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_record_draft_form_code"), ["form_code"])
        batch_op.create_index(batch_op.f("ix_record_draft_owner_id"), ["owner_id"])

    op.create_table(
        "record_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("target_type", sa.String(length=20), nullable=False),
        sa.Column("target_key", sa.String(length=80), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["user.id"], name=op.f("fk_record_link_created_by_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["record_id"], ["record.id"], name=op.f("fk_record_link_record_id_record")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_record_link")),
        sa.UniqueConstraint(
            "record_id", "target_type", "target_key", name=op.f("uq_record_link_record_id")
        ),
    )
    with op.batch_alter_table("record_link", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_record_link_record_id"), ["record_id"])
        batch_op.create_index(batch_op.f("ix_record_link_target_key"), ["target_key"])
        batch_op.create_index(batch_op.f("ix_record_link_target_type"), ["target_type"])

    op.create_table(
        "record_attachment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content_type", sa.String(length=120), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"], ["user.id"], name=op.f("fk_record_attachment_uploaded_by_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_record_attachment")),
    )
    with op.batch_alter_table("record_attachment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_record_attachment_sha256"), ["sha256"])
        batch_op.create_index(batch_op.f("ix_record_attachment_uploaded_by_id"), ["uploaded_by_id"])


def downgrade():
    for table in (
        "record_attachment",
        "record_link",
        "record_draft",
        "record_value",
        "record_version",
        "record",
    ):
        op.drop_table(table)
