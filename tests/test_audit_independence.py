"""Independence: an auditor does not audit their own department's documents.

A process audit names no department, so the department check alone let an auditor
audit against the procedures their own department owns.
"""

import pytest

from qms.audits import services
from qms.errors import ValidationFailed
from tests.builders_audits import plan, procedure, second_auditor

OWN = "Business Approval Department"  # the department of the "auditor" user


def test_auditor_cannot_plan_a_process_audit_against_own_departments_documents(users):
    procedure(users, code="QP-09", department=OWN)
    with pytest.raises(ValidationFailed) as err:
        plan(
            users,
            departments=[],
            processes=["Business approval"],
            clauses=["8.5.1"],
            documents=["QP-09"],
        )
    assert err.value.field == "lead_auditor"
    assert "QP-09" in err.value.message and OWN in err.value.message
    assert not _audits()  # nothing was planned


def test_a_team_member_from_the_owning_department_is_refused_too(users):
    procedure(users, code="QP-09", department=OWN)
    second_auditor(users)
    with pytest.raises(ValidationFailed) as err:
        plan(
            users,
            departments=[],
            processes=["Business approval"],
            documents=["QP-09"],
            lead_auditor="auditor2",
            team=["auditor"],
        )
    assert err.value.field == "team"


def test_an_auditor_from_elsewhere_may_audit_that_process(users):
    procedure(users, code="QP-09", department=OWN)
    second_auditor(users)
    audit = plan(
        users,
        departments=[],
        processes=["Business approval"],
        documents=["QP-09"],
        lead_auditor="auditor2",
    )
    assert [r.document.code for r in audit.document_rows] == ["QP-09"]


def test_starting_the_audit_checks_ownership_again(users):
    procedure(users, code="QP-09", department="Service Hall")
    second_auditor(users)
    audit = plan(
        users,
        departments=[],
        processes=["Acceptance"],
        documents=["QP-09"],
        lead_auditor="auditor2",
    )
    # The lead auditor moves into the department that owns the criteria before it starts.
    users["auditor2"].department_id = audit.document_rows[0].document.department_id
    with pytest.raises(ValidationFailed, match="owned by their department"):
        services.transition(users["auditor2"], audit, "in_progress")
    assert audit.state == "planned"


def _audits():
    from sqlalchemy import select

    from qms.audits.models import Audit
    from qms.extensions import db

    return db.session.scalars(select(Audit)).all()
