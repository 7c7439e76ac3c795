"""Data builders for audits: procedures in force, plans, audits in each state."""

from datetime import timedelta

from qms import clock
from qms.audits import services
from qms.auth.services import create_user
from qms.extensions import db
from tests.builders import content, effective, new_document
from tests.conftest import PASSWORD

START = clock.today() + timedelta(days=7)

QP07_BODY = """# Service acceptance

## 1. Purpose

To accept applications right first time.

## 5. Procedure

### 5.1 Acceptance

1. Check the applicant's identity.
2. Check the materials against the service guide.
3. Scan the materials and give the acceptance notice.

### 5.2 Hand-over

The result is handed over at the window against signature.
"""


def procedure(users, code="QP-07", department="Service Hall", clauses=("8.5.1",), **kw):
    """Put a procedure owned by ``department`` in force, authored by ``author``."""
    new_document(users, code, title="Service acceptance", department=department, **kw)
    text = content(code, "Service acceptance", QP07_BODY).replace(
        "clauses: ['7.5']", f"clauses: {list(clauses)!r}"
    )
    return effective(users, code, text=text)


def second_auditor(users, username="auditor2", department="Complaints and Supervision Office"):
    """Add an auditor who also writes documents (to test independence from own work)."""
    user = create_user(
        username, PASSWORD, ["auditor", "author"], department, full_name=username.title()
    )
    db.session.commit()
    users[username] = user
    return user


def plan(users, by="auditor", **kw):
    """Plan an audit of the Service Hall against 8.5.1, led by ``auditor``."""
    data = services.PlanData(
        title=kw.pop("title", "Service Hall acceptance"),
        departments=kw.pop("departments", ["Service Hall"]),
        clauses=kw.pop("clauses", ["8.5.1"]),
        lead_auditor=kw.pop("lead_auditor", "auditor"),
        planned_start=kw.pop("planned_start", START),
        planned_end=kw.pop("planned_end", START + timedelta(days=1)),
        **kw,
    )
    return services.create_audit(users[by], data)


def started(users, **kw):
    audit = plan(users, **kw)
    return services.transition(audit.lead_auditor, audit, "in_progress")


def answer_all(audit, result="conforming", evidence="Seen at window 2."):
    """Give every unanswered question ``result``."""
    for question in list(audit.questions):
        if question.result is None:
            services.record_finding(audit.lead_auditor, audit, result, evidence, question=question)
    return audit


def reported(users, lang="en", **kw):
    audit = answer_all(started(users, **kw))
    return services.transition(audit.lead_auditor, audit, "reported", PASSWORD, lang)
