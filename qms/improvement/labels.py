"""The localised names of the improvement domain's sources, states, types and categories."""

from flask_babel import gettext as _


def source_label(source: str) -> str:
    return {
        "internal_audit": _("internal audit"),
        "external_audit": _("external audit"),
        "customer_complaint": _("customer complaint"),
        "process_monitoring": _("process monitoring"),
        "staff_report": _("staff report"),
        "management_review": _("management review"),
        "supplier": _("supplier"),
    }.get(source, source)


def severity_label(severity: str) -> str:
    return {"major": _("major"), "minor": _("minor")}.get(severity, severity)


def nc_state_label(state: str) -> str:
    return {
        "reported": _("reported"),
        "containment": _("containment"),
        "analysis": _("root-cause analysis"),
        "action_plan": _("action plan"),
        "implementation": _("implementation"),
        "effectiveness_check": _("effectiveness check"),
        "closed": _("closed"),
        "rejected": _("rejected"),
    }.get(state, state)


def category_label(category: str) -> str:
    return {
        "people": _("people"),
        "method": _("method"),
        "equipment": _("equipment"),
        "material": _("material"),
        "environment": _("environment"),
        "measurement": _("measurement"),
    }.get(category, category)


def action_type_label(action_type: str) -> str:
    return {
        "correction": _("correction"),
        "corrective": _("corrective action"),
        "preventive": _("preventive action"),
        "improvement": _("improvement"),
    }.get(action_type, action_type)


def action_state_label(state: str) -> str:
    return {
        "planned": _("planned"),
        "in_progress": _("in progress"),
        "done": _("done"),
        "verified_effective": _("verified effective"),
        "not_effective": _("not effective"),
    }.get(state, state)


def origin_label(origin: str) -> str:
    return {
        "nonconformity": _("nonconformity"),
        "risk": _("risk"),
        "trend": _("worrying trend"),
        "management_review": _("management review"),
        "suggestion": _("suggestion"),
        "audit": _("audit"),
    }.get(origin, origin)


def kind_label(kind: str) -> str:
    return {"nonconformity": _("Nonconformity"), "action": _("Action")}.get(kind, kind)


def disposition_label(disposition: str) -> str:
    return {
        "corrected_reissued": _("corrected and reissued"),
        "replaced": _("replaced"),
        "recalled": _("recalled"),
        "concession": _("accepted under concession"),
    }.get(disposition, disposition)
