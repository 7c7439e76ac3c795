"""The demo's quality system at work: records, nonconformities, audits, objectives, reviews.

Everything is made through each domain's public services, as the demo's people would make
it in the browser, so numbering, the trail and every workflow rule apply exactly as in
real use. Dates are relative to today so the demo always looks current. The services
refuse due dates in the past, so nothing can be made overdue here: actions are due soon.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask_babel import force_locale
from sqlalchemy import select

from qms import clock
from qms.audits import services as audits
from qms.auth.models import User
from qms.demo import department_name
from qms.demo.texts import texts
from qms.extensions import db
from qms.improvement import services as improvement
from qms.records import services as records
from qms.reviews import periods
from qms.reviews import services as reviews

ACCEPTANCE_FORM = "RF-07-01-01"
NOTIFICATION_FORM = "RF-07-02-01"
SURVEY_FORM = "RF-06-00-01"
# (days ago, case sequence, applicant, applicant type, phone, matter, window, decision)
ACCEPTANCES = {
    "individual": (9, 17, "person_li", "individual", "138-0013-8000", "matter_individual", "3"),
    "food": (8, 21, "firm_hengtai", "business", "0571-8765-4321", "matter_food", "5"),
    "address": (3, 8, "person_zhang", "individual", "139-0571-2828", "matter_address", "2"),
}
# (respondent, matter, visits, waiting time, attitude, clarity, score, comment)
SURVEYS = (
    ("individual", "matter_individual", 1, "15_to_30_min", "very_satisfied", "satisfied", 95, None),
    (
        "business",
        "matter_food",
        3,
        "30_to_60_min",
        "satisfied",
        "dissatisfied",
        60,
        "survey_comment",
    ),
)
# The steps of WI-07-02 the demo audit finds fault with (the same in every language).
NC_STEP = "WI-07-02 3 (2)"
OBSERVATION_STEP = "WI-07-02 3 (3)"
# (name, unit, target, direction, frequency, source, owner, values of the past periods,
# the note given with a value that misses the target)
OBJECTIVES = (
    ("objective_on_time", "%", 98, "higher", "monthly", "manual", "staff",
     (98.6, 99.1, 97.4, 98.2, 98.9, 99.3), "objective_on_time_low"),
    ("objective_one_visit", "%", 90, "higher", "monthly", "manual", "staff",
     (86.5, 88.0, 89.2, 91.0, 90.4, 92.1), None),
    ("objective_satisfaction", "%", 95, "higher", "quarterly", "surveys", "mrep", (), None),
    ("objective_errors", "objective_errors_unit", 0, "lower", "quarterly", "manual", "mrep",
     (2, 1, 0), None),
)  # fmt: skip
# Satisfaction surveys of the past quarters, oldest first: (service, responses, score).
SURVEY_RESULTS = (
    (("survey_registration", 412, 93.5), ("survey_food", 118, 88.0)),
    (("survey_registration", 436, 95.2), ("survey_food", 131, 90.1)),
    (("survey_registration", 451, 96.0), ("survey_food", 127, 91.3)),
)


@dataclass
class Demo:
    """What every part of the demo needs: its language, today, its people and texts."""

    lang: str
    today: date
    people: dict[str, User]
    passwords: dict[str, str]

    def t(self, key: str, **values) -> str:
        text = texts(self.lang)[key]
        return text.format(**values) if values else text

    def lines(self, key: str) -> list[str]:
        return list(texts(self.lang)[key])

    def dept(self, name: str) -> str:
        return department_name(name, self.lang)

    def days(self, n: int) -> date:
        return self.today + timedelta(days=n)

    def this_year(self, day: date) -> date:
        """Keep a date near today within this year, so it falls in this year's plans."""
        return min(max(day, date(self.today.year, 1, 1)), date(self.today.year, 12, 31))


def load_activity(lang: str, passwords: dict[str, str], today: date | None = None) -> None:
    """Fill records, work nonconformities, audit, measure objectives and plan a review."""
    people = {u.username: u for u in db.session.scalars(select(User))}
    demo = Demo(lang, today or clock.today(), people, passwords)
    # Services word what they generate (an audit NC's title, the audit report, the review
    # inputs) in the current locale; outside a request, make that the demo's language.
    with force_locale(lang):
        numbers = _demo_records(demo)
        _demo_improvement(demo, numbers)
        _demo_audits(demo, numbers)
        from qms.demo import competence, equipment, suppliers

        competence.load(demo, numbers)
        from qms.demo import risks as demo_risks  # the risk register (§6.1)

        demo_risks.load(demo)
        suppliers.load(demo)
        equipment.load(demo)
        _demo_reviews(demo)


# -- records ---------------------------------------------------------------------------


def _demo_records(demo: Demo) -> dict[str, str]:
    """Staff fill the acceptance register (amending one entry), a slip and two surveys."""
    staff = demo.people["staff"]
    filled = {}
    for key in ACCEPTANCES:
        values = _acceptance(demo, key)
        filled[key] = records.submit_record(staff, ACCEPTANCE_FORM, values)
        if key == "address":
            corrected = values | {"contact_phone": "139-0571-2882"}
            records.amend_record(staff, filled[key].number, corrected, demo.t("amend_reason"))
    slip = records.submit_record(staff, NOTIFICATION_FORM, _slip(demo))
    for row in SURVEYS:
        records.submit_record(staff, SURVEY_FORM, _survey(demo, row))
    return {
        "individual": filled["individual"].number,
        "address": filled["address"].number,
        "slip": slip.number,
    }


def _acceptance(demo: Demo, key: str) -> dict:
    days_ago, seq, applicant, kind, phone, matter, window = ACCEPTANCES[key]
    day = demo.days(-days_ago)
    accepted = key != "food"
    return {
        "case_no": f"{day:%Y%m%d}{seq:03d}",
        "received_at": datetime.combine(day, time(9, 10 + seq)).isoformat("T", "minutes"),
        "applicant_name": demo.t(applicant),
        "applicant_type": kind,
        "contact_phone": phone,
        "service_item": demo.t(matter),
        "window_no": window,
        "decision": "accepted" if accepted else "notified",
        "promised_date": (day + timedelta(days=5)).isoformat() if accepted else "",
        "officer": demo.people["staff"].username,
    }


def _slip(demo: Demo) -> dict:
    """The one-time notification slip given to the food business (the audit cites it)."""
    food = _acceptance(demo, "food")
    return {
        "notice_no": f"{food['case_no']}-N1",
        "issued_on": food["received_at"][:10],
        "applicant_name": food["applicant_name"],
        "service_item": food["service_item"],
        "missing_items": [
            {
                "document": demo.t("item_floor_plan"),
                "problem": "missing",
                "requirement": demo.t("need_floor_plan"),
            },
            {
                "document": demo.t("item_health"),
                "problem": "expired",
                "requirement": demo.t("need_health"),
            },
        ],
        "officer": demo.people["staff"].username,
        "applicant_acknowledged": True,
    }


def _survey(demo: Demo, row: tuple) -> dict:
    kind, matter, visits, waiting, attitude, clarity, score, comment = row
    return {
        "survey_date": demo.days(-2).isoformat(),
        "respondent_type": kind,
        "service_item": demo.t(matter),
        "visits_needed": visits,
        "waiting_time": waiting,
        "staff_attitude": attitude,
        "clarity_of_information": clarity,
        "score": score,
        "suggestions": demo.t(comment) if comment else "",
    }


# -- nonconformities and actions ---------------------------------------------------------


def _demo_improvement(demo: Demo, numbers: dict[str, str]) -> None:
    """A staff report worked through to closure after an effectiveness check."""
    staff, author, mrep = (demo.people[u] for u in ("staff", "author", "mrep"))
    nc = improvement.raise_nc(
        staff,
        demo.t("nc_form_title"),
        demo.t("nc_form_description", record=numbers["individual"]),
        "staff_report",
        department=demo.dept("Service Hall"),
        clause="7.5.3",
        responsible=author.username,
        due_date=demo.days(30),
        documents=["WI-07-01"],
        records=[numbers["individual"]],
    )
    improvement.transition(author, nc, "containment")
    improvement.transition(author, nc, "analysis", containment=demo.t("nc_form_containment"))
    improvement.record_analysis(
        author, nc, demo.lines("nc_form_whys"), "method", demo.t("nc_form_root_cause")
    )
    improvement.transition(mrep, nc, "action_plan")
    action = improvement.create_action(
        author,
        "corrective",
        demo.t("nc_form_action"),
        staff.username,
        demo.days(14),
        nonconformity=nc.number,
        description=demo.t("nc_form_action_description"),
        effectiveness_criteria=demo.t("nc_form_criteria"),
    )
    improvement.transition(mrep, nc, "implementation")
    improvement.action_transition(staff, action, "in_progress")
    improvement.action_transition(staff, action, "done", note=demo.t("nc_form_done"))
    improvement.action_transition(
        demo.people["auditor"], action, "verified_effective", result=demo.t("nc_form_checked")
    )
    improvement.transition(author, nc, "effectiveness_check")
    improvement.transition(mrep, nc, "closed", result=demo.t("nc_form_closed"))


def _work_audit_nc(demo: Demo, number: str) -> None:
    """The audit's NC: contained, analysed, corrected, its corrective action under way."""
    staff, author, mrep = (demo.people[u] for u in ("staff", "author", "mrep"))
    nc = improvement.get_nc(number)
    improvement.transition(staff, nc, "containment")
    improvement.transition(staff, nc, "analysis", containment=demo.t("nc_audit_containment"))
    improvement.record_analysis(
        staff, nc, demo.lines("nc_audit_whys"), "method", demo.t("nc_audit_root_cause")
    )
    correction = improvement.create_action(
        staff,
        "correction",
        demo.t("nc_audit_correction"),
        staff.username,
        demo.today,
        nonconformity=nc.number,
    )
    improvement.action_transition(
        staff, correction, "done", note=demo.t("nc_audit_correction_done")
    )
    improvement.transition(mrep, nc, "action_plan")
    action = improvement.create_action(
        staff,
        "corrective",
        demo.t("nc_audit_action"),
        author.username,
        demo.days(5),
        nonconformity=nc.number,
        description=demo.t("nc_audit_action_description"),
        effectiveness_criteria=demo.t("nc_audit_criteria"),
        check_date=demo.days(95),
    )
    improvement.transition(mrep, nc, "implementation")
    improvement.action_transition(author, action, "in_progress")


# -- audits ------------------------------------------------------------------------------


def _demo_audits(demo: Demo, numbers: dict[str, str]) -> None:
    """This year's programme, one audit done (with an NC and an observation), one planned."""
    _programme(demo)
    audit, nc_number = _audit_done(demo, numbers["slip"])
    _work_audit_nc(demo, nc_number)
    # Its NC's action plan is accepted, so the lead auditor may close the audit.
    audits.transition(demo.people["auditor"], audit, "closed")
    planned = demo.this_year(demo.days(28))
    audits.create_audit(
        demo.people["auditor"],
        audits.PlanData(
            title=demo.t("audit_planned_title"),
            departments=[demo.dept("Certificate Issuance Department")],
            clauses=["8.6"],
            lead_auditor="auditor",
            planned_start=planned,
            planned_end=planned,
            objectives=demo.t("audit_planned_objectives"),
        ),
    )


def _programme(demo: Demo) -> None:
    mrep = demo.people["mrep"]
    programme = audits.save_programme(
        mrep,
        demo.today.year,
        demo.t("programme_objectives"),
        demo.t("programme_scope"),
        demo.t("programme_criteria"),
    )
    for dept, risk, clauses, notes in (
        ("Service Hall", "high", ["8.2", "8.5"], "unit_hall_notes"),
        ("Certificate Issuance Department", "medium", ["8.5", "8.6"], "unit_certificates_notes"),
        ("Business Approval Department", "medium", ["8.5.1"], "unit_approval_notes"),
    ):
        audits.save_unit(
            mrep,
            programme,
            "department",
            demo.dept(dept),
            risk,
            clauses=clauses,
            notes=demo.t(notes),
        )


def _audit_done(demo: Demo, slip: str):
    """Audit the Service Hall's one-time notification; return the audit and its NC's number."""
    auditor = demo.people["auditor"]
    start = max(demo.days(-21), date(demo.today.year, 1, 1))
    audit = audits.create_audit(
        auditor,
        audits.PlanData(
            title=demo.t("audit_done_title"),
            departments=[demo.dept("Service Hall")],
            clauses=["8.2.1"],
            documents=["WI-07-02"],
            lead_auditor=auditor.username,
            auditees=["staff"],
            planned_start=start,
            planned_end=min(start + timedelta(days=1), demo.today),
            objectives=demo.t("audit_done_objectives"),
        ),
    )
    audits.transition(auditor, audit, "in_progress")
    by_step = {q.source_ref: q for q in audit.questions}
    # Were the WI ever renumbered, the findings would go on questions of the auditor's own.
    finding = audits.record_finding(
        auditor,
        audit,
        "minor_nc",
        demo.t("audit_nc", record=slip, applicant=demo.t("firm_hengtai")),
        question=by_step.get(NC_STEP),
        clause=None if NC_STEP in by_step else "8.2.1",
        records=[slip],
        responsible="staff",
        due_date=demo.days(12),
    )
    observation = audits.record_finding(
        auditor,
        audit,
        "observation",
        demo.t("audit_observation"),
        question=by_step.get(OBSERVATION_STEP),
        clause=None if OBSERVATION_STEP in by_step else "8.2.1",
    )
    audits.raise_action(
        auditor, audit, observation, "staff", demo.days(45), demo.t("audit_observation_action")
    )
    for question in list(audit.questions):
        if question.result is None:
            key = "audit_guides" if question.source == "checklist" else "audit_conforming"
            audits.record_finding(auditor, audit, "conforming", demo.t(key), question=question)
    audits.save_report_text(
        auditor,
        audit,
        demo.t("audit_summary"),
        demo.t("audit_strengths"),
        demo.t("audit_distribution"),
    )
    audits.transition(auditor, audit, "reported", demo.passwords["auditor"], demo.lang)
    return audit, finding.nc_number


# -- objectives, feedback and the management review ---------------------------------------


def _demo_reviews(demo: Demo) -> None:
    """Objectives with their measurements, surveys, complaints and a review being prepared."""
    _objectives(demo)
    _complaints(demo)
    mrep = demo.people["mrep"]
    planned = demo.this_year(demo.days(21))
    review = reviews.plan_review(
        mrep,
        demo.t("review_title", year=planned.year),
        planned,
        mrep.username,
        ["mrep", "author", "auditor", "staff", "admin"],
    )
    reviews.save_notes(
        mrep,
        review,
        {"context_changes": demo.t("review_context"), "resources": demo.t("review_resources")},
    )
    reviews.prepare(mrep, review)


def _objectives(demo: Demo) -> None:
    mrep = demo.people["mrep"]
    for name, unit, target, direction, frequency, source, owner, values, miss in OBJECTIVES:
        objective = reviews.create_objective(
            mrep,
            demo.t(name),
            demo.t(unit) if unit in texts(demo.lang) else unit,
            target,
            direction,
            frequency,
            source,
            demo.t(f"{name}_method"),
            owner,
        )
        past = _past_periods(demo.today, frequency, len(values))
        for period, value in zip(past, values, strict=True):
            note = demo.t(miss) if miss and not objective.meets(value) else ""
            reviews.record_measurement(demo.people[owner], objective, period, value, note)
    # Survey results feed the satisfaction objective, which computes itself from them.
    quarters = _past_periods(demo.today, "quarterly", len(SURVEY_RESULTS))
    for period, results in zip(quarters, SURVEY_RESULTS, strict=True):
        for service, responses, score in results:
            reviews.record_survey(mrep, period, demo.t(service), responses, score)


def _complaints(demo: Demo) -> None:
    """One complaint answered to the customer's satisfaction, one just raised as an NC."""
    staff = demo.people["staff"]
    waited = reviews.register_complaint(
        staff,
        "hotline",
        demo.days(-12),
        demo.t("complaint_wait"),
        demo.dept("Service Hall"),
        person=demo.t("complaint_wait_person"),
    )
    reviews.respond(staff, waited, demo.t("complaint_wait_response"), satisfied=True)
    misprinted = reviews.register_complaint(
        staff,
        "online",
        demo.days(-1),
        demo.t("complaint_address"),
        demo.dept("Certificate Issuance Department"),
        person=demo.t("complaint_address_person"),
    )
    reviews.raise_nc(demo.people["mrep"], misprinted)


def _past_periods(today: date, frequency: str, count: int) -> list[str]:
    """Return the ``count`` periods before the one containing ``today``, oldest first."""
    found, day = [], today
    while len(found) < count:
        day = periods.bounds(periods.period_of(day, frequency))[0] - timedelta(days=1)
        found.append(periods.period_of(day, frequency))
    return found[::-1]
