"""The rules of internal auditing, used by both the pages and the API.

An audit is planned (scope, criteria, team), worked question by question, reported
(the lead auditor signs the report) and closed once its nonconformities are closed or
their action plans accepted. The rules live by sub-domain — :mod:`~qms.audits.planning`,
:mod:`~qms.audits.checklist`, :mod:`~qms.audits.findings`, :mod:`~qms.audits.workflow`,
:mod:`~qms.audits.programme`, with who may do what in :mod:`~qms.audits.permissions` —
and this module is their public face. Nonconformities, actions and records belong to
other domains, reached only through :mod:`qms.audits.links`.

Every function that changes anything is one unit of work (:func:`qms.uow.transactional`);
none commits on its own, so a caller's unit of work takes them in whole.
"""

from qms.audits.checklist import (
    add_question,
    question_hint,
    question_text,
    unanswered,
)
from qms.audits.common import MAX_TEXT, findings_raising, get_audit, get_question, list_audits
from qms.audits.findings import (
    INLINE_TYPES,
    Upload,
    add_attachment,
    get_attachment,
    raise_action,
    record_finding,
)
from qms.audits.labels import (
    kind_label,
    result_label,
    risk_label,
    source_label,
    state_label,
    type_label,
)
from qms.audits.permissions import (
    CLOSER_ROLES,
    PLANNER_ROLES,
    can_add_question,
    can_audit,
    can_close,
    can_conduct,
    can_keep_programme,
    can_plan,
    can_raise_action,
    can_sign_report,
    can_start,
    can_write_report,
)
from qms.audits.planning import (
    PlanData,
    check_independence,
    create_audit,
    default_documents,
    independence_problems,
    meeting_time,
    update_plan,
    work_for,
)
from qms.audits.programme import (
    Coverage,
    CoverageRow,
    coverage,
    get_programme,
    past_ncs,
    remove_unit,
    save_programme,
    save_unit,
    suggested_frequency,
    weighed_risk,
)
from qms.audits.workflow import (
    PLAN_ACCEPTED_STATES,
    open_ncs,
    save_report_text,
    transition,
    transitions_for,
)

__all__ = [
    "CLOSER_ROLES",
    "INLINE_TYPES",
    "MAX_TEXT",
    "PLANNER_ROLES",
    "PLAN_ACCEPTED_STATES",
    "Coverage",
    "CoverageRow",
    "PlanData",
    "Upload",
    "add_attachment",
    "add_question",
    "can_add_question",
    "can_audit",
    "can_close",
    "can_conduct",
    "can_keep_programme",
    "can_plan",
    "can_raise_action",
    "can_sign_report",
    "can_start",
    "can_write_report",
    "check_independence",
    "coverage",
    "create_audit",
    "default_documents",
    "get_attachment",
    "get_audit",
    "get_programme",
    "get_question",
    "independence_problems",
    "kind_label",
    "findings_raising",
    "list_audits",
    "meeting_time",
    "open_ncs",
    "past_ncs",
    "question_hint",
    "question_text",
    "raise_action",
    "record_finding",
    "remove_unit",
    "result_label",
    "risk_label",
    "save_programme",
    "save_report_text",
    "save_unit",
    "source_label",
    "state_label",
    "suggested_frequency",
    "weighed_risk",
    "transition",
    "transitions_for",
    "type_label",
    "unanswered",
    "update_plan",
    "work_for",
]
