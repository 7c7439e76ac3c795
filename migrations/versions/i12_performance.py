"""indexes the benchmark called for: the trail by object, for who authored a revision

Revision ID: i12_performance
Revises: g2_attachments
"""

from alembic import op

revision = "i12_performance"
down_revision = "g2_attachments"
branch_labels = None
depends_on = None


def upgrade():
    # Who authored a revision is read from its trail events (opened, saved) on every home
    # page and document page; without this index each lookup scans the whole trail.
    op.create_index("ix_audit_event_object", "audit_event", ["object_type", "object_key", "seq"])


def downgrade():
    op.drop_index("ix_audit_event_object", table_name="audit_event")
