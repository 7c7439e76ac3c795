"""improvement: nonconformities, their documents and evidence, actions, reminders sent

Revision ID: c1_improvement
Revises: 3c52f455ef4a
Create Date: 2026-11-24 16:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "c1_improvement"
down_revision = "3c52f455ef4a"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('nonconformity',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('source', sa.String(length=30), nullable=False),
    sa.Column('clause', sa.String(length=20), nullable=True),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('severity', sa.String(length=10), nullable=False),
    sa.Column('state', sa.String(length=30), nullable=False),
    sa.Column('raised_by_id', sa.Integer(), nullable=False),
    sa.Column('raised_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('responsible_id', sa.Integer(), nullable=True),
    sa.Column('due_date', sa.Date(), nullable=True),
    sa.Column('containment', sa.Text(), nullable=True),
    sa.Column('containment_by_id', sa.Integer(), nullable=True),
    sa.Column('containment_on', sa.Date(), nullable=True),
    sa.Column('whys', sa.JSON(), nullable=True),
    sa.Column('cause_category', sa.String(length=20), nullable=True),
    sa.Column('root_cause', sa.Text(), nullable=True),
    sa.Column('analysis_accepted_by_id', sa.Integer(), nullable=True),
    sa.Column('analysis_accepted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('plan_accepted_by_id', sa.Integer(), nullable=True),
    sa.Column('plan_accepted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('check_result', sa.Text(), nullable=True),
    sa.Column('checked_by_id', sa.Integer(), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('rejection_reason', sa.Text(), nullable=True),
    sa.Column('reopen_count', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['analysis_accepted_by_id'], ['user.id'], name=op.f('fk_nonconformity_analysis_accepted_by_id_user')),
    sa.ForeignKeyConstraint(['checked_by_id'], ['user.id'], name=op.f('fk_nonconformity_checked_by_id_user')),
    sa.ForeignKeyConstraint(['containment_by_id'], ['user.id'], name=op.f('fk_nonconformity_containment_by_id_user')),
    sa.ForeignKeyConstraint(['department_id'], ['department.id'], name=op.f('fk_nonconformity_department_id_department')),
    sa.ForeignKeyConstraint(['plan_accepted_by_id'], ['user.id'], name=op.f('fk_nonconformity_plan_accepted_by_id_user')),
    sa.ForeignKeyConstraint(['raised_by_id'], ['user.id'], name=op.f('fk_nonconformity_raised_by_id_user')),
    sa.ForeignKeyConstraint(['responsible_id'], ['user.id'], name=op.f('fk_nonconformity_responsible_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_nonconformity')),
    sa.UniqueConstraint('number', name=op.f('uq_nonconformity_number'))
    )
    op.create_index(op.f('ix_nonconformity_clause'), 'nonconformity', ['clause'], unique=False)
    op.create_index(op.f('ix_nonconformity_department_id'), 'nonconformity', ['department_id'], unique=False)
    op.create_index(op.f('ix_nonconformity_due_date'), 'nonconformity', ['due_date'], unique=False)
    op.create_index(op.f('ix_nonconformity_raised_at'), 'nonconformity', ['raised_at'], unique=False)
    op.create_index(op.f('ix_nonconformity_responsible_id'), 'nonconformity', ['responsible_id'], unique=False)
    op.create_index(op.f('ix_nonconformity_severity'), 'nonconformity', ['severity'], unique=False)
    op.create_index(op.f('ix_nonconformity_source'), 'nonconformity', ['source'], unique=False)
    op.create_index(op.f('ix_nonconformity_state'), 'nonconformity', ['state'], unique=False)
    op.create_table('nc_document',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('nonconformity_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('revision', sa.String(length=10), nullable=True),
    sa.ForeignKeyConstraint(['nonconformity_id'], ['nonconformity.id'], name=op.f('fk_nc_document_nonconformity_id_nonconformity'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_nc_document')),
    sa.UniqueConstraint('nonconformity_id', 'code', name=op.f('uq_nc_document_nonconformity_id'))
    )
    op.create_index(op.f('ix_nc_document_code'), 'nc_document', ['code'], unique=False)
    op.create_index(op.f('ix_nc_document_nonconformity_id'), 'nc_document', ['nonconformity_id'], unique=False)
    op.create_table('nc_evidence',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('nonconformity_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('record_number', sa.String(length=40), nullable=True),
    sa.Column('url', sa.String(length=500), nullable=True),
    sa.Column('filename', sa.String(length=200), nullable=True),
    sa.Column('content_type', sa.String(length=100), nullable=True),
    sa.Column('size', sa.Integer(), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('note', sa.String(length=300), nullable=True),
    sa.Column('added_by_id', sa.Integer(), nullable=False),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['added_by_id'], ['user.id'], name=op.f('fk_nc_evidence_added_by_id_user')),
    sa.ForeignKeyConstraint(['nonconformity_id'], ['nonconformity.id'], name=op.f('fk_nc_evidence_nonconformity_id_nonconformity'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_nc_evidence'))
    )
    op.create_index(op.f('ix_nc_evidence_nonconformity_id'), 'nc_evidence', ['nonconformity_id'], unique=False)
    op.create_index(op.f('ix_nc_evidence_record_number'), 'nc_evidence', ['record_number'], unique=False)
    op.create_table('improvement_action',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('nonconformity_id', sa.Integer(), nullable=True),
    sa.Column('action_type', sa.String(length=20), nullable=False),
    sa.Column('origin', sa.String(length=30), nullable=False),
    sa.Column('origin_ref', sa.String(length=120), nullable=True),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('effectiveness_criteria', sa.Text(), nullable=True),
    sa.Column('check_date', sa.Date(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('done_note', sa.Text(), nullable=True),
    sa.Column('done_by_id', sa.Integer(), nullable=True),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('check_result', sa.Text(), nullable=True),
    sa.Column('checked_by_id', sa.Integer(), nullable=True),
    sa.Column('checked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('change_request', sa.String(length=20), nullable=True),
    sa.Column('released_document', sa.String(length=40), nullable=True),
    sa.Column('released_revision', sa.String(length=10), nullable=True),
    sa.Column('released_commit', sa.String(length=40), nullable=True),
    sa.Column('released_on', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['checked_by_id'], ['user.id'], name=op.f('fk_improvement_action_checked_by_id_user')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_improvement_action_created_by_id_user')),
    sa.ForeignKeyConstraint(['done_by_id'], ['user.id'], name=op.f('fk_improvement_action_done_by_id_user')),
    sa.ForeignKeyConstraint(['nonconformity_id'], ['nonconformity.id'], name=op.f('fk_improvement_action_nonconformity_id_nonconformity')),
    sa.ForeignKeyConstraint(['owner_id'], ['user.id'], name=op.f('fk_improvement_action_owner_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_improvement_action')),
    sa.UniqueConstraint('number', name=op.f('uq_improvement_action_number'))
    )
    op.create_index(op.f('ix_improvement_action_action_type'), 'improvement_action', ['action_type'], unique=False)
    op.create_index(op.f('ix_improvement_action_change_request'), 'improvement_action', ['change_request'], unique=False)
    op.create_index(op.f('ix_improvement_action_due_date'), 'improvement_action', ['due_date'], unique=False)
    op.create_index(op.f('ix_improvement_action_nonconformity_id'), 'improvement_action', ['nonconformity_id'], unique=False)
    op.create_index(op.f('ix_improvement_action_origin'), 'improvement_action', ['origin'], unique=False)
    op.create_index(op.f('ix_improvement_action_owner_id'), 'improvement_action', ['owner_id'], unique=False)
    op.create_index(op.f('ix_improvement_action_state'), 'improvement_action', ['state'], unique=False)
    op.create_table('improvement_reminder',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('object_type', sa.String(length=20), nullable=False),
    sa.Column('object_key', sa.String(length=20), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_improvement_reminder_user_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_improvement_reminder')),
    sa.UniqueConstraint('object_type', 'object_key', 'kind', 'due_date', 'user_id', name=op.f('uq_improvement_reminder_object_type'))
    )
    op.create_index(op.f('ix_improvement_reminder_user_id'), 'improvement_reminder', ['user_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_nc_evidence_record_number'), table_name='nc_evidence')
    op.drop_index(op.f('ix_nc_evidence_nonconformity_id'), table_name='nc_evidence')
    op.drop_table('nc_evidence')
    op.drop_index(op.f('ix_nc_document_nonconformity_id'), table_name='nc_document')
    op.drop_index(op.f('ix_nc_document_code'), table_name='nc_document')
    op.drop_table('nc_document')
    op.drop_index(op.f('ix_improvement_action_state'), table_name='improvement_action')
    op.drop_index(op.f('ix_improvement_action_owner_id'), table_name='improvement_action')
    op.drop_index(op.f('ix_improvement_action_origin'), table_name='improvement_action')
    op.drop_index(op.f('ix_improvement_action_nonconformity_id'), table_name='improvement_action')
    op.drop_index(op.f('ix_improvement_action_due_date'), table_name='improvement_action')
    op.drop_index(op.f('ix_improvement_action_change_request'), table_name='improvement_action')
    op.drop_index(op.f('ix_improvement_action_action_type'), table_name='improvement_action')
    op.drop_table('improvement_action')
    op.drop_index(op.f('ix_nonconformity_state'), table_name='nonconformity')
    op.drop_index(op.f('ix_nonconformity_source'), table_name='nonconformity')
    op.drop_index(op.f('ix_nonconformity_severity'), table_name='nonconformity')
    op.drop_index(op.f('ix_nonconformity_responsible_id'), table_name='nonconformity')
    op.drop_index(op.f('ix_nonconformity_raised_at'), table_name='nonconformity')
    op.drop_index(op.f('ix_nonconformity_due_date'), table_name='nonconformity')
    op.drop_index(op.f('ix_nonconformity_department_id'), table_name='nonconformity')
    op.drop_index(op.f('ix_nonconformity_clause'), table_name='nonconformity')
    op.drop_table('nonconformity')
    op.drop_index(op.f('ix_improvement_reminder_user_id'), table_name='improvement_reminder')
    op.drop_table('improvement_reminder')
