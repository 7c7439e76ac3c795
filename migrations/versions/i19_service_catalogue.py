"""the standard system: categories, external standards, service items and windows

Revision ID: i19_service_catalogue
Revises: i17_output_rate
"""

import sqlalchemy as sa
from alembic import op

revision = "i19_service_catalogue"
down_revision = "i17_output_rate"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade():
    op.create_table(
        "standard_category",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("scheme", sa.String(40), nullable=False, index=True),
        sa.Column("code", sa.String(40), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("parent_id", sa.Integer, sa.ForeignKey("standard_category.id"), index=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.UniqueConstraint("scheme", "code"),
    )
    op.create_table(
        "external_standard",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("number", sa.String(80), nullable=False, unique=True),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("edition", sa.String(40), nullable=False),
        sa.Column("issuing_body", sa.String(200), nullable=False),
        sa.Column("status", sa.String(20), nullable=False, index=True),
        sa.Column("effective_on", sa.Date),
        sa.Column("replaced_by_id", sa.Integer, sa.ForeignKey("external_standard.id")),
        sa.Column("category_id", sa.Integer, sa.ForeignKey("standard_category.id"), index=True),
        sa.Column("document_id", sa.Integer, sa.ForeignKey("document.id"), index=True),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "document_category",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("document_id", sa.Integer, sa.ForeignKey("document.id"), nullable=False),
        sa.Column(
            "category_id",
            sa.Integer,
            sa.ForeignKey("standard_category.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.UniqueConstraint("document_id", "category_id"),
    )
    op.create_index("ix_document_category_document_id", "document_category", ["document_id"])
    op.create_index("ix_document_category_category_id", "document_category", ["category_id"])
    op.create_table(
        "standard_citation",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "standard_id",
            sa.Integer,
            sa.ForeignKey("external_standard.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("document_id", sa.Integer, sa.ForeignKey("document.id"), nullable=False),
        sa.UniqueConstraint("standard_id", "document_id"),
    )
    op.create_index("ix_standard_citation_standard_id", "standard_citation", ["standard_id"])
    op.create_index("ix_standard_citation_document_id", "standard_citation", ["document_id"])
    op.create_table(
        "service_window",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("code", sa.String(40), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("department_id", sa.Integer, sa.ForeignKey("department.id"), index=True),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "service_item",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("code", sa.String(40), nullable=False, unique=True),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("legal_basis", sa.Text, nullable=False),
        sa.Column("promised_days", sa.Integer),
        sa.Column("statutory_days", sa.Integer),
        sa.Column("department_id", sa.Integer, sa.ForeignKey("department.id"), index=True),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "service_item_window",
        sa.Column(
            "item_id",
            sa.Integer,
            sa.ForeignKey("service_item.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "window_id",
            sa.Integer,
            sa.ForeignKey("service_window.id", ondelete="CASCADE"),
            primary_key=True,
        ),
    )
    for name, other, column in (
        ("service_item_document", "document", "document_id"),
        ("service_item_standard", "external_standard", "standard_id"),
    ):
        op.create_table(
            name,
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column(
                "item_id",
                sa.Integer,
                sa.ForeignKey("service_item.id", ondelete="CASCADE"),
                nullable=False,
            ),
            sa.Column(
                column,
                sa.Integer,
                sa.ForeignKey(f"{other}.id", ondelete="CASCADE" if other != "document" else None),
                nullable=False,
            ),
            sa.UniqueConstraint("item_id", column),
        )
        op.create_index(f"ix_{name}_item_id", name, ["item_id"])
        op.create_index(f"ix_{name}_{column}", name, [column])


def downgrade():
    op.drop_table("service_item_standard")
    op.drop_table("service_item_document")
    op.drop_table("service_item_window")
    op.drop_table("service_item")
    op.drop_table("service_window")
    op.drop_table("standard_citation")
    op.drop_table("document_category")
    op.drop_table("external_standard")
    op.drop_table("standard_category")
