"""The rules of the register of external providers (ISO 9001 §8.4), for pages and API alike.

- A provider's approval status moves only along :data:`~qms.suppliers.models.TRANSITIONS`,
  each move decided by a person with a reason, kept as a status change and a trail event.
- An evaluation scores every criterion 0–100; the total is the weighted mean, and the next
  evaluation falls due the provider's interval after it.
- A poor latest evaluation or repeated NCs in twelve months *propose* suspension: the
  proposal is shown, and a person decides. Nothing here suspends a provider by itself.
- A suspended provider cannot be chosen on a new record (:func:`choosable`).

Nothing here commits: the outermost ``@transactional`` call owns the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from qms import clock, trail
from qms.auth.models import User
from qms.database import next_number
from qms.documents import services as documents
from qms.documents.register import add_months
from qms.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from qms.extensions import db
from qms.improvement import services as improvement
from qms.models import utcnow
from qms.suppliers import labels
from qms.suppliers.models import (
    INITIAL_STATUSES,
    STATUSES,
    TRANSITIONS,
    Supplier,
    SupplierCriterion,
    SupplierDocument,
    SupplierEvaluation,
    SupplierScore,
    SupplierStatusChange,
)
from qms.suppliers.permissions import can_change_status, can_evaluate, can_manage
from qms.uow import transactional

#: Defaults of the settings that propose a suspension (each may be set in the config).
POOR_SCORE = 60
NC_LIMIT = 3
NC_WINDOW_DAYS = 365
#: How long before its due date an evaluation shows as due.
DUE_DAYS = 30
MAX_INTERVAL = 60


def poor_score() -> float:
    """An evaluation total below this proposes suspension (``QMS_SUPPLIER_POOR_SCORE``)."""
    return float(current_app.config.get("QMS_SUPPLIER_POOR_SCORE", POOR_SCORE))


def nc_limit() -> int:
    """This many NCs in twelve months propose suspension (``QMS_SUPPLIER_NC_LIMIT``)."""
    return int(current_app.config.get("QMS_SUPPLIER_NC_LIMIT", NC_LIMIT))


# -- checking what is given -----------------------------------------------------------------


def _text(value: str | None, field: str, message: str, limit: int | None = None) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationFailed(message, field=field)
    return value[:limit] if limit else value


def _owner(username: str | None) -> User:
    user = db.session.scalar(
        select(User).where(User.username == (username or "").strip(), User.active.is_(True))
    )
    if user is None:
        raise ValidationFailed(_("Name the owner: a person with an account."), field="owner")
    return user


def _interval(months) -> int:
    if isinstance(months, bool) or not isinstance(months, int) or not 1 <= months <= MAX_INTERVAL:
        raise ValidationFailed(
            _("The re-evaluation interval is a whole number of months from 1 to %(n)s.", n=60),
            field="evaluation_months",
        )
    return months


def _criteria(items) -> list[tuple[str, int]]:
    """Return ``(name, weight)`` pairs; names unique, weights whole numbers 1–100."""
    result: list[tuple[str, int]] = []
    for item in items or []:
        name = (item.get("name") if isinstance(item, dict) else item[0]) or ""
        weight = item.get("weight") if isinstance(item, dict) else item[1]
        name = str(name).strip()[:200]
        if not name:
            raise ValidationFailed(_("Each criterion needs a name."), field="criteria")
        if isinstance(weight, bool) or not isinstance(weight, int) or not 1 <= weight <= 100:
            raise ValidationFailed(
                _("The weight of %(name)s is a whole number from 1 to 100.", name=name),
                field="criteria",
            )
        if any(n.lower() == name.lower() for n, _w in result):
            raise ValidationFailed(
                _("The criterion %(name)s is given twice.", name=name), field="criteria"
            )
        result.append((name, weight))
    return result


def _codes(codes) -> list[str]:
    result = []
    for code in dict.fromkeys(str(c).strip() for c in codes or [] if str(c).strip()):
        try:
            result.append(documents.get_document(code).code)
        except NotFound as exc:
            raise ValidationFailed(exc.message, field="documents") from None
    return result


def _snapshot(s: Supplier) -> dict:
    return {
        "name": s.name,
        "supplies": s.supplies,
        "controls": s.controls,
        "owner": s.owner.username if s.owner else None,
        "evaluation_months": s.evaluation_months,
        "next_evaluation_due": s.next_evaluation_due.isoformat(),
        "criteria": [[c.name, c.weight] for c in s.criteria],
        "documents": s.documents,
    }


# -- the register ------------------------------------------------------------------------------


@transactional
def add_supplier(
    actor: User,
    name: str,
    supplies: str,
    owner: str,
    controls: str = "",
    status: str = "conditional",
    evaluation_months: int = 12,
    criteria=(),
    documents=(),
    reason: str = "",
) -> Supplier:
    """Add a provider to the register, approved or on condition; its first evaluation is
    due at once (a provider is evaluated before it is relied on)."""
    if not can_manage(actor):
        raise PermissionDenied(_("Only the quality office may change the provider register."))
    if status not in INITIAL_STATUSES:
        raise ValidationFailed(
            _("A new provider is approved or conditional, never suspended."), field="status"
        )
    supplier = Supplier(
        name=_text(name, "name", _("A name is required."), 200),
        supplies=_text(supplies, "supplies", _("Say what the provider supplies.")),
        controls=(controls or "").strip(),
        owner_id=_owner(owner).id,
        status=status,
        evaluation_months=_interval(evaluation_months),
        next_evaluation_due=clock.today(),
    )
    for position, (cname, weight) in enumerate(_criteria(criteria)):
        supplier.criteria.append(SupplierCriterion(name=cname, weight=weight, position=position))
    for code in _codes(documents):
        supplier.document_rows.append(SupplierDocument(code=code))
    supplier.number = f"SP-{next_number('SP'):04d}"
    db.session.add(supplier)
    db.session.flush()
    db.session.add(
        SupplierStatusChange(
            supplier_id=supplier.id,
            from_status=None,
            to_status=status,
            reason=(reason or "").strip() or _("Added to the register."),
            changed_by_id=actor.id,
        )
    )
    db.session.refresh(supplier, ["owner"])
    trail.record(
        "supplier.added",
        "supplier",
        supplier.number,
        after={**_snapshot(supplier), "status": status},
        user=actor,
    )
    return supplier


@transactional
def change_supplier(actor: User, supplier: Supplier, **changes) -> Supplier:
    """Change a provider's details; ``changes`` may hold name, supplies, controls, owner,
    evaluation_months, criteria (``[{name, weight}]``) and documents (codes).

    A new interval moves the next due date to that interval after the last evaluation.
    The status is not changed here: see :func:`change_status`.
    """
    if not can_manage(actor):
        raise PermissionDenied(_("Only the quality office may change the provider register."))
    before = _snapshot(supplier)
    if "name" in changes:
        supplier.name = _text(changes["name"], "name", _("A name is required."), 200)
    if "supplies" in changes:
        supplier.supplies = _text(
            changes["supplies"], "supplies", _("Say what the provider supplies.")
        )
    if "controls" in changes:
        supplier.controls = (changes["controls"] or "").strip()
    if "owner" in changes:
        supplier.owner = _owner(changes["owner"])
    if "evaluation_months" in changes:
        supplier.evaluation_months = _interval(changes["evaluation_months"])
        latest = supplier.latest_evaluation
        if latest is not None:
            supplier.next_evaluation_due = add_months(
                latest.evaluated_on, supplier.evaluation_months
            )
    if "criteria" in changes:
        wanted = _criteria(changes["criteria"])
        # Keep the rows of names that stay: a new row for a kept name would clash.
        rows = {c.name: c for c in supplier.criteria}
        kept = []
        for position, (cname, weight) in enumerate(wanted):
            row = rows.get(cname) or SupplierCriterion(name=cname)
            row.weight, row.position = weight, position
            kept.append(row)
        supplier.criteria = kept
    if "documents" in changes:
        codes = _codes(changes["documents"])
        kept_docs = [row for row in supplier.document_rows if row.code in codes]
        have = {row.code for row in kept_docs}
        supplier.document_rows = kept_docs + [
            SupplierDocument(code=c) for c in codes if c not in have
        ]
    after = _snapshot(supplier)
    if after == before:
        raise ValidationFailed(_("Nothing was changed."))
    supplier.updated_at = utcnow()
    db.session.flush()
    trail.record("supplier.changed", "supplier", supplier.number, before, after, user=actor)
    return supplier


def get_supplier(number: str) -> Supplier:
    """Return the provider numbered ``number``. :raises NotFound: there is none."""
    supplier = db.session.scalar(select(Supplier).where(Supplier.number == (number or "")))
    if supplier is None:
        raise NotFound(_("There is no provider %(number)s.", number=number))
    return supplier


def supplier_by_id(ident: int | None) -> Supplier | None:
    return db.session.get(Supplier, ident) if ident else None


def list_suppliers(
    status: str | None = None, q: str | None = None, due: bool = False
) -> list[Supplier]:
    """Return the providers, by number, filtered by status, text and evaluation due."""
    query = select(Supplier).order_by(Supplier.number)
    if status:
        query = query.where(Supplier.status == status)
    if q and q.strip():
        pattern = f"%{q.strip().lower()}%"
        query = query.where(
            or_(
                func.lower(Supplier.number).like(pattern),
                func.lower(Supplier.name).like(pattern),
                func.lower(Supplier.supplies).like(pattern),
            )
        )
    if due:
        query = query.where(Supplier.next_evaluation_due <= due_window())
    return list(db.session.scalars(query))


# -- approval status -------------------------------------------------------------------------


def allowed_statuses(supplier: Supplier) -> tuple[str, ...]:
    """Return the statuses the provider may move to from where it is."""
    return TRANSITIONS.get(supplier.status, ())


@transactional
def change_status(actor: User, supplier: Supplier, status: str, reason: str) -> Supplier:
    """Move a provider to ``status`` with a reason, as the state table allows.

    Approval needs a latest evaluation that is not poor: a provider on condition, or
    coming back from suspension, earns it by its results.
    """
    if not can_change_status(actor):
        raise PermissionDenied(_("Only the quality office decides a provider's approval."))
    if status not in STATUSES:
        raise ValidationFailed(_("Choose a status."), field="status")
    reason = _text(reason, "reason", _("Give the reason for the change."))
    if status == supplier.status:
        raise Conflict(
            _(
                "%(number)s is already %(status)s.",
                number=supplier.number,
                status=labels.status_label(status),
            ),
            field="status",
        )
    if status not in allowed_statuses(supplier):
        raise Conflict(
            _(
                "A %(from)s provider cannot become %(to)s directly.",
                **{
                    "from": labels.status_label(supplier.status),
                    "to": labels.status_label(status),
                },
            ),
            field="status",
        )
    if status == "approved":
        latest = supplier.latest_evaluation
        if latest is None or latest.total < poor_score():
            raise Conflict(
                _(
                    "Approval needs a latest evaluation of at least %(score)s points.",
                    score=points(poor_score()),
                ),
                field="status",
            )
    before = supplier.status
    supplier.status = status
    supplier.updated_at = utcnow()
    db.session.add(
        SupplierStatusChange(
            supplier_id=supplier.id,
            from_status=before,
            to_status=status,
            reason=reason,
            changed_by_id=actor.id,
        )
    )
    db.session.flush()
    trail.record(
        "supplier.status_changed",
        "supplier",
        supplier.number,
        before={"status": before},
        after={"status": status, "reason": reason},
        user=actor,
    )
    return supplier


def points(value: float) -> str:
    """Show a score without a needless decimal (80, 62.5)."""
    return f"{value:g}"


# -- evaluations -----------------------------------------------------------------------------


def weighted_total(scores: list[tuple[int, int]]) -> float:
    """Return the weighted mean of ``(score, weight)`` pairs, to one decimal."""
    weights = sum(w for _s, w in scores)
    return round(sum(s * w for s, w in scores) / weights, 1) if weights else 0.0


@transactional
def evaluate(
    actor: User,
    supplier: Supplier,
    scores: dict,
    evaluated_on: date | None = None,
    comment: str = "",
) -> SupplierEvaluation:
    """Record an evaluation: a score 0–100 on every criterion of the provider.

    The total is the weighted mean; the next evaluation falls due the provider's interval
    after this one.
    """
    if not can_evaluate(actor, supplier):
        raise PermissionDenied(
            _("Only the quality office or the provider's owner may evaluate it.")
        )
    if not supplier.criteria:
        raise ValidationFailed(_("Set the provider's evaluation criteria first."), field="criteria")
    evaluated_on = evaluated_on or clock.today()
    if evaluated_on > clock.today():
        raise ValidationFailed(
            _("An evaluation cannot be dated in the future."), field="evaluated_on"
        )
    scores = scores if isinstance(scores, dict) else {}
    unknown = sorted(set(scores) - {c.name for c in supplier.criteria})
    if unknown:
        raise ValidationFailed(
            _("%(name)s is not one of the provider's criteria.", name=", ".join(unknown)),
            field="scores",
        )
    given: list[SupplierScore] = []
    for criterion in supplier.criteria:
        value = scores.get(criterion.name)
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value.strip())
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
            raise ValidationFailed(
                _("Score %(name)s with a whole number from 0 to 100.", name=criterion.name),
                field="scores",
            )
        given.append(SupplierScore(criterion=criterion.name, weight=criterion.weight, score=value))
    evaluation = SupplierEvaluation(
        supplier_id=supplier.id,
        evaluated_on=evaluated_on,
        total=weighted_total([(s.score, s.weight) for s in given]),
        comment=(comment or "").strip(),
        evaluated_by_id=actor.id,
        scores=given,
    )
    db.session.add(evaluation)
    db.session.flush()
    db.session.expire(supplier, ["evaluations"])
    before_due = supplier.next_evaluation_due
    latest = supplier.latest_evaluation
    supplier.next_evaluation_due = add_months(latest.evaluated_on, supplier.evaluation_months)
    supplier.updated_at = utcnow()
    trail.record(
        "supplier.evaluated",
        "supplier",
        supplier.number,
        before={"next_evaluation_due": before_due.isoformat()},
        after={
            "evaluated_on": evaluated_on.isoformat(),
            "scores": {s.criterion: s.score for s in given},
            "total": evaluation.total,
            "next_evaluation_due": supplier.next_evaluation_due.isoformat(),
        },
        user=actor,
    )
    return evaluation


def due_window(today: date | None = None) -> date:
    return (today or clock.today()) + timedelta(days=DUE_DAYS)


def evaluation_state(supplier: Supplier, today: date | None = None) -> str:
    """Return "overdue", "due" (within 30 days) or "ok" for the next evaluation."""
    today = today or clock.today()
    if supplier.next_evaluation_due < today:
        return "overdue"
    if supplier.next_evaluation_due <= due_window(today):
        return "due"
    return "ok"


def due_for(user: User, today: date | None = None) -> list[Supplier]:
    """Return the providers the user owns whose evaluation is due within 30 days or late."""
    query = (
        select(Supplier)
        .where(
            Supplier.owner_id == user.id,
            Supplier.status != "suspended",
            Supplier.next_evaluation_due <= due_window(today),
        )
        .order_by(Supplier.next_evaluation_due, Supplier.number)
    )
    return list(db.session.scalars(query))


# -- NCs and the suspension proposal -----------------------------------------------------------


def ncs_of(supplier: Supplier) -> list:
    """Return the nonconformities naming the provider, newest first."""
    filters = improvement.NcFilters(supplier_id=supplier.id)
    return list(db.session.scalars(improvement.list_ncs(filters)).unique())


def _recent(ncs, today: date) -> list:
    """The NCs raised in the twelve months to ``today``; one found unfounded does not count."""
    since = today - timedelta(days=NC_WINDOW_DAYS)
    return [
        nc
        for nc in ncs
        if nc.state != "rejected" and since < clock.local(nc.raised_at).date() <= today
    ]


@dataclass(frozen=True)
class Proposal:
    """Why suspension is proposed; empty when it is not."""

    reasons: tuple[str, ...]

    def __bool__(self) -> bool:
        return bool(self.reasons)


def proposal(supplier: Supplier, ncs: list | None = None, today: date | None = None) -> Proposal:
    """Return whether (and why) suspending a provider is proposed: its latest evaluation
    is poor, or it had :func:`nc_limit` NCs or more in twelve months.

    A suspended provider has nothing proposed. The proposal only informs: a person
    decides with :func:`change_status`.
    """
    if supplier.status == "suspended":
        return Proposal(())
    today = today or clock.today()
    reasons = []
    latest = supplier.latest_evaluation
    if latest is not None and latest.total < poor_score():
        reasons.append(
            _(
                "The latest evaluation (%(date)s) scored %(total)s, below %(limit)s.",
                date=latest.evaluated_on.isoformat(),
                total=points(latest.total),
                limit=points(poor_score()),
            )
        )
    recent = _recent(ncs if ncs is not None else ncs_of(supplier), today)
    if len(recent) >= nc_limit():
        reasons.append(
            _(
                "%(count)s nonconformities in the last twelve months (%(limit)s propose "
                "suspension).",
                count=len(recent),
                limit=nc_limit(),
            )
        )
    return Proposal(tuple(reasons))


def proposals(suppliers: list[Supplier]) -> dict[int, Proposal]:
    """Return the suspension proposal of each provider listed, by id (one NC query)."""
    today = clock.today()
    by_supplier: dict[int, list] = {}
    ncs = db.session.scalars(
        improvement.list_ncs(improvement.NcFilters(with_supplier=True))
    ).unique()
    for nc in ncs:
        by_supplier.setdefault(nc.supplier_id, []).append(nc)
    return {s.id: proposal(s, by_supplier.get(s.id, []), today) for s in suppliers}


# -- choosing a provider on a record ------------------------------------------------------------


def choosable(kept: set[str] | None = None) -> list[tuple[str, str]]:
    """Return ``(number, label)`` of the providers a new record may name: not suspended,
    and those of ``kept`` (what a record being amended already names)."""
    query = (
        select(Supplier)
        .where(or_(Supplier.status != "suspended", Supplier.number.in_(sorted(kept or ()))))
        .order_by(Supplier.name)
    )
    return [(s.number, _choice_label(s)) for s in db.session.scalars(query)]


def _choice_label(s: Supplier) -> str:
    if s.status == "suspended":
        return f"{s.name} ({s.number}, {labels.status_label(s.status)})"
    return f"{s.name} ({s.number})"


def status_of(number: str) -> str | None:
    """Return the provider's status, or None when there is no such provider."""
    return db.session.scalar(select(Supplier.status).where(Supplier.number == number))


def names_of(numbers) -> dict[str, str]:
    """Return ``{number: "name (number)"}`` for the providers among ``numbers``."""
    numbers = [n for n in numbers if isinstance(n, str)]
    if not numbers:
        return {}
    query = select(Supplier.number, Supplier.name).where(Supplier.number.in_(numbers))
    return {number: f"{name} ({number})" for number, name in db.session.execute(query)}
