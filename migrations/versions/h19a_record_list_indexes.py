"""the record list by form or department, newest first, read in index order

Revision ID: h19a_record_list_indexes
Revises: b1_records
"""

from alembic import op

revision = "h19a_record_list_indexes"
down_revision = "b1_records"
branch_labels = None
depends_on = None


def upgrade():
    # The record list filters by form (or, for staff, by department) and shows the newest
    # first. With only single-column indexes the database walks ix_record_submitted_at and
    # drops the other forms' rows: cheap for a busy form, a scan of every record for a
    # form with few. These let it read one form's (one department's) newest rows directly.
    op.create_index("ix_record_form_submitted", "record", ["form_code", "submitted_at"])
    op.create_index("ix_record_department_submitted", "record", ["department_id", "submitted_at"])


def downgrade():
    op.drop_index("ix_record_department_submitted", table_name="record")
    op.drop_index("ix_record_form_submitted", table_name="record")
