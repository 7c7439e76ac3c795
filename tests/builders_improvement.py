"""Data builders for nonconformities and actions in each workflow state, via the real services."""

from datetime import date, timedelta

from qms.improvement import services

SOON = date.today() + timedelta(days=10)


def raised(users, by="staff", responsible="author", **kw):
    kw.setdefault("title", "Wrong form accepted at window 3")
    kw.setdefault("description", "An application was accepted on an obsolete form.")
    kw.setdefault("source", "staff_report")
    kw.setdefault("clause", "8.5.1")
    return services.raise_nc(
        users[by], responsible=responsible, due_date=kw.pop("due_date", SOON), **kw
    )


def in_containment(users, **kw):
    nc = raised(users, **kw)
    return services.transition(users[nc.responsible.username], nc, "containment")


def in_analysis(users, **kw):
    nc = in_containment(users, **kw)
    return services.transition(
        nc.responsible, nc, "analysis", containment="Form withdrawn from window 3."
    )


def analysed(users, **kw):
    nc = in_analysis(users, **kw)
    return services.record_analysis(
        nc.responsible,
        nc,
        ["The obsolete form was on the counter.", "Old stock was not withdrawn."],
        "method",
        "QP-07 does not say who withdraws superseded forms.",
    )


def in_action_plan(users, approver="approver", **kw):
    nc = analysed(users, **kw)
    return services.transition(users[approver], nc, "action_plan")


def action_for(users, nc, owner="author2", action_type="corrective", by=None, **kw):
    kw.setdefault("effectiveness_criteria", "No obsolete form found in 3 spot checks.")
    return services.create_action(
        users[by] if by else nc.responsible,
        action_type,
        kw.pop("title", "Withdraw superseded forms on release"),
        owner,
        kw.pop("due_date", SOON),
        nonconformity=nc.number,
        **kw,
    )


def in_implementation(users, approver="approver", owner="author2", **kw):
    nc = in_action_plan(users, approver=approver, **kw)
    action_for(users, nc, owner=owner)
    return services.transition(users[approver], nc, "implementation")


def in_effectiveness_check(users, **kw):
    nc = in_implementation(users, **kw)
    for action in nc.actions:
        services.action_transition(action.owner, action, "done", note="Forms withdrawn.")
    return services.transition(nc.responsible, nc, "effectiveness_check")
