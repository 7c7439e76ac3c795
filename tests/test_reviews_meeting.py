"""Management reviews: inputs compiled from a seeded history, frozen at the meeting."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from qms import clock, trail
from qms.errors import Conflict, PermissionDenied, ValidationFailed
from qms.extensions import db
from qms.reviews import feedback, inputs, minutes, objectives, services
from qms.reviews.models import Decision, ReviewTopic
from tests.builders import effective
from tests.conftest import PASSWORD

TODAY = clock.today()
START = TODAY - timedelta(days=60)
SIMPLE_FORM = [{"key": "title", "label": "Title", "type": "text", "required": True}]


def plan(users, **kw):
    kw.setdefault("title", "Annual management review")
    kw.setdefault("planned_on", TODAY)
    kw.setdefault("chair", "approver")
    kw.setdefault("attendees", ["approver2", "author", "auditor"])
    kw.setdefault("period_start", START)
    kw.setdefault("period_end", TODAY)
    return services.plan_review(users["admin"], **kw)


def closed_nc(users, improvement_builders, improvement):
    """An NC taken through the whole loop and closed by someone other than the doer."""
    nc = improvement_builders.in_effectiveness_check(users)
    for action in nc.actions:
        improvement.action_transition(
            users["approver2"], action, "verified_effective", result="No obsolete form found."
        )
    return improvement.transition(users["approver2"], nc, "closed", result="Effective.")


@pytest.fixture
def history(users):
    """A period of quality data made through each domain's real services."""
    improvement = pytest.importorskip("qms.improvement.services")
    improvement_builders = pytest.importorskip("tests.builders_improvement")
    records_builders = pytest.importorskip("tests.builders_records")

    seeded = {}
    # Documents: one procedure read by one of the two Service Hall readers.
    doc = effective(users, "QP-07", distribution=["Service Hall"])
    from qms.documents import services as documents

    documents.acknowledge(users["staff"], doc)
    # Records: two forms in force, one of them used in the period.
    records_builders.form_in_force(users, "RF-01", SIMPLE_FORM)
    records_builders.form_in_force(users, "RF-02", SIMPLE_FORM)
    records_builders.submit(users, "RF-01", title="Window 3 check")
    # Nonconformities: one closed, one open, one about a supplier; and their actions.
    seeded["closed"] = closed_nc(users, improvement_builders, improvement)
    seeded["open"] = improvement_builders.raised(users, title="Queue ticket printer down")
    seeded["supplier"] = improvement_builders.raised(
        users, title="Courier lost a licence", source="supplier"
    )
    seeded["preventive"] = improvement.create_action(
        users["approver"],
        "preventive",
        "Second printer on stand-by",
        "author2",
        TODAY + timedelta(days=5),
        origin="trend",
    )
    # Feedback: three complaints, one answered to the customer's satisfaction, one late.
    c1 = feedback.register_complaint(
        users["staff"],
        "window",
        TODAY - timedelta(days=20),
        "Waited two hours.",
        "Service Hall",
        response_due=TODAY + timedelta(days=1),
    )
    feedback.respond(users["staff"], c1, "We opened a second window.", satisfied=True)
    feedback.register_complaint(
        users["staff"],
        "phone",
        TODAY - timedelta(days=30),
        "Nobody answered.",
        "Service Hall",
        response_due=TODAY - timedelta(days=23),
    )
    feedback.register_complaint(
        users["staff"], "online", TODAY - timedelta(days=2), "Form unclear.", "Quality Office"
    )
    # Before the period: not counted.
    feedback.register_complaint(
        users["staff"], "letter", START - timedelta(days=5), "Old one.", "Service Hall"
    )
    # Objectives: one met, one missed, one not measured.
    month = TODAY.strftime("%Y-%m")
    errors = objectives.create_objective(
        users["approver"], "Certificate error rate", "‰", 2, "lower", "monthly"
    )
    objectives.record_measurement(users["approver"], errors, month, 1.2)
    on_time = objectives.create_objective(
        users["approver"], "On-time completion", "%", 99, "higher", "monthly"
    )
    objectives.record_measurement(users["approver"], on_time, month, 97.0)
    objectives.create_objective(users["approver"], "Staff trained", "%", 100, "higher", "yearly")
    feedback.record_survey(users["approver"], month, "Business licences", 120, 93.0)
    feedback.record_survey(users["approver"], month, "Social insurance", 80, 98.0)
    seeded["improvement"] = improvement
    return seeded


def test_prepared_review_inputs_match_the_data(users, history):
    review = services.prepare(users["approver"], plan(users))
    got = review.inputs
    improvement = history["improvement"]

    # a) no earlier review
    assert inputs.figure(got, "previous_actions.total") == 0
    # c) 1) customers: 3 complaints in the period, 1 answered on time, 1 overdue
    assert inputs.figure(got, "customer.complaints") == 3
    assert inputs.figure(got, "customer.answered_on_time") == 1
    assert inputs.figure(got, "customer.open") == 2
    assert inputs.figure(got, "customer.overdue") == 1
    assert inputs.figure(got, "customer.satisfied") == 1
    assert inputs.figure(got, "customer.dissatisfied") == 0
    assert inputs.figure(got, "customer.satisfaction") == round((120 * 93 + 80 * 98) / 200, 1)
    # c) 2) objectives: one met, one missed, one not measured
    assert inputs.figure(got, "objectives.total") == 3
    assert inputs.figure(got, "objectives.met") == 1
    assert inputs.figure(got, "objectives.missed") == 1
    assert inputs.figure(got, "objectives.unmeasured") == 1
    assert inputs.figure(got, "objectives.rate") == 50.0
    # c) 3) process performance: 1 of 2 Service Hall readers; 1 of the 2 forms used
    from qms.documents import services as documents

    acked, expected = 0, 0
    for doc in db.session.scalars(documents.list_documents(status="effective")):
        a, e = documents.acknowledgement_counts(documents.effective_revision(doc))
        acked, expected = acked + a, expected + e
    assert inputs.figure(got, "ack_coverage") == round(100 * acked / expected, 1)
    assert inputs.figure(got, "forms_used") == 50.0
    # c) 4) nonconformities
    assert inputs.figure(got, "nonconformities.raised") == 3
    assert inputs.figure(got, "nonconformities.closed") == 1
    assert inputs.figure(got, "nonconformities.open") == 2
    closed = history["closed"]
    assert inputs.figure(got, "nonconformities.closure_days") == improvement.days_open(closed)
    assert inputs.figure(got, "nonconformities.corrective") == 1
    assert inputs.figure(got, "nonconformities.overdue_actions") == 0
    # c) 5) monitoring: two measurements, one on the wrong side
    assert inputs.figure(got, "monitoring.measurements") == 2
    assert inputs.figure(got, "monitoring.off_target") == 1
    # c) 7) providers, e) risks, f) improvement
    assert inputs.figure(got, "external_providers.ncs") == 1
    assert inputs.figure(got, "risks.actions") == 1
    assert inputs.figure(got, "improvement.actions") == 0
    nc_items = {i["key"] for s in got["sections"] for i in s["items"] if i["kind"] == "nc"}
    assert {closed.number, history["open"].number, history["supplier"].number} <= nc_items
    # Every §9.3.2 input is there, in order.
    assert [s["key"] for s in got["sections"]] == list(inputs.SECTION_KEYS)


def test_audit_results_and_programme_completion_come_from_audits(users, history):
    audits = pytest.importorskip("qms.audits.services")
    programme = audits.save_programme(users["approver"], TODAY.year, "Cover all", "All", "ISO")
    audits.save_unit(users["approver"], programme, "department", "Service Hall", frequency=1)
    audits.save_unit(users["approver"], programme, "department", "Quality Office", frequency=1)
    audit = audits.create_audit(
        users["auditor"],
        audits.PlanData(
            title="Service Hall audit",
            departments=["Service Hall"],
            clauses=["8.5.1"],
            lead_auditor="auditor",
            planned_start=TODAY - timedelta(days=3),
            planned_end=TODAY - timedelta(days=2),
        ),
    )
    audits.transition(users["auditor"], audit, "in_progress")
    finding = audits.record_finding(
        users["auditor"],
        audit,
        "minor_nc",
        "Obsolete form at window 3",
        clause="8.5.1",
        text="Are only current forms in use?",
        responsible="author",
    )
    audits.record_finding(
        users["auditor"], audit, "observation", "Queue long", clause="8.5.1", text="Queues?"
    )
    review = services.prepare(users["approver"], plan(users))
    assert inputs.figure(review.inputs, "audits.held") == 1
    assert inputs.figure(review.inputs, "audits.findings") == 1
    assert inputs.figure(review.inputs, "audits.observations") == 1
    # The audit is not reported yet: nothing of the programme's two audits is done.
    assert inputs.figure(review.inputs, "audit_completion") == 0.0
    assert finding.nc_number in {
        i["key"] for s in review.inputs["sections"] for i in s["items"] if i["kind"] == "nc"
    }


def test_held_review_inputs_do_not_change_when_data_changes(users, history):
    review = plan(users)
    services.save_notes(users["approver"], review, {"resources": "Two more staff for window 3."})
    services.prepare(users["approver"], review)
    services.hold(users["approver"], review, TODAY, "Discussed the queue.")
    frozen = services.inputs_digest(review)
    before = review.inputs

    # Afterwards: new complaint, new measurement, NC moves on, notes attempt.
    feedback.register_complaint(users["staff"], "phone", TODAY, "Rude.", "Service Hall")
    errors = next(o for o in objectives.list_objectives() if o.name == "Certificate error rate")
    objectives.record_measurement(users["approver"], errors, TODAY.strftime("%Y-%m"), 9.9)
    history["improvement"].transition(users["author"], history["open"], "containment")
    with pytest.raises(Conflict):
        services.prepare(users["approver"], review)
    db.session.rollback()
    with pytest.raises(Conflict):
        services.save_notes(users["approver"], review, {"resources": "changed"})
    db.session.rollback()

    db.session.expire_all()
    again = services.get_review(review.number)
    assert services.inputs_digest(again) == frozen
    assert again.inputs == before
    assert inputs.figure(again.inputs, "customer.complaints") == 3
    assert next(s for s in again.inputs["sections"] if s["key"] == "resources")["text"] == (
        "Two more staff for window 3."
    )


def test_inputs_may_be_compiled_again_until_the_meeting(users, history):
    review = services.prepare(users["approver"], plan(users))
    feedback.register_complaint(users["staff"], "phone", TODAY, "Rude.", "Service Hall")
    services.prepare(users["approver"], review)
    assert inputs.figure(review.inputs, "customer.complaints") == 4


# -- decisions, actions, minutes ----------------------------------------------------------


def held(users):
    review = services.prepare(users["approver"], plan(users))
    return services.hold(users["approver"], review, TODAY, "")


def test_decision_creates_a_tracked_action_and_the_next_review_reports_it(users):
    improvement = pytest.importorskip("qms.improvement.services")
    review = held(users)
    decision = services.add_decision(
        users["approver"], review, "resources", "Open a third window on Mondays."
    )
    number = services.create_action(
        users["approver"],
        decision,
        "improvement",
        "Third window on Mondays",
        "author2",
        TODAY + timedelta(days=30),
    )
    action = improvement.get_action(number)
    assert action.origin == "management_review" and action.origin_ref == review.number
    assert services.get_decision(review, decision.id).actions == [number]
    assert services.reviews_discussing("action", number) == [review]

    later = services.prepare(
        users["approver"],
        plan(
            users,
            title="Next review",
            planned_on=TODAY + timedelta(days=1),
            period_start=TODAY,
            period_end=TODAY + timedelta(days=1),
        ),
    )
    assert inputs.figure(later.inputs, "previous_actions.total") == 1
    assert inputs.figure(later.inputs, "previous_actions.open") == 1
    [item] = next(s for s in later.inputs["sections"] if s["key"] == "previous_actions")["items"]
    assert item["key"] == number and item["status"] == "planned"


def test_a_decision_whose_action_is_refused_leaves_no_decision_and_no_trail_event(users):
    pytest.importorskip("qms.improvement.services")
    review = held(users)
    events = len(trail.events_for("review", review.number))
    planned = services.PlannedAction(
        "improvement", "Third window on Mondays", "author2", TODAY - timedelta(days=1)
    )
    # The decision is written first; the action's due date in the past is refused after it.
    with pytest.raises(ValidationFailed) as exc:
        services.decide(users["approver"], review, "resources", "Open a third window.", planned)
    assert exc.value.field == "due_date"
    assert db.session.scalar(select(func.count()).select_from(Decision)) == 0
    assert (
        db.session.scalar(
            select(func.count()).select_from(ReviewTopic).where(ReviewTopic.kind == "action")
        )
        == 0
    )
    assert len(trail.events_for("review", review.number)) == events
    assert not [
        e for e in trail.events_for("review", review.number) if e.action == "review.decision"
    ]
    assert trail.verify() == []

    planned.due_date = TODAY + timedelta(days=30)
    decision, number = services.decide(
        users["approver"], review, "resources", "Open a third window.", planned
    )
    assert services.get_decision(review, decision.id).actions == [number]


def test_decisions_are_recorded_only_at_a_held_review(users):
    review = services.prepare(users["approver"], plan(users))
    with pytest.raises(Conflict):
        services.add_decision(users["approver"], review, "improvement", "Something")


@pytest.mark.parametrize("role", ["staff", "author", "auditor"])
def test_only_the_quality_office_plans_and_prepares_reviews(users, role):
    with pytest.raises(PermissionDenied):
        services.plan_review(users[role], "x", TODAY, "approver", [])
    review = plan(users)
    with pytest.raises(PermissionDenied):
        services.prepare(users[role], review)


def test_chair_must_be_an_approver(users):
    with pytest.raises(ValidationFailed) as exc:
        plan(users, chair="author")
    assert exc.value.field == "chair"


def test_only_the_chair_approves_the_minutes_with_their_password(users):
    review = held(users)
    with pytest.raises(PermissionDenied):
        services.approve_minutes(users["approver2"], review, PASSWORD)
    with pytest.raises(ValidationFailed) as exc:
        services.approve_minutes(users["approver"], review, "wrong")
    assert exc.value.field == "password"
    db.session.rollback()
    services.approve_minutes(users["approver"], review, PASSWORD)
    assert review.state == "approved" and review.minutes and len(review.minutes_sha256) == 64
    with pytest.raises(Conflict):
        services.add_decision(users["approver"], review, "improvement", "Too late")


def test_minutes_escape_what_people_typed(users):
    review = plan(users, title="*Urgent* # review")
    services.save_notes(users["approver"], review, {"resources": "- [link](javascript:x) |a|"})
    services.prepare(users["approver"], review)
    services.hold(users["approver"], review, TODAY, "")
    text = minutes.markdown(review)
    assert "\\*Urgent\\* \\# review" in text
    assert "\\- \\[link\\]\\(javascript\\:x\\) \\|a\\|" in text
    from qms import render

    html = render.to_html(text)
    assert "<em>" not in html and "javascript" in html and "href" not in html


def test_minutes_render_to_docx_and_pdf_with_chinese(users):
    review = plan(users, title="管理评审 2026")
    services.prepare(users["approver"], review)
    services.hold(users["approver"], review, TODAY, "讨论了窗口排队问题。")
    services.approve_minutes(users["approver"], review, PASSWORD)
    docx, mimetype, name = minutes.download(review, "docx")
    assert docx[:2] == b"PK" and name.endswith(".docx")
    pdf, mimetype, name = minutes.download(review, "pdf")
    assert pdf[:5] == b"%PDF-" and mimetype == "application/pdf"
