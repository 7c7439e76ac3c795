"""The localised names of this domain's states and choices, for pages, minutes and exports.

Kept apart from the services so that every module of the domain (and the templates) can
use them without importing the services, which import most of those modules.
"""

from flask_babel import gettext as _


def state_label(state: str) -> str:
    """Name a management review's state."""
    return {
        "planned": _("planned"),
        "prepared": _("inputs compiled"),
        "held": _("held"),
        "approved": _("minutes approved"),
    }.get(state, state)


def decision_label(kind: str) -> str:
    """Name what a review decision is about (§9.3.3)."""
    return {
        "improvement": _("Improvement"),
        "qms_change": _("Change to the QMS"),
        "resources": _("Resources"),
    }.get(kind, kind)


def channel_label(channel: str) -> str:
    """Name how a complaint came in."""
    return {
        "window": _("service window"),
        "phone": _("telephone"),
        "hotline": _("hotline (12345)"),
        "online": _("online portal"),
        "email": _("e-mail"),
        "letter": _("letter"),
        "visit": _("visit"),
    }.get(channel, channel)


def direction_label(direction: str) -> str:
    """Name which side of an objective's target is good."""
    return {"higher": _("higher is better"), "lower": _("lower is better")}.get(
        direction, direction
    )


def source_label(source: str) -> str:
    """Name where an objective's values come from."""
    return {
        "manual": _("entered (browser, CSV or API)"),
        "surveys": _("computed from satisfaction surveys"),
        "overdue_actions": _("computed: overdue actions"),
        "nc_closure_days": _("computed: average NC closure time (days)"),
        "audit_completion": _("computed: audit programme completion (%)"),
        "ack_coverage": _("computed: acknowledgement coverage (%)"),
        "forms_used": _("computed: share of record forms used (%)"),
        "training_coverage": _("computed: training coverage (%)"),
        "output_ncs": _("computed: nonconforming outputs"),
        "output_rate": _("computed: nonconforming outputs per thousand issued"),
        "record_query": _("computed from records (query)"),
        "ratings_good_rate": _("computed: citizens' good-rating rate (%)"),
        "ratings_poor": _("computed: citizens' poor ratings"),
        "rectification_on_time": _("computed: poor ratings rectified on time (%)"),
        "followup_satisfaction": _("computed: satisfaction at follow-up (%)"),
    }.get(source, source)


def origin_label(origin: str) -> str:
    """Name how one measurement of an objective came in."""
    return {
        "browser": _("entered on the page"),
        "csv": _("imported from a spreadsheet"),
        "api": _("sent through the API"),
        "surveys": _("computed from satisfaction surveys"),
        "computed": _("computed by the system"),
    }.get(origin, origin)


def input_status_label(kind: str, status: str) -> str:
    """Name the state an item of the compiled inputs had (NC, action, audit, finding, provider…)."""
    from qms.audits import labels as audits
    from qms.improvement import labels as improvement

    if kind == "action":
        return improvement.action_state_label(status)
    if kind == "audit":
        return audits.state_label(status)
    if kind == "supplier":
        from qms.suppliers.labels import status_label

        return status_label(status)
    named = improvement.nc_state_label(status)
    # An NC raised from an audit finding carries the finding's result (minor_nc…).
    return audits.result_label(status) if named == status else named


def frequency_label(frequency: str) -> str:
    """Name how often an objective is measured."""
    return {
        "monthly": _("monthly"),
        "quarterly": _("quarterly"),
        "yearly": _("yearly"),
    }.get(frequency, frequency)


def section_title(key: str) -> str:
    """Name a section of the review inputs (§9.3.2)."""
    return {
        "previous_actions": _("Status of actions from previous management reviews"),
        "context_changes": _("Changes in external and internal issues"),
        "customer": _("Customer satisfaction and feedback"),
        "objectives": _("Extent to which quality objectives have been met"),
        "process_performance": _("Process performance and conformity of services"),
        "nonconformities": _("Nonconformities and corrective actions"),
        "monitoring": _("Monitoring and measurement results"),
        "audits": _("Audit results"),
        "external_providers": _("Performance of external providers"),
        "resources": _("Adequacy of resources"),
        "risks": _("Effectiveness of actions taken to address risks and opportunities"),
        "improvement": _("Opportunities for improvement"),
    }.get(key, key)


def operator_label(op: str) -> str:
    """Name how a record-query condition compares a field."""
    return {
        "eq": _("equals"),
        "ne": _("does not equal"),
        "in": _("is one of"),
        "not_in": _("is none of"),
        "empty": _("is empty"),
        "not_empty": _("is not empty"),
        "gt": _("is greater than (after)"),
        "ge": _("is at least (on or after)"),
        "lt": _("is less than (before)"),
        "le": _("is at most (on or before)"),
    }.get(op, op)


def measure_label(measure: str) -> str:
    """Name what a record query measures."""
    return {
        "count": _("number of matching records"),
        "ratio": _("matching records ÷ base records × factor"),
    }.get(measure, measure)
