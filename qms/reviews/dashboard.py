"""This domain's home-page panels: managers see how the quality system performs.

Each figure comes from the owning domain's public services; a domain that is not
installed shows "not available" rather than a number.
"""

from sqlalchemy import func, select

from qms import clock
from qms.extensions import db
from qms.reviews import charts, feedback, figures, objectives
from qms.reviews.sources import function, link


def _count(stmt) -> int:
    return db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0


def _overdue() -> dict:
    """Overdue counts across domains; None where a domain is not installed."""
    from qms.documents import services as documents

    list_ncs, nc_filters = function("improvement", "list_ncs"), function("improvement", "NcFilters")
    list_actions, action_filters = (
        function("improvement", "list_actions"),
        function("improvement", "ActionFilters"),
    )
    today = clock.today()
    complaints = db.session.scalars(feedback.list_complaints(open_only=True)).all()
    return {
        "actions": _count(list_actions(action_filters(overdue=True)))
        if list_actions and action_filters
        else None,
        "ncs": _count(list_ncs(nc_filters(overdue=True))) if list_ncs and nc_filters else None,
        "complaints": sum(1 for c in complaints if c.response_due < today),
        "documents": _count(documents.list_documents(due_for_review=True)),
    }


def _aging() -> list[dict] | None:
    list_ncs, nc_filters = function("improvement", "list_ncs"), function("improvement", "NcFilters")
    aging = function("improvement", "aging")
    if not (list_ncs and nc_filters and aging):
        return None
    return aging(db.session.scalars(list_ncs(nc_filters(open_only=True))).unique().all())


def _coverage(year: int) -> dict:
    completion = figures.audit_completion(year)
    coverage = function("audits", "coverage")
    gaps = len(coverage(year).gaps) if coverage is not None else None
    return {"completion": completion, "gaps": gaps, "year": year}


def manager_panel() -> dict:
    year = clock.today().year
    return {
        "template": "reviews/_dashboard.html",
        "statuses": objectives.statuses(),
        "sparkline": charts.sparkline,
        "overdue": _overdue(),
        "aging": _aging(),
        "coverage": _coverage(year),
        "links": {
            "actions": link("improvement.actions", overdue="1"),
            "ncs": link("improvement.index", overdue="1"),
            "documents": link("documents.review_due"),
            "coverage": link("audits.programme", year=year),
        },
    }


def panels(user) -> list[dict]:
    """Home-page panels: complaints waiting on the user's department; managers' dashboard."""
    result = []
    waiting = db.session.scalars(
        feedback.list_complaints(open_only=True, department_id=user.department_id)
    ).all()
    owned = [
        o for o in objectives.list_objectives() if o.owner_id == user.id and o.source == "manual"
    ]
    if waiting or owned:
        result.append(
            {"template": "reviews/_work.html", "complaints": waiting, "objectives": owned}
        )
    if objectives.can_view_dashboard(user):
        result.append(manager_panel())
    return result
