"""Root causes, recurrence and statistics: the 5-whys analysis, similar NCs, aging, to-do."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from types import SimpleNamespace

from flask_babel import gettext as _
from sqlalchemy import func, or_, select
from sqlalchemy.orm import lazyload, selectinload

from qms import clock, trail
from qms.auth.models import User
from qms.errors import Conflict, ValidationFailed
from qms.extensions import db
from qms.improvement.labels import nc_state_label
from qms.improvement.models import (
    CAUSE_CATEGORIES,
    OPEN_ACTION_STATES,
    OPEN_NC_STATES,
    Action,
    NcDocument,
    NcOutput,
    Nonconformity,
)
from qms.improvement.permissions import (
    can_verify_effectiveness,
    in_quality_office,
    is_checker,
    require_responsible,
)
from qms.improvement.validation import choice, text
from qms.uow import transactional

MAX_WHYS = 5


def analysis_gaps(nc: Nonconformity) -> list[str]:
    """Return what the root-cause analysis still lacks (empty when complete)."""
    gaps = []
    if not [w for w in nc.whys or [] if w]:
        gaps.append(_("the 5-whys chain"))
    if nc.cause_category not in CAUSE_CATEGORIES:
        gaps.append(_("the cause category"))
    if not (nc.root_cause or "").strip():
        gaps.append(_("the root cause"))
    return gaps


@transactional
def record_analysis(
    actor: User, nc: Nonconformity, whys: list[str], category: str, root_cause: str
) -> Nonconformity:
    """Write the root-cause analysis (5 whys, category, text); the responsible person does."""
    if nc.state != "analysis":
        raise Conflict(
            _(
                "The root cause is analysed in the analysis step; %(number)s is %(state)s.",
                number=nc.number,
                state=nc_state_label(nc.state),
            )
        )
    require_responsible(actor, nc)
    chain = [w.strip() for w in whys or [] if w and w.strip()]
    if not chain:
        raise ValidationFailed(_("Answer at least the first why."), field="whys")
    if len(chain) > MAX_WHYS:
        raise ValidationFailed(_("Five whys at most."), field="whys")
    category = choice(category, CAUSE_CATEGORIES, "cause_category")
    root_cause = text(root_cause, "root_cause", _("State the root cause."))
    before = {"whys": nc.whys, "category": nc.cause_category, "root_cause": nc.root_cause}
    nc.whys = chain
    nc.cause_category = category
    nc.root_cause = root_cause
    trail.record(
        "nc.analysed",
        "nonconformity",
        nc.number,
        before=before,
        after={"whys": chain, "category": category, "root_cause": root_cause},
        user=actor,
    )
    return nc


# -- aging -----------------------------------------------------------------------------


def days_open(nc: Nonconformity, today: date | None = None) -> int:
    """Return how many of the organisation's days the NC has been (or was) open."""
    closed = clock.local(nc.closed_at)
    end = (closed.date() if closed else None) or today or clock.today()
    return max(0, (end - clock.local(nc.raised_at).date()).days)


AGE_BUCKETS = ((0, 30), (31, 60), (61, 90), (91, None))


def aging(ncs: Iterable[Nonconformity], today: date | None = None) -> list[dict]:
    """Count open NCs per age bucket (0-30, 31-60, 61-90, over 90 days)."""
    return _buckets(days_open(nc, today) for nc in ncs if nc.is_open)


def open_aging(listed=None, today: date | None = None) -> list[dict]:
    """Count the open NCs (of the ``listed`` select, else all) per age bucket.

    Reads only when each was raised: the NC list and the managers' dashboard show this on
    every view, and loading every NC with its relations to count them cost more than the
    rest of the page at ten thousand NCs.
    """
    end = today or clock.today()
    stmt = select(Nonconformity.raised_at).where(Nonconformity.state.in_(OPEN_NC_STATES))
    if listed is not None:
        stmt = stmt.where(
            Nonconformity.id.in_(listed.with_only_columns(Nonconformity.id).order_by(None))
        )
    raised = db.session.scalars(stmt)
    return _buckets(max(0, (end - clock.local(at).date()).days) for at in raised)


def _buckets(ages: Iterable[int]) -> list[dict]:
    counts = [0] * len(AGE_BUCKETS)
    for days in ages:
        for i, (low, high) in enumerate(AGE_BUCKETS):
            if days >= low and (high is None or days <= high):
                counts[i] += 1
                break
    total = max(sum(counts), 1)
    return [
        {
            "label": f"{low}–{high}" if high is not None else f"> {low - 1}",
            "count": n,
            "percent": round(100 * n / total),
        }
        for (low, high), n in zip(AGE_BUCKETS, counts, strict=True)
    ]


# -- recurrence ------------------------------------------------------------------------


@dataclass
class Similar:
    nc: Nonconformity
    reasons: list[str] = field(default_factory=list)


def similar(
    clause: str | None,
    department_id: int | None,
    documents: Iterable[str] = (),
    exclude: Nonconformity | None = None,
    limit: int = 10,
) -> list[Similar]:
    """Return earlier NCs sharing the clause, the department or a document, closest first."""
    codes = [c for c in documents if c]
    conditions = []
    if clause:
        conditions.append(Nonconformity.clause == clause)
    if department_id:
        conditions.append(Nonconformity.department_id == department_id)
    if codes:
        conditions.append(Nonconformity.documents.any(NcDocument.code.in_(codes)))
    if not conditions:
        return []
    stmt = select(Nonconformity).where(or_(*conditions))
    if exclude is not None:
        stmt = stmt.where(
            Nonconformity.id != exclude.id, Nonconformity.raised_at <= exclude.raised_at
        )
    candidates = db.session.scalars(stmt.order_by(Nonconformity.raised_at.desc()).limit(200))
    found = []
    for nc in candidates:
        reasons = []
        if clause and nc.clause == clause:
            reasons.append(_("clause %(clause)s", clause=clause))
        shared = sorted(set(nc.document_codes) & set(codes))
        if shared:
            reasons.append(_("document %(codes)s", codes=", ".join(shared)))
        if department_id and nc.department_id == department_id:
            reasons.append(_("department %(name)s", name=nc.department.name))
        found.append(Similar(nc, reasons))
    found.sort(key=lambda s: -len(s.reasons))
    return found[:limit]


def similar_to(nc: Nonconformity, limit: int = 10) -> list[Similar]:
    """Return the earlier NCs like ``nc``, closest first."""
    return similar(nc.clause, nc.department_id, nc.document_codes, exclude=nc, limit=limit)


# -- to-do -----------------------------------------------------------------------------


@dataclass
class Todo:
    ncs: list[Nonconformity]
    actions: list[Action]
    to_accept: list[Nonconformity]
    to_check: list[Action]

    @property
    def count(self) -> int:
        return len(self.ncs) + len(self.actions) + len(self.to_accept) + len(self.to_check)


def todo(user: User) -> Todo:
    """Return what waits for ``user``: NCs and actions assigned to them, and what they decide."""
    ncs = db.session.scalars(
        select(Nonconformity)
        .where(Nonconformity.responsible_id == user.id, Nonconformity.state.in_(OPEN_NC_STATES))
        .order_by(Nonconformity.due_date.is_(None), Nonconformity.due_date, Nonconformity.id)
    ).all()
    actions = db.session.scalars(
        select(Action)
        .where(Action.owner_id == user.id, Action.state.in_(OPEN_ACTION_STATES))
        .order_by(Action.due_date, Action.id)
    ).all()
    to_accept, to_check = [], []
    if in_quality_office(user):
        to_accept = [
            nc
            for nc in db.session.scalars(
                select(Nonconformity)
                .where(
                    Nonconformity.state.in_(
                        ("reported", "analysis", "action_plan", "effectiveness_check")
                    )
                )
                # An NC in the action-plan step is ready when it has actions: load them here.
                .options(selectinload(Nonconformity.actions))
                .order_by(Nonconformity.raised_at)
            )
            if (nc.state == "reported" and nc.responsible_id is None)
            or (nc.state == "analysis" and not analysis_gaps(nc))
            or (nc.state == "action_plan" and nc.actions)
            or nc.state == "effectiveness_check"
        ]
    # Only checkers by role and responsible people can judge an action: skip the query else.
    if is_checker(user) or ncs:
        to_check = [
            a
            for a in db.session.scalars(
                select(Action).where(Action.state == "done").order_by(Action.done_at)
            )
            if can_verify_effectiveness(user, a)
        ]
    return Todo(list(ncs), list(actions), to_accept, to_check)


@dataclass
class TodoSummary:
    """The home page's share of :class:`Todo`: what is due soon, and how much waits in all."""

    ncs: list[Nonconformity]
    actions: list[Action]
    #: How many NCs and actions are due by then in all (the lists hold the first few).
    due: int
    count: int


#: How many of each the home page lists.
HOME_LIST = 20


def _count(stmt) -> int:
    return db.session.scalar(stmt.with_only_columns(func.count()).order_by(None)) or 0


def todo_summary(user: User, soon: date) -> TodoSummary:
    """Return the user's NCs and actions due by ``soon`` (the first few) and the to-do count.

    Counted in SQL with the rules of :func:`todo`, so the home page's cost does not grow
    with the NCs waiting on the quality office or the actions waiting to be checked.
    """
    mine_ncs = select(Nonconformity).where(
        Nonconformity.responsible_id == user.id, Nonconformity.state.in_(OPEN_NC_STATES)
    )
    mine_actions = select(Action).where(
        Action.owner_id == user.id, Action.state.in_(OPEN_ACTION_STATES)
    )
    due_ncs = mine_ncs.where(Nonconformity.due_date <= soon)
    due_actions = mine_actions.where(Action.due_date <= soon)
    ncs = db.session.scalars(
        due_ncs.order_by(Nonconformity.due_date, Nonconformity.id).limit(HOME_LIST)
    ).all()
    actions = db.session.scalars(
        due_actions.order_by(Action.due_date, Action.id).limit(HOME_LIST)
    ).all()
    due = len(ncs) + len(actions)
    if len(ncs) == HOME_LIST or len(actions) == HOME_LIST:
        due = _count(due_ncs) + _count(due_actions)
    n_ncs = _count(mine_ncs)
    count = n_ncs + _count(mine_actions)
    if in_quality_office(user):
        count += _count(
            select(Nonconformity).where(
                or_(
                    (Nonconformity.state == "reported") & Nonconformity.responsible_id.is_(None),
                    (Nonconformity.state == "action_plan") & Nonconformity.actions.any(),
                    Nonconformity.state == "effectiveness_check",
                )
            )
        )
        # Complete analyses: the category and root cause in SQL, the whys on those few.
        candidates = db.session.execute(
            select(
                Nonconformity.whys, Nonconformity.cause_category, Nonconformity.root_cause
            ).where(
                Nonconformity.state == "analysis",
                Nonconformity.cause_category.in_(CAUSE_CATEGORIES),
                Nonconformity.root_cause.is_not(None),
            )
        )
        count += sum(
            1
            for whys, category, cause in candidates
            if not analysis_gaps(
                SimpleNamespace(whys=whys, cause_category=category, root_cause=cause)
            )
        )
    if is_checker(user) or n_ncs:
        # can_verify_effectiveness in SQL: not its doer nor owner; a checker, or responsible.
        stmt = select(Action).where(
            Action.state == "done",
            Action.owner_id != user.id,
            or_(Action.done_by_id.is_(None), Action.done_by_id != user.id),
        )
        if not is_checker(user):
            stmt = stmt.join(Nonconformity, Action.nonconformity_id == Nonconformity.id).where(
                Nonconformity.responsible_id == user.id
            )
        count += _count(stmt)
    return TodoSummary(list(ncs), list(actions), due, count)


def touching(since: datetime, until: datetime) -> tuple[list[Nonconformity], list[Action]]:
    """Return the NCs raised or closed in [since, until) or open now, and the actions
    created or checked in it: what a management review of that period looks at.

    Selected in SQL and loaded without their relations (the review reads their own
    columns), so preparing a review does not load every NC and action ever recorded.
    """
    ncs = db.session.scalars(
        select(Nonconformity)
        .where(
            or_(
                Nonconformity.raised_at.between(since, until),
                Nonconformity.closed_at.between(since, until),
                Nonconformity.state.in_(OPEN_NC_STATES),
            )
        )
        .options(lazyload("*"))
        .order_by(Nonconformity.raised_at)
    ).all()
    actions = db.session.scalars(
        select(Action)
        .where(
            or_(Action.created_at.between(since, until), Action.checked_at.between(since, until))
        )
        .options(lazyload("*"))
        .order_by(Action.created_at)
    ).all()
    return list(ncs), list(actions)


def output_ncs_raised(first: date, last: date) -> list[Nonconformity]:
    """Return the NCs about an output (§8.7) raised from ``first`` to ``last`` (UTC days)."""
    since = datetime.combine(first, time.min, tzinfo=UTC)
    until = datetime.combine(last + timedelta(days=1), time.min, tzinfo=UTC)
    return list(
        db.session.scalars(
            select(Nonconformity)
            .join(NcOutput, NcOutput.nonconformity_id == Nonconformity.id)
            .where(Nonconformity.raised_at >= since, Nonconformity.raised_at < until)
            .order_by(Nonconformity.number)
        )
    )


def due_soon(days: int = 14) -> date:
    """Return the last day counted as "due soon"."""
    return clock.today() + timedelta(days=days)
