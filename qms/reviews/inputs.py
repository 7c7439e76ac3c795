"""Compile the inputs of a management review (ISO 9001:2015 §9.3.2).

Figures come from the system, through each domain's public services; what the system
cannot know is entered as text. The result is plain JSON, stored on the review and
frozen when the meeting is held, so the review reads the same a year later.
"""

from datetime import UTC, date, datetime, time, timedelta

from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select

from qms import clock
from qms.audits import services as audits_services
from qms.context import services as context
from qms.equipment import review as equipment_review
from qms.extensions import db
from qms.improvement import services as improvement
from qms.models import utcnow
from qms.ratings import review as ratings_review
from qms.reviews import feedback, figures, objectives
from qms.reviews.labels import section_title
from qms.reviews.models import Review
from qms.risks import figures as risk_figures

# (key, clause) in the order §9.3.2 lists them.
SECTIONS = (
    ("previous_actions", "9.3.2 a)"),
    ("context_changes", "9.3.2 b)"),
    ("customer", "9.3.2 c) 1)"),
    ("objectives", "9.3.2 c) 2)"),
    ("process_performance", "9.3.2 c) 3)"),
    ("nonconformities", "9.3.2 c) 4)"),
    ("monitoring", "9.3.2 c) 5)"),
    ("audits", "9.3.2 c) 6)"),
    ("external_providers", "9.3.2 c) 7)"),
    ("resources", "9.3.2 d)"),
    ("risks", "9.3.2 e)"),
    ("improvement", "9.3.2 f)"),
)
SECTION_KEYS = tuple(key for key, _clause in SECTIONS)


def section_hint(key: str) -> str:
    """What to write for a section, shown beside its text box."""
    return {
        "context_changes": _("New laws and policies, reorganisation, workload, technology."),
        "external_providers": _("Outsourced services, suppliers, IT providers."),
        "resources": _("People, competence, premises, equipment, IT systems."),
        "risks": _("Risks and opportunities addressed since the last review, and how it went."),
        "improvement": _("Suggestions from staff, customers and audits."),
    }.get(key, _("Comments on the figures, trends, causes."))


def _fig(key: str, label: str, value, unit: str = "", detail: str = "", data=None) -> dict:
    return {
        "key": key,
        "label": label,
        "value": value,
        "unit": unit,
        "detail": detail,
        "data": data or {},
    }


def _day(value) -> date | None:
    if value is None:
        return None
    return value.date() if isinstance(value, datetime) else value


def _within(value, start: date, end: date) -> bool:
    day = _day(value)
    return day is not None and start <= day <= end


# -- a) actions from earlier reviews ---------------------------------------------------


def previous_actions(review: Review) -> dict:
    earlier = db.session.scalars(
        select(Review).where(Review.planned_on < review.planned_on, Review.id != review.id)
    ).all()
    numbers = [n for r in earlier for d in r.decisions for n in d.actions]
    items = []
    states: dict[str, int] = {}
    overdue = 0
    for number in numbers:
        action = improvement.get_action(number)
        states[action.state] = states.get(action.state, 0) + 1
        late = action.is_open and action.due_date < clock.today()
        overdue += late
        items.append(
            {
                "kind": "action",
                "key": action.number,
                "text": action.title,
                "status": action.state,
                "due": action.due_date.isoformat(),
                "late": late,
            }
        )
    closed = states.get("done", 0) + states.get("verified_effective", 0)
    figs = [
        _fig("previous_actions.total", _("Actions decided by earlier reviews"), len(numbers)),
        _fig("previous_actions.completed", _("completed (done or verified)"), closed),
        _fig(
            "previous_actions.verified",
            _("verified effective"),
            states.get("verified_effective", 0),
        ),
        _fig("previous_actions.open", _("still open"), len(numbers) - closed),
        _fig("previous_actions.overdue", _("overdue"), overdue),
    ]
    return {"figures": figs, "items": items}


# -- b) changes in the context, d) resources ----------------------------------------------


def _moment(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=clock.zone())


def context_changes(start: date, end: date) -> dict:
    """Issues and parties added, legal requirements added or changed in the period."""
    found = context.changes_since(_moment(start), _moment(end + timedelta(days=1)))
    items = [{"kind": "context_issue", "key": i.number, "text": i.title} for i in found["issues"]]
    items += [{"kind": "party", "key": p.number, "text": p.name} for p in found["parties"]]
    items += [
        {"kind": "legal", "key": r.number, "text": f"{r.law} {r.article}".strip()}
        for r in {*found["legal_added"], *found["legal_changed"]}
    ]
    figs = [
        _fig(
            "context_changes.issues", _("Internal and external issues added"), len(found["issues"])
        ),
        _fig("context_changes.parties", _("Interested parties added"), len(found["parties"])),
        _fig(
            "context_changes.legal_added",
            _("Legal requirements added"),
            len(found["legal_added"]),
        ),
        _fig(
            "context_changes.legal_changed",
            _("Legal requirements that changed"),
            len(found["legal_changed"]),
        ),
    ]
    return {"figures": figs, "items": sorted(items, key=lambda i: (i["kind"], i["key"]))}


def resources(end: date) -> dict:
    """Training coverage as the period ends (§7.2), overall and per department."""
    coverage = figures.training_coverage(min(end, clock.today())).as_dict()
    if coverage["value"] is None and not coverage["detail"]:
        coverage["detail"] = _("not available")
    data = coverage["data"]
    figs = [
        coverage | {"key": "resources.training_coverage"},
        _fig("resources.training_overdue", _("trainings overdue"), data["overdue"]),
    ]
    items = [
        {
            "kind": "department",
            "key": name,
            "text": _("training coverage"),
            "value": value,
            "unit": "%",
        }
        for name, value in data["by_department"].items()
        if value is not None
    ]
    return {"figures": figs, "items": items}


# -- c) 1) customers ---------------------------------------------------------------------


def customer(start: date, end: date) -> dict:
    f = feedback.complaint_figures(start, end)
    # A survey or measurement period that overlaps the period reviewed counts.
    score = feedback.satisfaction(start, end, overlap=True)
    surveys = feedback.surveys_within(start, end, overlap=True)
    figs = [
        _fig("customer.complaints", _("Complaints received"), f.received),
        _fig("customer.answered_on_time", _("answered by the due date"), f.answered_on_time),
        _fig("customer.open", _("not answered yet"), f.open),
        _fig("customer.overdue", _("answer overdue"), f.overdue),
        _fig("customer.satisfied", _("customers satisfied with the answer"), f.satisfied),
        _fig("customer.dissatisfied", _("customers not satisfied with the answer"), f.dissatisfied),
        _fig(
            "customer.satisfaction",
            _("Survey satisfaction (weighted by responses)"),
            score,
            "%",
            _("%(n)d survey results", n=len(surveys)) if surveys else _("no survey in the period"),
        ),
    ]
    items = [
        {
            "kind": "survey",
            "key": f"{s.period} {s.service}",
            "text": _("%(responses)d responses", responses=s.responses),
            "value": s.score,
            "unit": "%",
        }
        for s in surveys
    ]
    items += [
        {"kind": "nc", "key": number, "text": _("raised from a complaint")} for number in f.ncs
    ]
    return {"figures": figs, "items": items, "data": {"by_channel": f.by_channel}}


# -- c) 2) objectives and c) 5) monitoring ---------------------------------------------


def objectives_met(start: date, end: date) -> tuple[dict, dict]:
    """Return the objectives section and the monitoring section."""
    met = missed = unmeasured = 0
    obj_items, monitoring_items = [], []
    for objective in objectives.list_objectives():
        measured = objectives.in_period(objective, start, end)
        for m in measured:
            monitoring_items.append(
                {
                    "kind": "measurement",
                    "key": objective.name,
                    "objective": objective.id,
                    "period": m.period,
                    "value": m.value,
                    "unit": objective.unit,
                    "met": m.meets_target,
                }
            )
        latest = measured[-1] if measured else None
        if latest is None:
            unmeasured += 1
        elif latest.meets_target:
            met += 1
        else:
            missed += 1
        obj_items.append(
            {
                "kind": "objective",
                "key": objective.name,
                "objective": objective.id,
                "target": objective.target,
                "direction": objective.direction,
                "unit": objective.unit,
                "period": latest.period if latest else None,
                "value": latest.value if latest else None,
                "met": latest.meets_target if latest else None,
            }
        )
    measured_count = met + missed
    obj = {
        "figures": [
            _fig("objectives.total", _("Quality objectives"), met + missed + unmeasured),
            _fig("objectives.met", _("met (latest value in the period)"), met),
            _fig("objectives.missed", _("not met"), missed),
            _fig("objectives.unmeasured", _("not measured in the period"), unmeasured),
            _fig(
                "objectives.rate",
                _("Share of measured objectives met"),
                round(100.0 * met / measured_count, 1) if measured_count else None,
                "%",
            ),
        ],
        "items": obj_items,
    }
    below = sum(1 for i in monitoring_items if i["met"] is False)
    monitoring = {
        "figures": [
            _fig("monitoring.measurements", _("Measurements in the period"), len(monitoring_items)),
            _fig("monitoring.off_target", _("on the wrong side of the target"), below),
        ],
        "items": monitoring_items,
    }
    return obj, monitoring


# -- c) 3) process performance -----------------------------------------------------------


def process_performance(start: date, end: date) -> dict:
    figs = [figures.ack_coverage().as_dict(), figures.forms_used(start, end).as_dict()]
    for fig in figs:
        if fig["value"] is None and not fig["detail"]:
            fig["detail"] = _("not available")
    return {"figures": figs, "items": []}


# -- c) 4) nonconformities, c) 7) providers, e) risks, f) improvement --------------------


def _ncs_and_actions(start: date, end: date):
    # A day either side: the sections compare days (UTC or local) and filter exactly.
    since = datetime.combine(start - timedelta(days=1), time.min, tzinfo=UTC)
    until = datetime.combine(end + timedelta(days=2), time.min, tzinfo=UTC)
    return improvement.touching(since, until)


def nonconformities(start: date, end: date, ncs, actions) -> dict:
    raised = [nc for nc in ncs if _within(nc.raised_at, start, end)]
    closed = [nc for nc in ncs if nc.state == "closed" and _within(nc.closed_at, start, end)]
    open_now = [nc for nc in ncs if nc.is_open]
    closure = figures.nc_closure_days(start, end)
    overdue = figures.overdue_actions()
    corrective = [
        a for a in actions if a.action_type == "corrective" and _within(a.created_at, start, end)
    ]
    by_source: dict[str, int] = {}
    for nc in raised:
        by_source[nc.source] = by_source.get(nc.source, 0) + 1
    figs = [
        _fig("nonconformities.raised", _("Nonconformities raised"), len(raised)),
        _fig(
            "nonconformities.major",
            _("of which major"),
            sum(1 for nc in raised if nc.severity == "major"),
        ),
        _fig("nonconformities.closed", _("Nonconformities closed"), len(closed)),
        _fig("nonconformities.open", _("open now"), len(open_now)),
        closure.as_dict() | {"key": "nonconformities.closure_days"},
        figures.output_ncs(start, end).as_dict() | {"key": "nonconformities.outputs"},
        _fig("nonconformities.corrective", _("Corrective actions planned"), len(corrective)),
        overdue.as_dict() | {"key": "nonconformities.overdue_actions"},
    ]
    items = [
        {
            "kind": "nc",
            "key": nc.number,
            "text": nc.title,
            "status": nc.state,
            "source": nc.source,
        }
        for nc in sorted({*raised, *closed, *open_now}, key=lambda n: n.number)
    ]
    return {"figures": figs, "items": items, "data": {"by_source": by_source}}


def external_providers(start: date, end: date, ncs) -> dict:
    """Provider performance: evaluations, NCs naming providers, suspensions (§9.3.2 c) 7))."""
    from qms.suppliers import review

    return review.review_input(start, end, ncs)


def _actions_of(actions, start, end, action_type: str) -> dict:
    prefix = "risks" if action_type == "preventive" else "improvement"
    chosen = [
        a
        for a in actions
        if a.action_type == action_type
        and (_within(a.created_at, start, end) or _within(a.checked_at, start, end))
    ]
    label = _("Preventive actions") if action_type == "preventive" else _("Improvement actions")
    return {
        "figures": [
            _fig(f"{prefix}.actions", label, len(chosen)),
            _fig(
                f"{prefix}.effective",
                _("verified effective"),
                sum(1 for a in chosen if a.state == "verified_effective"),
            ),
            _fig(
                f"{prefix}.not_effective",
                _("found not effective"),
                sum(1 for a in chosen if a.state == "not_effective"),
            ),
        ],
        "items": [
            {"kind": "action", "key": a.number, "text": a.title, "status": a.state} for a in chosen
        ],
    }


def risks(start: date, end: date, actions) -> dict:
    """e) Preventive actions, and how the actions on the risk register worked."""
    part = _actions_of(actions, start, end, "preventive")
    register = risk_figures.review_input(start, end)
    seen = {(i["kind"], i["key"]) for i in part["items"]}
    extra = [i for i in register["items"] if (i["kind"], i["key"]) not in seen]
    return {"figures": part["figures"] + register["figures"], "items": part["items"] + extra}


# -- c) 6) audits ------------------------------------------------------------------------


NC_RESULTS = ("major_nc", "minor_nc")
OBSERVATION_RESULTS = ("observation", "ofi")


def audit_results(start: date, end: date) -> list:
    """Return the audits carried out in [start, end]."""
    return [
        a
        for a in db.session.scalars(audits_services.list_audits())
        if a.state in ("in_progress", "reported", "closed") and start <= a.planned_start <= end
    ]


def audits(start: date, end: date) -> dict:
    """Audits carried out in the period, their findings, and the programme's completion."""
    completion = figures.audit_completion(end.year).as_dict()
    held = audit_results(start, end)
    findings = [q for a in held for q in a.questions if q.result in NC_RESULTS]
    observations = [q for a in held for q in a.questions if q.result in OBSERVATION_RESULTS]
    items = []
    for a in held:
        items.append({"kind": "audit", "key": a.ref, "text": a.title, "status": a.state})
        items += [
            {
                "kind": "nc",
                "key": q.nc_number,
                "text": _("finding %(ref)s #%(seq)d", ref=a.ref, seq=q.seq),
                "status": q.result,
            }
            for q in a.questions
            if q.result in NC_RESULTS and q.nc_number
        ]
    if completion["value"] is None and not completion["detail"]:
        completion["detail"] = _("not available")
    return {
        "figures": [
            completion,
            _fig("audits.held", _("Audits carried out"), len(held)),
            _fig("audits.findings", _("Findings graded as nonconformity"), len(findings)),
            _fig(
                "audits.observations",
                _("Observations and opportunities for improvement"),
                len(observations),
            ),
        ],
        "items": items,
    }


def compile_inputs(review: Review) -> dict:
    """Return the review's §9.3.2 inputs: every figure from the system, and the texts."""
    start, end = review.period_start, review.period_end
    ncs, actions = _ncs_and_actions(start, end)
    obj, monitoring = objectives_met(start, end)
    parts = {
        "previous_actions": previous_actions(review),
        "context_changes": context_changes(start, end),
        "customer": ratings_review.add_to(customer(start, end), start, end),
        "objectives": obj,
        "process_performance": process_performance(start, end),
        "nonconformities": nonconformities(start, end, ncs, actions),
        "monitoring": monitoring,
        "audits": audits(start, end),
        "external_providers": external_providers(start, end, ncs),
        "resources": equipment_review.add_to(resources(end), start, end),
        "risks": risks(start, end, actions),
        "improvement": _actions_of(actions, start, end, "improvement"),
    }
    sections = []
    for key, clause in SECTIONS:
        part = parts[key]
        sections.append(
            {
                "key": key,
                "clause": clause,
                "title": section_title(key),
                "figures": part["figures"],
                "items": part["items"],
                "data": part.get("data", {}),
                "text": (review.notes or {}).get(key, ""),
            }
        )
    return {
        "compiled_at": utcnow().isoformat(timespec="seconds"),
        "lang": str(get_locale() or "en"),
        "period": {"start": start.isoformat(), "end": end.isoformat()},
        "sections": sections,
    }


def figure(inputs: dict, key: str):
    """Return the value of the figure ``key`` in compiled inputs (KeyError if absent)."""
    for section in inputs["sections"]:
        for fig in section["figures"]:
            if fig["key"] == key:
                return fig["value"]
    raise KeyError(key)


def topics(inputs: dict) -> set[tuple[str, str]]:
    """Return the (kind, key) of every NC, action and audit the inputs mention."""
    return {
        (item["kind"], item["key"])
        for section in inputs["sections"]
        for item in section["items"]
        if item["kind"] in ("nc", "action", "audit")
    }
