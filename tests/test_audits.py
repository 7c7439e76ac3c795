"""Audit rules: plans and their checklist, independence, findings to NCs, states, coverage."""

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from qms import clock
from qms.audits import checklists, services
from qms.audits.models import AuditProgramme
from qms.documents import services as documents
from qms.errors import Conflict, PermissionDenied, ValidationFailed
from qms.extensions import db
from qms.improvement import services as improvement
from qms.improvement.models import Nonconformity
from tests.builders import content, effective
from tests.builders_audits import (
    QP07_BODY,
    START,
    answer_all,
    plan,
    procedure,
    reported,
    second_auditor,
    started,
)
from tests.conftest import PASSWORD

SOON = clock.today() + timedelta(days=20)


# -- the checklist data -----------------------------------------------------------------


def test_checklist_data_covers_every_main_clause_in_both_languages():
    clauses = checklists.load()

    numbers = [c.clause for c in clauses]
    assert numbers[0] == "4.1" and numbers[-1] == "10.3"
    assert {"8.3", "8.5", "9.2", "10.2"} <= set(numbers)
    for clause in clauses:
        assert clause.title["en"] and clause.title["zh_Hans"]
        assert 3 <= len(clause.questions) <= 6, clause.clause
        for q in clause.questions:
            assert q.text["en"].strip() and q.text["zh_Hans"].strip()
            assert checklists.related(q.clause, clause.clause)
    ids = [q.id for c in clauses for q in c.questions]
    assert len(ids) == len(set(ids))


def test_procedure_steps_are_numbered_items_and_prescriptive_sections():
    steps = checklists.procedure_steps(QP07_BODY)

    assert [s.ref for s in steps] == ["5.1 (1)", "5.1 (2)", "5.1 (3)", "5.2"]
    assert steps[0].text == "Check the applicant's identity."
    assert "Purpose" not in [s.text for s in steps]
    # A section without numbered steps asks its first requirement, not its heading.
    assert steps[-1].text == "The result is handed over at the window against signature."


def test_a_heading_is_never_a_question():
    body = (
        "## 5. Procedure\n\n### 5.1 Identification and coding\n\n"
        "| Type | Code |\n|---|---|\n| Procedure | QP-nn |\n\n"
        "### 5.2 Do not\n\n- ask for materials not listed;\n- keep originals.\n\n"
        "### 5.3 Hand-over\n\nHand the result over against signature. Then close the case.\n"
    )

    steps = checklists.procedure_steps(body)

    assert [(s.ref, s.text) for s in steps] == [("5.3", "Hand the result over against signature.")]


AUTHORING_BODY = """# Control of documents

## 5. Procedure

### 5.1 Identification and coding

| Type | Code |
|---|---|
| Procedure | QP-nn |

### 5.2 Drafting

1. The author raises a change request.
2. The author writes the draft.
"""


def _in_force(users, code, department, clauses, body, distribution=None):
    documents.create_document(
        users["author"],
        code,
        f"Document {code}",
        "work_instruction" if code.startswith("WI") else "procedure",
        department=department,
        clauses=list(clauses),
        distribution=distribution or [],
    )
    text = content(code, f"Document {code}", body).replace(
        "clauses: ['7.5']", f"clauses: {list(clauses)!r}"
    )
    if code.startswith("WI"):
        text = text.replace("type: procedure", "type: work_instruction")
    return effective(users, code, text=text)


def test_checklist_of_one_department_on_two_clauses_fits_that_scope(users):
    hall_steps = "## 3. Receiving\n\n1. Call the next number.\n2. Check the identity.\n"
    _in_force(users, "QP-07", "Service Hall", ["8.5.1"], QP07_BODY)
    _in_force(users, "WI-07-02", "Service Hall", ["8.2.1"], hall_steps)
    # Used by the hall (in its distribution), on an audited clause: in scope.
    _in_force(
        users, "QP-06", "Information Technology Department", ["8.2.1"], hall_steps, ["Service Hall"]
    )
    # Out of scope: the hall's document on another clause, another department's procedure
    # on an audited clause, and the document-control procedure everybody uses.
    _in_force(users, "QP-09", "Service Hall", ["7.2"], hall_steps)
    _in_force(users, "QP-10", "Quality Office", ["8.5.1"], hall_steps)
    _in_force(users, "QP-01", "Quality Office", ["7.5"], AUTHORING_BODY, ["all"])
    scope = dict(departments=["Service Hall"], clauses=["8.2", "8.5.1"])
    data = services.PlanData(
        title="Hall", lead_auditor="auditor", planned_start=START, planned_end=START, **scope
    )

    preview = services.preview_checklist(data)
    audit = plan(users, **scope)

    assert {r.document.code for r in audit.document_rows} == {"QP-06", "QP-07", "WI-07-02"}
    questions = audit.questions
    assert all(
        checklists.related(q.clause, "8.2") or checklists.related(q.clause, "8.5.1")
        for q in questions
    )
    assert {q.document_code for q in questions if q.source == "procedure"} == {
        "QP-06",
        "QP-07",
        "WI-07-02",
    }
    texts = [q.text for q in questions]
    for heading in ("Identification and coding", "Drafting", "Hand-over", "Receiving"):
        assert heading not in texts
    assert not any("author" in text for text in texts)
    assert len(questions) <= services.MAX_QUESTIONS
    # The preview the planner saw is the checklist the plan generated, question for question.
    assert [(p["source"], p["source_ref"]) for p in preview] == [
        (q.source, q.source_ref) for q in questions
    ]


def test_checklist_is_bounded_per_document_and_in_all(users):
    many = "## 5. Procedure\n\n" + "".join(f"{n}. Step number {n}.\n" for n in range(1, 40))
    for n in range(1, 8):
        _in_force(users, f"QP-{n:02d}", "Service Hall", ["8.5.1"], many)

    audit = plan(users, clauses=["8.5.1"])

    per_document = {}
    for q in audit.questions:
        per_document[q.document_code] = per_document.get(q.document_code, 0) + 1
    assert len(audit.questions) == services.MAX_QUESTIONS
    assert max(n for code, n in per_document.items() if code) == services.MAX_STEPS_PER_DOCUMENT


def test_a_preview_needs_a_scope_and_saves_nothing(users):
    from qms.audits.models import Audit

    with pytest.raises(ValidationFailed) as err:
        services.preview_checklist(services.PlanData(title="", clauses=["8.5.1"]))
    assert err.value.field == "departments"
    with pytest.raises(ValidationFailed) as err:
        services.preview_checklist(services.PlanData(title="", departments=["Service Hall"]))
    assert err.value.field == "clauses"

    services.preview_checklist(
        services.PlanData(title="", departments=["Service Hall"], clauses=["8.5.1"])
    )
    assert db.session.scalar(select(func.count()).select_from(Audit)) == 0


# -- planning ---------------------------------------------------------------------------


def test_plan_takes_questions_from_checklist_procedures_and_auditor(users):
    procedure(users)

    audit = plan(users)

    sources = {q.source for q in audit.questions}
    assert sources == {"checklist", "procedure"}
    assert "8.5-1" in {q.source_ref for q in audit.questions if q.source == "checklist"}
    steps = [q for q in audit.questions if q.source == "procedure"]
    assert [q.document_code for q in steps] == ["QP-07"] * 4
    assert steps[0].text == "Check the applicant's identity."
    own = services.add_question(users["auditor"], audit, "Are queue tickets kept?", "7.5")
    assert own.source == "auditor" and own.seq == len(audit.questions)


def test_criteria_default_to_procedures_of_scope_pinned_to_revision_in_force(users):
    procedure(users)

    audit = plan(users)

    assert [(r.document.code, r.revision) for r in audit.document_rows] == [("QP-07", "A")]


def test_criteria_are_repinned_to_the_revision_in_force_when_the_audit_starts(users):
    doc = procedure(users)
    audit = plan(users)
    documents.save_draft(users["author"], doc, content("QP-07", "Service acceptance"), "B")
    documents.submit(users["author"], doc)
    documents.approve(users["approver"], doc, PASSWORD)
    documents.release(users["approver"], doc)

    services.transition(users["auditor"], audit, "in_progress")

    assert audit.document_rows[0].revision == "B"


def test_references_count_per_year(users):
    first = plan(users)
    second = plan(users)
    next_year = plan(
        users, planned_start=date(START.year + 1, 3, 1), planned_end=date(START.year + 1, 3, 2)
    )

    assert first.ref == f"IA-{START.year}-01"
    assert second.ref == f"IA-{START.year}-02"
    assert next_year.ref == f"IA-{START.year + 1}-01"


@pytest.mark.parametrize("username", ["staff", "author"])
def test_only_auditors_and_quality_office_plan(users, username):
    with pytest.raises(PermissionDenied):
        plan(users, by=username)


def test_lead_auditor_must_be_an_auditor(users):
    with pytest.raises(ValidationFailed) as err:
        plan(users, lead_auditor="staff2")
    assert err.value.field == "lead_auditor"


def test_plan_refuses_end_before_start(users):
    with pytest.raises(ValidationFailed) as err:
        plan(users, planned_end=START - timedelta(days=1))
    assert err.value.field == "planned_end"


# -- independence -----------------------------------------------------------------------


def test_auditor_cannot_audit_own_department_and_is_told_why(users):
    with pytest.raises(ValidationFailed) as err:
        plan(users, departments=["Business Approval Department"])

    assert err.value.field == "lead_auditor"
    assert "belong to that department" in err.value.message
    assert "Business Approval Department" in err.value.message


def test_team_member_cannot_audit_own_department(users):
    second_auditor(users)

    with pytest.raises(ValidationFailed) as err:
        plan(
            users,
            departments=["Service Hall", "Complaints and Supervision Office"],
            team=["auditor2"],
        )

    assert err.value.field == "team"
    assert "Auditor2 cannot audit Complaints and Supervision Office" in err.value.message


def test_auditor_cannot_audit_a_document_they_authored(users):
    second_auditor(users)
    documents.create_document(
        users["auditor2"],
        "QP-07",
        "Acceptance",
        "procedure",
        department="Service Hall",
        clauses=["8.5.1"],
    )
    doc = documents.get_document("QP-07")
    # The procedure serves the audited clause, so it is among the audit's criteria.
    text = content("QP-07", "Acceptance").replace("['7.5']", "['8.5.1']")
    documents.save_draft(users["auditor2"], doc, text, "First")
    documents.submit(users["auditor2"], doc)
    documents.approve(users["approver"], doc, PASSWORD)
    documents.release(users["approver"], doc)

    with pytest.raises(ValidationFailed) as err:
        plan(users, team=["auditor2"])

    assert "they authored its revision A" in err.value.message
    assert "QP-07" in err.value.message


def test_auditor_cannot_audit_a_document_they_approved(users):
    from qms.auth.models import UserRole

    procedure(users)
    users["approver"].role_rows.append(UserRole(role="auditor"))
    db.session.commit()

    with pytest.raises(ValidationFailed) as err:
        plan(users, team=["approver"])

    assert "they approved its revision A" in err.value.message


def test_start_is_refused_when_a_team_member_wrote_the_revision_now_in_force(users):
    doc = procedure(users)
    second_auditor(users)
    audit = plan(users, team=["auditor2"])
    documents.save_draft(users["auditor2"], doc, content("QP-07", "Service acceptance"), "B")
    documents.submit(users["auditor2"], doc)
    documents.approve(users["approver"], doc, PASSWORD)
    documents.release(users["approver"], doc)

    with pytest.raises(ValidationFailed, match="they authored its revision B"):
        services.transition(users["auditor"], audit, "in_progress")


def test_independent_team_is_accepted(users):
    procedure(users)
    second_auditor(users)

    audit = plan(users, team=["auditor2"], auditees=["staff"])

    assert [u.username for u in audit.team] == ["auditor2"]
    assert [u.username for u in audit.auditees] == ["staff"]


def test_replanning_checks_independence_again(users):
    audit = plan(users)
    data = services.PlanData(
        title=audit.title,
        departments=["Business Approval Department"],
        clauses=["8.5.1"],
        lead_auditor="auditor",
        planned_start=START,
        planned_end=START,
    )

    with pytest.raises(ValidationFailed, match="belong to that department"):
        services.update_plan(users["auditor"], audit, data)


# -- findings ---------------------------------------------------------------------------


def test_finding_graded_nc_raises_the_nc_with_every_link(users):
    procedure(users)
    audit = started(users)
    question = next(q for q in audit.questions if q.source_ref == "QP-07 5.1 (2)")

    services.record_finding(
        users["auditor"],
        audit,
        "major_nc",
        "Three applications accepted without checking the materials list.",
        question=question,
        responsible="author",
        due_date=SOON,
    )

    assert question.nc_number
    nc = improvement.get_nc(question.nc_number)
    assert nc.source == "internal_audit"
    assert nc.severity == "major"
    assert nc.clause == "8.5.1"
    assert nc.department.name == "Service Hall"
    assert nc.responsible.username == "author"
    assert nc.due_date == SOON
    assert [(d.code, d.revision) for d in nc.documents] == [("QP-07", "A")]
    assert audit.ref in nc.description and f"question {question.seq}" in nc.description
    assert "Three applications accepted" in nc.description
    links = [e.url for e in nc.evidence if e.kind == "link"]
    assert links == [f"http://localhost/audits/{audit.ref}#q{question.seq}"]


def test_checklist_finding_links_the_criteria_serving_its_clause(users):
    procedure(users)
    audit = started(users)
    question = next(q for q in audit.questions if q.source == "checklist")

    services.record_finding(
        users["auditor"], audit, "minor_nc", "No acceptance notice.", question=question
    )

    nc = improvement.get_nc(question.nc_number)
    assert nc.severity == "minor"
    assert nc.document_codes == ["QP-07"]


def test_finding_without_a_question_adds_one_under_its_clause(users):
    audit = started(users)

    question = services.record_finding(
        users["auditor"], audit, "minor_nc", "Queue tickets thrown away.", clause="7.5.3"
    )

    assert question.source == "auditor" and question.clause == "7.5.3"
    assert improvement.get_nc(question.nc_number).clause == "7.5.3"


@pytest.mark.parametrize("result", ["major_nc", "minor_nc", "observation", "ofi"])
def test_finding_needs_evidence(users, result):
    audit = started(users)

    with pytest.raises(ValidationFailed) as err:
        services.record_finding(users["auditor"], audit, result, "  ", clause="8.5.1")
    assert err.value.field == "evidence"


@pytest.mark.parametrize("username", ["staff", "approver", "author"])
def test_only_the_audit_team_records_findings(users, username):
    audit = started(users)

    with pytest.raises(PermissionDenied):
        services.record_finding(users[username], audit, "conforming", clause="8.5.1")


def test_findings_are_recorded_only_while_in_progress(users):
    audit = plan(users)

    with pytest.raises(Conflict, match="planned"):
        services.record_finding(users["auditor"], audit, "conforming", clause="8.5.1")


def test_finding_that_raised_an_nc_cannot_be_downgraded(users):
    audit = started(users)
    question = services.record_finding(users["auditor"], audit, "minor_nc", "x", clause="8.5")

    with pytest.raises(Conflict, match=question.nc_number):
        services.record_finding(users["auditor"], audit, "conforming", question=question)


def test_recording_an_nc_again_does_not_raise_a_second_one(users):
    audit = started(users)
    question = services.record_finding(users["auditor"], audit, "minor_nc", "x", clause="8.5")
    number = question.nc_number

    services.record_finding(users["auditor"], audit, "major_nc", "x and y", question=question)

    assert question.nc_number == number
    assert db.session.scalar(db.select(db.func.count()).select_from(Nonconformity)) == 1


@pytest.mark.parametrize(
    ("result", "action_type"), [("observation", "preventive"), ("ofi", "improvement")]
)
def test_observations_and_opportunities_become_actions(users, result, action_type):
    audit = started(users)
    question = services.record_finding(
        users["auditor"], audit, result, "Waiting area signs are small.", clause="7.1.4"
    )

    number = services.raise_action(users["auditor"], audit, question, "author", SOON)

    action = improvement.get_action(number)
    assert action.action_type == action_type
    assert action.origin == "audit"
    assert action.origin_ref == f"{audit.ref} Q{question.seq}"
    assert question.action_ref == number


def test_records_cited_are_checked_and_linked(users):
    from qms.records import services as records
    from tests.builders_records import form_in_force, submit

    form_in_force(users)
    record = submit(users)
    audit = started(users)

    question = services.record_finding(
        users["auditor"], audit, "conforming", "ok", clause="7.5", records=[record.number]
    )

    assert question.records == [record.number]
    assert records.links_to("audit", f"{audit.ref}/{question.seq}") == [record]
    with pytest.raises(ValidationFailed) as err:
        services.record_finding(
            users["auditor"], audit, "conforming", "ok", clause="7.5", records=["REC-1999-9999"]
        )
    assert err.value.field == "records"


def test_attachment_is_kept_in_the_store_under_its_sha256(users):
    import hashlib
    from io import BytesIO

    from qms import attachments

    audit = started(users)
    question = audit.questions[0]
    data = b"\x89PNG\r\n\x1a\n photo of the notice board"

    att = services.add_attachment(users["auditor"], audit, question, BytesIO(data), "../board.png")

    assert att.sha256 == hashlib.sha256(data).hexdigest()
    assert attachments.path(att.sha256).read_bytes() == data
    assert (att.filename, att.content_type, att.size) == ("board.png", "image/png", len(data))
    assert att.sha256 in attachments.referenced()


def test_refused_evidence_file_leaves_no_finding_nc_file_or_event(users):
    from io import BytesIO

    from qms import attachments
    from qms.trail import AuditEvent

    audit = started(users)
    question = audit.questions[0]
    events = db.session.scalar(select(func.count()).select_from(AuditEvent))

    with pytest.raises(ValidationFailed) as err:
        services.record_finding(
            users["auditor"],
            audit,
            "minor_nc",
            "No acceptance notice.",
            question=question,
            files=[services.Upload(BytesIO(b"<html><script>x()</script>"), "notice.jpg")],
        )

    assert err.value.field == "attachment"
    assert question.result is None and question.nc_number is None
    assert db.session.scalar(select(func.count()).select_from(Nonconformity)) == 0
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == events
    assert attachments.stored() == set()


def test_finding_refused_after_its_photo_was_stored_removes_the_photo(users):
    from io import BytesIO

    from qms import attachments

    audit = started(users)
    question = audit.questions[0]

    with pytest.raises(ValidationFailed) as err:
        services.record_finding(
            users["auditor"],
            audit,
            "minor_nc",
            "No acceptance notice.",
            question=question,
            responsible="nobody",
            files=[services.Upload(BytesIO(b"\xff\xd8\xff\xe0 photo"), "notice.jpg")],
        )

    assert err.value.field == "responsible"
    assert question.result is None and not question.attachments
    assert db.session.scalar(select(func.count()).select_from(Nonconformity)) == 0
    assert attachments.stored() == set()


# -- states -----------------------------------------------------------------------------


def test_states_move_only_in_order(users):
    audit = plan(users)

    with pytest.raises(Conflict, match="cannot move"):
        services.transition(users["auditor"], audit, "reported", PASSWORD)
    with pytest.raises(Conflict):
        services.transition(users["auditor"], audit, "closed")


def test_report_is_signed_only_when_every_question_has_a_result(users):
    audit = started(users)

    with pytest.raises(Conflict, match="no result yet"):
        services.transition(users["auditor"], audit, "reported", PASSWORD)


def test_report_signature_needs_the_password(users):
    audit = answer_all(started(users))

    with pytest.raises(PermissionDenied) as err:
        services.transition(users["auditor"], audit, "reported", "wrong password")
    assert err.value.field == "password"


def test_only_the_lead_auditor_signs_the_report(users):
    second_auditor(users, department="Quality Office")
    audit = answer_all(started(users, team=["auditor2"]))

    with pytest.raises(PermissionDenied, match="lead auditor"):
        services.transition(users["auditor2"], audit, "reported", PASSWORD)


def test_signed_report_keeps_its_text_and_hash(users):
    import hashlib

    audit = reported(users)

    assert audit.state == "reported"
    assert audit.report_signed_by.username == "auditor"
    assert audit.report_sha256 == hashlib.sha256(audit.report_body.encode()).hexdigest()
    assert audit.ref in audit.report_body


def _nc_through_plan_acceptance(users, number):
    nc = improvement.get_nc(number)
    improvement.transition(nc.responsible, nc, "containment")
    improvement.transition(nc.responsible, nc, "analysis", containment="Stopped at once.")
    improvement.record_analysis(
        nc.responsible,
        nc,
        ["No checklist at the window."],
        "method",
        "The procedure does not require the check.",
    )
    improvement.transition(users["approver"], nc, "action_plan")
    improvement.create_action(
        nc.responsible,
        "corrective",
        "Add the check to QP-07",
        "author2",
        SOON,
        nonconformity=nc.number,
        effectiveness_criteria="No case without the check in May.",
    )
    improvement.transition(users["approver"], nc, "implementation")
    return nc


def test_audit_cannot_close_with_an_open_nc(users):
    audit = started(users)
    question = services.record_finding(
        users["auditor"], audit, "minor_nc", "Missing notice.", clause="8.5.1", responsible="author"
    )
    answer_all(audit)
    services.transition(users["auditor"], audit, "reported", PASSWORD)

    with pytest.raises(Conflict) as err:
        services.transition(users["auditor"], audit, "closed")

    assert question.nc_number in err.value.message
    assert err.value.detail == {"nonconformities": [question.nc_number]}
    assert audit.state == "reported"


def test_audit_closes_once_its_nc_plan_is_accepted(users):
    audit = started(users)
    question = services.record_finding(
        users["auditor"], audit, "major_nc", "Missing notice.", clause="8.5.1", responsible="author"
    )
    answer_all(audit)
    services.transition(users["auditor"], audit, "reported", PASSWORD)
    _nc_through_plan_acceptance(users, question.nc_number)

    services.transition(users["approver"], audit, "closed")

    assert audit.state == "closed" and audit.closed_at is not None


@pytest.mark.parametrize("username", ["staff", "author"])
def test_only_lead_or_quality_office_closes(users, username):
    audit = reported(users)

    with pytest.raises(PermissionDenied):
        services.transition(users[username], audit, "closed")


# -- the programme and its coverage -----------------------------------------------------


@pytest.mark.parametrize(
    ("risk", "past", "expected"),
    [
        ("low", 0, 1),
        ("medium", 0, 2),
        ("high", 0, 4),
        ("low", 1, 2),
        ("medium", 3, 4),
        ("high", 5, 8),
    ],
)
def test_suggested_frequency_follows_risk_and_past_findings(risk, past, expected):
    assert services.suggested_frequency(risk, past) == expected


def test_unit_frequency_defaults_to_suggestion_from_last_years_ncs(users):
    last_year = date(START.year - 1, 5, 1)
    audit = started(users, planned_start=last_year, planned_end=last_year)
    services.record_finding(users["auditor"], audit, "minor_nc", "x", clause="8.5.1")
    programme = services.save_programme(users["auditor"], START.year, "o", "s", "c")

    unit = services.save_unit(users["auditor"], programme, "department", "Service Hall", "low")

    assert unit.frequency == 2


def test_coverage_matrix_shows_audits_and_flags_gaps(users):
    year = START.year
    programme = services.save_programme(users["approver"], year, "Cover 4-10", "All", "ISO")
    services.save_unit(
        users["approver"],
        programme,
        "department",
        "Service Hall",
        "high",
        frequency=2,
        clauses=["8.5", "7.5"],
    )
    services.save_unit(
        users["approver"],
        programme,
        "process",
        "Complaints handling",
        "medium",
        frequency=1,
        clauses=["9.1"],
    )
    services.save_unit(
        users["approver"],
        programme,
        "department",
        "Information Technology Department",
        "low",
        frequency=1,
    )
    a1 = plan(users, departments=["Service Hall"], clauses=["8.5.1"])
    a2 = plan(
        users, departments=["Service Hall"], processes=["Complaints handling"], clauses=["7.5", "9"]
    )

    matrix = services.coverage(year)

    rows = {(r.kind, r.name): r for r in matrix.rows}
    hall = rows[("department", "Service Hall")]
    assert hall.cells["8.5"] == [a1.ref]
    assert hall.cells["7.5"] == [a2.ref]
    assert hall.cells["9.1"] == [a2.ref]  # covered though the programme does not ask for it
    assert hall.gaps == []
    assert hall.audits == [a1.ref, a2.ref] and hall.shortfall == 0
    complaints = rows[("process", "Complaints handling")]
    assert complaints.cells["9.1"] == [a2.ref] and complaints.gaps == []
    general = rows[("department", "Information Technology Department")]
    assert general.gaps == checklists.main_clauses()  # in the programme, never audited
    assert general.shortfall == 1
    outside = rows[("department", "Quality Office")]
    assert not outside.in_programme
    assert ("department", "Information Technology Department", "4.1") in matrix.gaps
    assert "8.3" in matrix.uncovered_clauses and "8.5" not in matrix.uncovered_clauses
    assert ("department", "Service Hall", "8.5") not in matrix.gaps


def test_programme_is_one_per_year(users):
    services.save_programme(users["auditor"], 2031, "first", "", "")
    services.save_programme(users["auditor"], 2031, "second", "", "")

    rows = db.session.scalars(db.select(AuditProgramme)).all()
    assert [(p.year, p.objectives) for p in rows] == [(2031, "second")]


def test_home_panel_lists_audits_i_lead_or_audit_in(users):
    second_auditor(users, department="Quality Office")
    audit = plan(users, team=["auditor2"])

    assert services.work_for(users["auditor"]) == [audit]
    assert services.work_for(users["auditor2"]) == [audit]
    assert services.work_for(users["staff"]) == []


def test_pages_ask_the_can_rules_and_spell_out_no_role():
    from qms import ROOT

    for path in [ROOT / "qms/audits/views.py", *(ROOT / "templates/audits").glob("*.html")]:
        text = path.read_text(encoding="utf-8")
        assert "has_role" not in text and "_ROLES" not in text, path.name
