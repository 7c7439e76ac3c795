"""The demo's quality system at work: records, nonconformities, audits, objectives, reviews.

Everything is made through each domain's public services, as the demo's people would make
it in the browser, so numbering, the trail and every workflow rule apply exactly as in
real use. Dates are relative to today so the demo always looks current.

The year is told as it happened: each part is a story, a generator that yields the
moment of its next step, and :func:`_tell` runs the steps of all stories in time order
on a travelling clock (:func:`qms.clock.travel`), so records are filled over the months,
an NC takes weeks from report to closure and the trail's chain runs forward. The
registers that describe the present (competence, risks, providers, equipment) and the
review's inputs are loaded afterwards, at the present time.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask_babel import force_locale
from sqlalchemy import select

from qms import clock
from qms.audits import services as audits
from qms.auth.models import User
from qms.demo import department_name, office_moment
from qms.demo.texts import texts
from qms.extensions import db
from qms.improvement import services as improvement
from qms.records import services as records
from qms.reviews import objectives, periods
from qms.reviews import services as reviews

ACCEPTANCE_FORM = "RF-07-01-01"
NOTIFICATION_FORM = "RF-07-02-01"
SURVEY_FORM = "RF-06-00-01"
CHECKING_FORM = "RF-07-03-01"
# Certificate checking: one record every CHECK_EVERY days; the n-th check found an error
# when n % 10 == 3 (corrected before issue) or n % 25 == 12 (a new blank was used).
CHECK_EVERY = 7
# Certificate errors (‰): checking records whose result is not "pass", per thousand checked.
CERTIFICATE_ERRORS = {
    "form": CHECKING_FORM,
    "measure": "ratio",
    "factor": 1000,
    "date": "checked_at",
    "conditions": [{"field": "result", "op": "ne", "value": "pass"}],
}
# Objectives computed by a query over records: (name key) -> the query.
RECORD_QUERIES = {"objective_errors": CERTIFICATE_ERRORS}
# (days ago, case sequence, applicant, applicant type, phone, matter, window)
ACCEPTANCES = {
    "individual": (80, 17, "person_li", "individual", "138-0013-8000", "matter_individual", "3"),
    "food": (40, 21, "firm_hengtai", "business", "0571-8765-4321", "matter_food", "5"),
    "address": (12, 8, "person_zhang", "individual", "139-0571-2828", "matter_address", "2"),
}
# The register's entries of the months before, one every four weeks: (days ago, ACCEPTANCES key).
EARLIER_ACCEPTANCES = tuple(
    (days, ("individual", "address", "food")[n % 3]) for n, days in enumerate(range(300, 80, -28))
)
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
     (97.9, 98.4, 98.8, 96.9, 98.1, 98.6, 99.1, 97.4, 98.2, 98.9, 99.3), "objective_on_time_low"),
    ("objective_one_visit", "%", 90, "higher", "monthly", "manual", "staff",
     (84.0, 85.2, 85.9, 86.1, 87.3, 86.5, 88.0, 89.2, 91.0, 90.4, 92.1), None),
    ("objective_satisfaction", "%", 95, "higher", "quarterly", "surveys", "mrep", (), None),
    ("objective_errors", "‰", 100, "lower", "quarterly", "record_query", "mrep", (), None),
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
    #: The management review being prepared, once planned.
    review: object = None

    def t(self, key: str, **values) -> str:
        text = texts(self.lang)[key]
        return text.format(**values) if values else text

    def lines(self, key: str) -> list[str]:
        return list(texts(self.lang)[key])

    def dept(self, name: str) -> str:
        return department_name(name, self.lang)

    def days(self, n: int) -> date:
        return self.today + timedelta(days=n)

    def at(self, days: int, hour: int, minute: int = 0) -> datetime:
        """Return the moment ``days`` from today at ``hour``:``minute`` office time."""
        return office_moment(self.days(days), hour, minute)

    def this_year(self, day: date) -> date:
        """Keep a date near today within this year, so it falls in this year's plans."""
        return min(max(day, date(self.today.year, 1, 1)), date(self.today.year, 12, 31))


Story = Iterator[datetime]


def load_activity(lang: str, passwords: dict[str, str], today: date | None = None) -> None:
    """Fill records, work nonconformities, audit, measure objectives and plan a review."""
    people = {u.username: u for u in db.session.scalars(select(User))}
    demo = Demo(lang, today or clock.today(), people, passwords)
    # Services word what they generate (an audit NC's title, the audit report, the review
    # inputs) in the current locale; outside a request, make that the demo's language.
    from qms.demo import ratings as demo_ratings  # citizens' ratings on the catalogue

    with force_locale(lang):
        numbers: dict[str, str] = {}
        _tell(
            _demo_records(demo, numbers),
            _certificate_checks(demo),
            _demo_improvement(demo, numbers),
            _demo_audits(demo, numbers),
            _objectives(demo),
            _complaints(demo),
            _work_in_progress(demo),
            _review_planned(demo),
            demo_ratings.story(demo),
        )
        from qms.demo import competence, equipment, suppliers

        competence.load(demo, numbers)
        from qms.demo import risks as demo_risks  # the risk register (§6.1)

        demo_risks.load(demo)
        suppliers.load(demo)
        equipment.load(demo)
        from qms.demo import evaluation  # supervision and evaluation (监督评价)

        evaluation.load(demo)
        evaluation.load_windows(demo)
        _prepare_review(demo)


def _tell(*stories: Story) -> None:
    """Run the steps of ``stories`` in the order of the moments they yield.

    A story yields the moment of its next step, then takes it when its turn comes; its
    moments must not go back (the clock refuses). Ties keep the order of the stories.
    """
    waiting: list[tuple[datetime, int, Story]] = []
    for index, story in enumerate(stories):
        moment = next(story, None)
        if moment is not None:
            waiting.append((moment, index, story))
    heapq.heapify(waiting)
    if not waiting:
        return
    with clock.travel(waiting[0][0]):
        while waiting:
            moment, index, story = heapq.heappop(waiting)
            clock.move_to(moment)
            following = next(story, None)
            if following is not None:
                heapq.heappush(waiting, (following, index, story))


# -- records ---------------------------------------------------------------------------


def _demo_records(demo: Demo, numbers: dict[str, str]) -> Story:
    """Staff fill the acceptance register over the year (amending one entry), a slip and
    two surveys; ``numbers`` gets the record numbers later stories cite."""
    staff = demo.people["staff"]
    for n, (days_ago, key) in enumerate(EARLIER_ACCEPTANCES):
        yield demo.at(-days_ago, 9, 30)
        records.submit_record(staff, ACCEPTANCE_FORM, _acceptance(demo, key, days_ago, 30 + n))
    filled = {}
    for key in ("individual", "food", "address"):
        days_ago = ACCEPTANCES[key][0]
        yield demo.at(-days_ago, 9, 40)
        values = _acceptance(demo, key)
        filled[key] = records.submit_record(staff, ACCEPTANCE_FORM, values)
        numbers[key] = filled[key].number
        if key == "food":
            yield demo.at(-days_ago, 10, 5)
            numbers["slip"] = records.submit_record(staff, NOTIFICATION_FORM, _slip(demo)).number
        if key == "address":
            yield demo.at(-days_ago + 1, 15, 20)
            corrected = values | {"contact_phone": "139-0571-2882"}
            records.amend_record(staff, filled[key].number, corrected, demo.t("amend_reason"))
    yield demo.at(-2, 16, 30)
    for row in SURVEYS:
        records.submit_record(staff, SURVEY_FORM, _survey(demo, row))


def _certificate_checks(demo: Demo) -> Story:
    """The checker records every certificate checked, over the year; a few had an error."""
    first = periods.bounds(_past_periods(demo.today, "quarterly", 3)[0])[0]
    day = max(first, demo.days(-330))
    n = 0
    while day < demo.today:
        yield office_moment(day, 14, 20)
        if n % 25 == 12:
            result = "reprinted"
        elif n % 10 == 3:
            result = "corrected"
        else:
            result = "pass"
        values = {
            "certificate_no": f"{day:%Y%m%d}{n:04d}",
            "case_no": f"{day:%Y%m%d}{n % 40 + 1:03d}",
            "certificate_type": ("licence", "certificate", "permit")[n % 3],
            "checked_items": ["holder", "identity_code", "address", "validity", "seal"],
            "result": result,
            "error_description": demo.t("check_error") if result != "pass" else "",
            "producer": demo.people["author"].username,
            "checker": demo.people["staff"].username,
            "checked_at": datetime.combine(day, time(14, 15)).isoformat("T", "minutes"),
        }
        records.submit_record(demo.people["staff"], CHECKING_FORM, values)
        n += 1
        day += timedelta(days=CHECK_EVERY)


def _acceptance(demo: Demo, key: str, days_ago: int | None = None, seq: int | None = None) -> dict:
    """The register entry of ``key``'s case, or of a case like it ``days_ago``."""
    default_days, default_seq, applicant, kind, phone, matter, window = ACCEPTANCES[key]
    days_ago = default_days if days_ago is None else days_ago
    seq = default_seq if seq is None else seq
    day = demo.days(-days_ago)
    accepted = key != "food"
    return {
        "case_no": f"{day:%Y%m%d}{seq:03d}",
        "received_at": datetime.combine(day, time(9, 10 + seq % 20)).isoformat("T", "minutes"),
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


def _demo_improvement(demo: Demo, numbers: dict[str, str]) -> Story:
    """A staff report worked through to closure, over seven weeks, after an effectiveness
    check a month after the corrective action was done."""
    staff, author, mrep = (demo.people[u] for u in ("staff", "author", "mrep"))
    yield demo.at(-75, 10)
    nc = improvement.raise_nc(
        staff,
        demo.t("nc_form_title"),
        demo.t("nc_form_description", record=numbers["individual"]),
        "staff_report",
        department=demo.dept("Service Hall"),
        clause="7.5.3",
        responsible=author.username,
        due_date=demo.days(-15),
        documents=["WI-07-01"],
        records=[numbers["individual"]],
    )
    yield demo.at(-75, 11, 30)
    improvement.transition(author, nc, "containment")
    improvement.transition(author, nc, "analysis", containment=demo.t("nc_form_containment"))
    yield demo.at(-72, 15)
    improvement.record_analysis(
        author, nc, demo.lines("nc_form_whys"), "method", demo.t("nc_form_root_cause")
    )
    yield demo.at(-70, 10)
    improvement.transition(mrep, nc, "action_plan")
    action = improvement.create_action(
        author,
        "corrective",
        demo.t("nc_form_action"),
        staff.username,
        demo.days(-56),
        nonconformity=nc.number,
        description=demo.t("nc_form_action_description"),
        effectiveness_criteria=demo.t("nc_form_criteria"),
    )
    improvement.transition(mrep, nc, "implementation")
    yield demo.at(-69, 9)
    improvement.action_transition(staff, action, "in_progress")
    yield demo.at(-59, 17)
    improvement.action_transition(staff, action, "done", note=demo.t("nc_form_done"))
    yield demo.at(-30, 10)
    improvement.action_transition(
        demo.people["auditor"], action, "verified_effective", result=demo.t("nc_form_checked")
    )
    improvement.transition(author, nc, "effectiveness_check")
    yield demo.at(-29, 11)
    improvement.transition(mrep, nc, "closed", result=demo.t("nc_form_closed"))


def _work_audit_nc(demo: Demo, number: str, day: int) -> Story:
    """The audit's NC from ``day``: contained, analysed, corrected, its corrective action
    under way."""
    staff, author, mrep = (demo.people[u] for u in ("staff", "author", "mrep"))
    nc = improvement.get_nc(number)
    yield demo.at(day, 9, 30)
    improvement.transition(staff, nc, "containment")
    improvement.transition(staff, nc, "analysis", containment=demo.t("nc_audit_containment"))
    yield demo.at(day + 2, 15)
    improvement.record_analysis(
        staff, nc, demo.lines("nc_audit_whys"), "method", demo.t("nc_audit_root_cause")
    )
    correction = improvement.create_action(
        staff,
        "correction",
        demo.t("nc_audit_correction"),
        staff.username,
        demo.days(day + 3),
        nonconformity=nc.number,
    )
    yield demo.at(day + 3, 11)
    improvement.action_transition(
        staff, correction, "done", note=demo.t("nc_audit_correction_done")
    )
    yield demo.at(day + 4, 10)
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
    yield demo.at(day + 5, 9)
    improvement.action_transition(author, action, "in_progress")


# -- audits ------------------------------------------------------------------------------


def _demo_audits(demo: Demo, numbers: dict[str, str]) -> Story:
    """This year's programme, one audit done (with an NC and an observation), one planned."""
    # The programme is set in the first days of the year (or of the demo's history).
    set_on = max(demo.days(-334), date(demo.today.year, 1, 1))
    yield demo.at((set_on - demo.today).days, 10)
    _programme(demo)
    # Earlier in the year: two audits that found everything in order.
    for days_ago, title, dept, clauses in (
        (190, "audit_hall_spring_title", "Service Hall", ["8.2", "8.5.1"]),
        (120, "audit_certificates_title", "Certificate Issuance Department", ["8.5.1", "8.6"]),
    ):
        held = demo.days(-days_ago)
        if held.year != demo.today.year or held < set_on:
            continue  # not this year's programme, or before the demo's history
        yield from _audit_conforming(demo, -days_ago, title, dept, clauses)
    # The audit is held three and a half weeks ago, within this year where the year
    # has run long enough for its NC to be worked before today.
    start = max(demo.days(-25), date(demo.today.year, 1, 1))
    if (demo.today - start).days < 10:
        start = demo.days(-25)
    day = (start - demo.today).days
    yield demo.at(day - 20, 10)
    audit = _audit_planned(demo, start)
    yield demo.at(day, 9)
    audits.transition(demo.people["auditor"], audit, "in_progress")
    yield demo.at(day, 10, 30)
    finding = _findings(demo, audit, numbers["slip"])
    yield demo.at(day + 1, 16)
    _report(demo, audit)
    yield from _work_audit_nc(demo, finding.nc_number, day + 2)  # to day + 7
    # Its NC's action plan is accepted, so the lead auditor may close the audit.
    yield demo.at(day + 8, 10)
    audits.transition(demo.people["auditor"], audit, "closed")
    yield demo.at(-10, 11)
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


def _audit_conforming(demo: Demo, day: int, title: str, dept: str, clauses: list[str]) -> Story:
    """An audit planned three weeks ahead, held on ``day``, reported and closed, no NC."""
    auditor = demo.people["auditor"]
    yield demo.at(day - 21, 10)
    audit = audits.create_audit(
        auditor,
        audits.PlanData(
            title=demo.t(title),
            departments=[demo.dept(dept)],
            clauses=clauses,
            lead_auditor=auditor.username,
            planned_start=demo.days(day),
            planned_end=demo.days(day),
            objectives=demo.t("audit_routine_objectives"),
        ),
    )
    yield demo.at(day, 9)
    audits.transition(auditor, audit, "in_progress")
    yield demo.at(day, 11)
    for question in list(audit.questions):
        key = "audit_guides" if question.source == "checklist" else "audit_routine_evidence"
        audits.record_finding(auditor, audit, "conforming", demo.t(key), question=question)
    yield demo.at(day + 1, 16)
    audits.save_report_text(
        auditor,
        audit,
        demo.t("audit_routine_summary"),
        demo.t("audit_routine_strengths"),
        demo.t("audit_distribution"),
    )
    audits.transition(auditor, audit, "reported", demo.passwords["auditor"], demo.lang)
    yield demo.at(day + 2, 10)
    audits.transition(auditor, audit, "closed")


def _programme(demo: Demo) -> None:
    mrep = demo.people["mrep"]
    programme = audits.save_programme(
        mrep,
        demo.today.year,
        demo.t("programme_objectives"),
        demo.t("programme_scope"),
        demo.t("programme_criteria"),
    )
    # Audits a year: the office's own choice, below the suggestion, as it may record.
    for dept, risk, frequency, clauses, notes in (
        ("Service Hall", "high", 2, ["8.2", "8.5"], "unit_hall_notes"),
        ("Certificate Issuance Department", "medium", 1, ["8.5", "8.6"], "unit_certificates_notes"),
        ("Business Approval Department", "medium", 1, ["8.5.1"], "unit_approval_notes"),
    ):
        audits.save_unit(
            mrep,
            programme,
            "department",
            demo.dept(dept),
            risk,
            frequency=frequency,
            clauses=clauses,
            notes=demo.t(notes),
        )


def _audit_planned(demo: Demo, start: date):
    """Plan the audit of the Service Hall's one-time notification, starting on ``start``."""
    auditor = demo.people["auditor"]
    return audits.create_audit(
        auditor,
        audits.PlanData(
            title=demo.t("audit_done_title"),
            departments=[demo.dept("Service Hall")],
            clauses=["8.2.1"],
            documents=["WI-07-02"],
            lead_auditor=auditor.username,
            auditees=["staff"],
            planned_start=start,
            planned_end=start + timedelta(days=1),
            objectives=demo.t("audit_done_objectives"),
        ),
    )


def _findings(demo: Demo, audit, slip: str):
    """Work the checklist: an NC on the slip, an observation, the rest conforming."""
    auditor = demo.people["auditor"]
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
    return finding


def _report(demo: Demo, audit) -> None:
    auditor = demo.people["auditor"]
    audits.save_report_text(
        auditor,
        audit,
        demo.t("audit_summary"),
        demo.t("audit_strengths"),
        demo.t("audit_distribution"),
    )
    audits.transition(auditor, audit, "reported", demo.passwords["auditor"], demo.lang)


# -- objectives, feedback and the management review ---------------------------------------


def _objectives(demo: Demo) -> Story:
    """Objectives set at the start of the year, each period measured early the next."""
    mrep = demo.people["mrep"]
    yield demo.at(-334, 11)
    steps = []
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
            query=RECORD_QUERIES.get(name),
        )
        if source == "record_query":
            # Computed from the checking records once each quarter has ended.
            for period in _past_periods(demo.today, frequency, 3):
                steps.append((_measured_on(demo, period), 10, objective, period, None, "", owner))
            continue
        past = _past_periods(demo.today, frequency, len(values))
        for period, value in zip(past, values, strict=True):
            note = demo.t(miss) if miss and not objective.meets(value) else ""
            steps.append((_measured_on(demo, period), 10, objective, period, value, note, owner))
    # Survey results feed the satisfaction objective, which computes itself from them.
    quarters = _past_periods(demo.today, "quarterly", len(SURVEY_RESULTS))
    for period, results in zip(quarters, SURVEY_RESULTS, strict=True):
        for service, responses, score in results:
            steps.append((_measured_on(demo, period), 15, None, period, responses, score, service))
    for day, hour, objective, period, value, note, who in sorted(steps, key=lambda s: s[:2]):
        yield office_moment(day, hour)
        if objective is not None and objective.source == "record_query":
            objectives.refresh(objective, period, demo.people[who])
        elif objective is not None:
            reviews.record_measurement(demo.people[who], objective, period, value, note)
        else:
            reviews.record_survey(mrep, period, demo.t(who), value, note)


def _measured_on(demo: Demo, period: str) -> date:
    """The day a period's figure is recorded: the third day after it ends (before today)."""
    end = periods.bounds(period)[1]
    return min(end + timedelta(days=3), demo.days(-1))


def _complaints(demo: Demo) -> Story:
    """One complaint answered to the customer's satisfaction, one just raised as an NC."""
    staff = demo.people["staff"]
    yield demo.at(-12, 11)
    waited = reviews.register_complaint(
        staff,
        "hotline",
        demo.days(-12),
        demo.t("complaint_wait"),
        demo.dept("Service Hall"),
        person=demo.t("complaint_wait_person"),
    )
    yield demo.at(-10, 15)
    reviews.respond(staff, waited, demo.t("complaint_wait_response"), satisfied=True)
    yield demo.at(-1, 10)
    misprinted = reviews.register_complaint(
        staff,
        "online",
        demo.days(-1),
        demo.t("complaint_address"),
        demo.dept("Certificate Issuance Department"),
        person=demo.t("complaint_address_person"),
    )
    yield demo.at(-1, 11, 30)
    reviews.raise_nc(demo.people["mrep"], misprinted)


def _work_in_progress(demo: Demo) -> Story:
    """A change request after the audit and a revision in review, so the demo has work."""
    from qms.demo import leave_work_in_progress

    yield from leave_work_in_progress(demo)


def _review_planned(demo: Demo) -> Story:
    mrep = demo.people["mrep"]
    yield demo.at(-5, 10)
    planned = demo.this_year(demo.days(21))
    demo.review = reviews.plan_review(
        mrep,
        demo.t("review_title", year=planned.year),
        planned,
        mrep.username,
        ["mrep", "author", "auditor", "staff", "admin"],
    )
    yield demo.at(-5, 11)
    reviews.save_notes(
        mrep,
        demo.review,
        {"context_changes": demo.t("review_context"), "resources": demo.t("review_resources")},
    )


def _prepare_review(demo: Demo) -> None:
    """Freeze the review's inputs now, when the year's figures are all in."""
    reviews.prepare(demo.people["mrep"], demo.review)


def _past_periods(today: date, frequency: str, count: int) -> list[str]:
    """Return the ``count`` periods before the one containing ``today``, oldest first."""
    found, day = [], today
    while len(found) < count:
        day = periods.bounds(periods.period_of(day, frequency))[0] - timedelta(days=1)
        found.append(periods.period_of(day, frequency))
    return found[::-1]
