"""This domain's home-page panels: managers see how the quality system performs.

Each figure comes from the owning domain's public services.
"""

from sqlalchemy import func, select

from qms import clock
from qms.audits import services as audits
from qms.documents import services as documents
from qms.extensions import db
from qms.improvement import services as improvement
from qms.reviews import charts, feedback, figures, objectives
from qms.reviews.models import Complaint
from qms.reviews.sources import link


def _count(stmt) -> int:
    return db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0


def _overdue() -> dict:
    """Overdue counts across domains."""
    late = feedback.list_complaints(open_only=True).where(Complaint.response_due < clock.today())
    return {
        "actions": _count(improvement.list_actions(improvement.ActionFilters(overdue=True))),
        "ncs": _count(improvement.list_ncs(improvement.NcFilters(overdue=True))),
        "complaints": _count(late),
        "documents": _count(documents.list_documents(due_for_review=True)),
    }


def _aging() -> list[dict]:
    return improvement.open_aging()


def _coverage(year: int) -> dict:
    completion = figures.audit_completion(year)
    gaps = len(audits.coverage(year).gaps)
    return {"completion": completion, "gaps": gaps, "year": year}


#: How many objectives the dashboard shows (those not met first); the rest are a link away.
DASHBOARD_OBJECTIVES = 12


def _objectives() -> tuple[list, int]:
    """Return the dashboard's objective statuses, those not met first, and how many in all."""
    active = objectives.list_objectives()
    latest = objectives.recent_measurements([o.id for o in active], 1)

    def missed_first(o):
        value = latest[o.id][0].value if latest[o.id] else None
        return (o.meets(value) is not False, o.name)

    shown = sorted(active, key=missed_first)[:DASHBOARD_OBJECTIVES]
    return objectives.statuses(shown), len(active)


def manager_panel() -> dict:
    year = clock.today().year
    statuses, count = _objectives()
    return {
        "template": "reviews/_dashboard.html",
        "statuses": statuses,
        "objective_count": count,
        "sparkline": charts.sparkline,
        "overdue": _overdue(),
        "aging": _aging(),
        "coverage": _coverage(year),
        "training": figures.training_coverage(),
        "links": {
            "training": link("training.index"),
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
    owned = objectives.statuses(
        [o for o in objectives.list_objectives() if o.owner_id == user.id and o.source == "manual"],
        recent=1,
    )
    if waiting or owned:
        result.append(
            {"template": "reviews/_work.html", "complaints": waiting, "objectives": owned}
        )
    if objectives.can_view_dashboard(user):
        result.append(manager_panel())
    return result
