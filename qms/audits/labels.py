"""The localised names of audit types, states, results and the programme's terms."""

from flask_babel import gettext as _


def type_label(audit_type: str) -> str:
    return {
        "internal": _("internal"),
        "external": _("external"),
        "supplier": _("supplier"),
    }.get(audit_type, audit_type)


def state_label(state: str) -> str:
    return {
        "planned": _("planned"),
        "in_progress": _("in progress"),
        "reported": _("reported"),
        "closed": _("closed"),
    }.get(state, state)


def result_label(result: str | None) -> str:
    return {
        "conforming": _("Conforming"),
        "major_nc": _("Major NC"),
        "minor_nc": _("Minor NC"),
        "observation": _("Observation"),
        "ofi": _("Opportunity for improvement"),
        "not_audited": _("Not audited"),
        None: _("Not answered yet"),
    }.get(result, result or "")


def risk_label(risk: str) -> str:
    return {"low": _("low"), "medium": _("medium"), "high": _("high")}.get(risk, risk)


def kind_label(kind: str) -> str:
    return {"department": _("Department"), "process": _("Process")}.get(kind, kind)


def source_label(source: str) -> str:
    return {
        "checklist": _("ISO 9001 checklist"),
        "procedure": _("Procedure"),
        "auditor": _("Auditor's question"),
    }.get(source, source)
