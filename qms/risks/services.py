"""The rules of the register of risks and opportunities, used by the pages and the API.

Score = likelihood x impact on the administrator's scales, the level from the matrix;
after treatment the residual likelihood and impact give the residual score and level.
Treatment is carried by preventive (or, for an opportunity, improvement) actions of the
improvement domain, raised here in one step and linked by the risk's number. Every change
leaves a trail event and, when the level that counts moves, a level-history row that the
trend of high risks is drawn from. Nothing here commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import gettext as _
from sqlalchemy import func, select

from qms import clock, trail
from qms.auth.models import Department, User
from qms.auth.services import active_user_named
from qms.database import next_number
from qms.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from qms.extensions import db
from qms.improvement import services as improvement
from qms.models import utcnow
from qms.risks import labels, matrix
from qms.risks.models import (
    KINDS,
    STATUSES,
    TRANSITIONS,
    Risk,
    RiskAudit,
    RiskLevelChange,
)
from qms.risks.permissions import can_add, can_change
from qms.uow import transactional

#: A review date this close or past comes up on the owner's home page.
REVIEW_NOTICE_DAYS = 30
EDITABLE = ("title", "cause", "effect", "department", "process", "owner", "review_date")


def _text(value, field: str, message: str, limit: int | None = None) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationFailed(message, field=field)
    return value[:limit] if limit else value


def _owner(username: str | None) -> User:
    user = active_user_named(username, "owner")
    if user is None:
        raise ValidationFailed(_("Name the owner."), field="owner")
    return user


def _department(name: str | None) -> Department | None:
    name = (name or "").strip()
    if not name:
        return None
    dept = db.session.scalar(select(Department).where(Department.name == name))
    if dept is None:
        raise ValidationFailed(_("There is no department %(name)s.", name=name), "department")
    return dept


def _review_date(value: date | None) -> date:
    if value is None:
        raise ValidationFailed(_("Give the review date."), field="review_date")
    return value


def _snapshot(risk: Risk) -> dict:
    return {
        "kind": risk.kind,
        "title": risk.title,
        "cause": risk.cause,
        "effect": risk.effect,
        "department": risk.department.name if risk.department else None,
        "process": risk.process,
        "likelihood": risk.likelihood,
        "impact": risk.impact,
        "score": risk.score,
        "level": risk.level,
        "treatment": risk.treatment,
        "residual_likelihood": risk.residual_likelihood,
        "residual_impact": risk.residual_impact,
        "residual_score": risk.residual_score,
        "residual_level": risk.residual_level,
        "status": risk.status,
        "owner": risk.owner.username if risk.owner else None,
        "review_date": risk.review_date.isoformat() if risk.review_date else None,
    }


def _counted_level(risk: Risk) -> str:
    return "" if risk.status == "closed" else risk.current_level


def _note_level(risk: Risk) -> None:
    """Add a level-history row when the level that counts differs from the last one."""
    last = db.session.scalar(
        select(RiskLevelChange.level)
        .where(RiskLevelChange.risk_id == risk.id)
        .order_by(RiskLevelChange.at.desc(), RiskLevelChange.id.desc())
        .limit(1)
    )
    level = _counted_level(risk)
    if last != level:
        db.session.add(RiskLevelChange(risk_id=risk.id, at=utcnow(), level=level))


def _score(scales: matrix.Scales, likelihood, impact, prefix: str = "") -> tuple[int, int]:
    lk = scales.check(likelihood, f"{prefix}likelihood", _("Likelihood"))
    im = scales.check(impact, f"{prefix}impact", _("Impact"))
    return lk, im


# -- the register ----------------------------------------------------------------------


@transactional
def add_risk(
    actor: User,
    kind: str,
    title: str,
    likelihood: int,
    impact: int,
    owner: str,
    review_date: date,
    cause: str = "",
    effect: str = "",
    department: str | None = None,
    process: str = "",
    treatment: str = "",
) -> Risk:
    """Add a risk or an opportunity, scored on the scales in force (quality office)."""
    if not can_add(actor):
        raise PermissionDenied(_("Only the quality office adds risks and opportunities."))
    if kind not in KINDS:
        raise ValidationFailed(_("Say whether it is a risk or an opportunity."), field="kind")
    scales = matrix.current()
    lk, im = _score(scales, likelihood, impact)
    dept = _department(department)
    process = (process or "").strip()[:120]
    if dept is None and not process:
        raise ValidationFailed(_("Name the department or the process it concerns."), "department")
    year = clock.today().year
    risk = Risk(
        number=f"RO-{year}-{next_number(f'RO-{year}'):04d}",
        kind=kind,
        title=_text(title, "title", _("A title is required."), 300),
        cause=(cause or "").strip(),
        effect=(effect or "").strip(),
        department=dept,
        process=process,
        likelihood=lk,
        impact=im,
        score=lk * im,
        level=scales.level(lk, im),
        treatment=(treatment or "").strip(),
        owner=_owner(owner),
        review_date=_review_date(review_date),
        created_by_id=actor.id,
        status="open",
    )
    db.session.add(risk)
    db.session.flush()
    _note_level(risk)
    trail.record("risk.added", "risk", risk.number, after=_snapshot(risk), user=actor)
    return risk


def _guard_change(actor: User, risk: Risk) -> None:
    if not can_change(actor, risk):
        raise PermissionDenied(
            _("Only the owner of %(number)s or the quality office changes it.", number=risk.number)
        )


@transactional
def update_risk(actor: User, risk: Risk, **changes) -> Risk:
    """Change an entry: its texts, scope, owner, review date, assessment and treatment.

    ``changes`` may hold title, cause, effect, department, process, owner, review_date,
    likelihood, impact, treatment, residual_likelihood and residual_impact. The residual
    pair is given together; a risk's residual score cannot exceed its score before
    treatment (an opportunity's may, treatment is meant to raise it). A closed entry is
    reopened before it is changed.
    """
    _guard_change(actor, risk)
    if risk.status == "closed":
        raise Conflict(_("%(number)s is closed; reopen it to change it.", number=risk.number))
    if "kind" in changes and changes["kind"] not in KINDS:
        raise ValidationFailed(_("Say whether it is a risk or an opportunity."), field="kind")
    before = _snapshot(risk)
    scales = matrix.current()
    if "kind" in changes:
        risk.kind = changes["kind"]
    if "title" in changes:
        risk.title = _text(changes["title"], "title", _("A title is required."), 300)
    for name in ("cause", "effect", "treatment"):
        if name in changes:
            setattr(risk, name, (changes[name] or "").strip())
    if "department" in changes:
        risk.department = _department(changes["department"])
    if "process" in changes:
        risk.process = (changes["process"] or "").strip()[:120]
    if risk.department is None and not risk.process:
        raise ValidationFailed(_("Name the department or the process it concerns."), "department")
    if "owner" in changes:
        risk.owner = _owner(changes["owner"])
    if "review_date" in changes:
        risk.review_date = _review_date(changes["review_date"])
    if "likelihood" in changes or "impact" in changes:
        lk, im = _score(
            scales, changes.get("likelihood", risk.likelihood), changes.get("impact", risk.impact)
        )
        risk.likelihood, risk.impact, risk.score = lk, im, lk * im
        risk.level = scales.level(lk, im)
    residual = ("residual_likelihood", "residual_impact")
    if any(k in changes for k in residual):
        given = [changes.get(k) for k in residual]
        if all(v in (None, "") for v in given):
            risk.residual_likelihood = risk.residual_impact = None
            risk.residual_score = risk.residual_level = None
        else:
            lk, im = _score(scales, given[0], given[1], "residual_")
            risk.residual_likelihood, risk.residual_impact = lk, im
            risk.residual_score, risk.residual_level = lk * im, scales.level(lk, im)
    if risk.kind == "risk" and risk.residual_score is not None and risk.residual_score > risk.score:
        raise ValidationFailed(
            _(
                "The residual score (%(residual)d) cannot exceed the score before treatment "
                "(%(score)d).",
                residual=risk.residual_score,
                score=risk.score,
            ),
            field="residual_likelihood",
        )
    after = _snapshot(risk)
    if after == before:
        raise ValidationFailed(_("Nothing was changed."))
    risk.updated_at = utcnow()
    db.session.flush()
    _note_level(risk)
    trail.record("risk.changed", "risk", risk.number, before=before, after=after, user=actor)
    return risk


@transactional
def change_status(actor: User, risk: Risk, to: str, note: str = "") -> Risk:
    """Move an entry on: open -> treated | accepted -> closed, or reopen it.

    Treated needs a residual assessment and a treatment (text or an action); accepted
    needs the reason it is accepted without treatment; reopening needs a reason too.
    """
    _guard_change(actor, risk)
    if to not in STATUSES:
        raise ValidationFailed(_("Choose a status."), field="status")
    if to not in TRANSITIONS[risk.status]:
        raise Conflict(
            _(
                "%(number)s is %(state)s; it cannot become %(to)s.",
                number=risk.number,
                state=labels.status_label(risk.status),
                to=labels.status_label(to),
            ),
            field="status",
        )
    note = (note or "").strip()
    if to == "treated":
        if risk.residual_score is None:
            raise Conflict(
                _("Assess the likelihood and impact after treatment first."),
                field="residual_likelihood",
            )
        if not risk.treatment and not actions_of(risk):
            raise Conflict(_("Describe the treatment or raise an action first."), "treatment")
    if to in ("accepted", "open") and not note:
        raise ValidationFailed(
            _("Say why the risk is accepted without treatment.")
            if to == "accepted"
            else _("Say why it is reopened."),
            field="note",
        )
    before = {"status": risk.status}
    risk.status, risk.status_note = to, note
    risk.closed_at = utcnow() if to == "closed" else None
    risk.updated_at = utcnow()
    db.session.flush()
    _note_level(risk)
    trail.record(
        "risk.status",
        "risk",
        risk.number,
        before=before,
        after={"status": to, "note": note},
        user=actor,
    )
    return risk


def relevel_all(actor: User, scales: matrix.Scales, old_scale: int) -> list[str]:
    """Re-level every entry on new scales (inside :func:`matrix.save_settings`).

    Refuses a smaller scale while an entry is scored above its top step.
    """
    if scales.scale < old_scale:
        above = db.session.scalar(
            select(func.count(Risk.id)).where(
                (Risk.likelihood > scales.scale)
                | (Risk.impact > scales.scale)
                | (func.coalesce(Risk.residual_likelihood, 0) > scales.scale)
                | (func.coalesce(Risk.residual_impact, 0) > scales.scale)
            )
        )
        if above:
            raise ValidationFailed(
                _(
                    "%(count)d entries are scored above %(top)d; rescore them first.",
                    count=above,
                    top=scales.scale,
                ),
                field="scale",
            )
    changed = []
    for risk in db.session.scalars(select(Risk).order_by(Risk.id)):
        level = scales.level(risk.likelihood, risk.impact)
        residual = (
            scales.level(risk.residual_likelihood, risk.residual_impact)
            if risk.residual_score is not None
            else None
        )
        if (level, residual) != (risk.level, risk.residual_level):
            risk.level, risk.residual_level = level, residual
            changed.append(risk.number)
            db.session.flush()
            _note_level(risk)
    return changed


# -- treatment through actions -----------------------------------------------------------


def actions_of(risk: Risk) -> list:
    """Return the actions raised from ``risk`` (the improvement domain's, by origin)."""
    return improvement.actions_from("risk", risk.number)


@transactional
def raise_action(
    actor: User,
    risk: Risk,
    title: str,
    owner: str,
    due_date: date,
    description: str = "",
    effectiveness_criteria: str | None = None,
):
    """Raise a preventive action (an improvement one for an opportunity) from ``risk``.

    The action names the risk as its origin, so each shows the other.
    """
    _guard_change(actor, risk)
    if risk.status == "closed":
        raise Conflict(_("%(number)s is closed; reopen it to treat it.", number=risk.number))
    action = improvement.create_action(
        actor,
        "preventive" if risk.kind == "risk" else "improvement",
        title,
        owner,
        due_date,
        description=description,
        effectiveness_criteria=effectiveness_criteria,
        origin="risk",
        origin_ref=risk.number,
    )
    trail.record(
        "risk.action_raised", "risk", risk.number, after={"action": action.number}, user=actor
    )
    return action


# -- audits that take risks as criteria ----------------------------------------------------


@transactional
def set_audit_criteria(actor: User, audit_ref: str, numbers: list[str]) -> list[str]:
    """Make exactly the entries ``numbers`` criteria of the audit ``audit_ref``.

    Called by audit planning inside its own unit of work, after its permission checks.
    A closed entry cannot become a criterion. Returns the numbers, as stored.
    """
    wanted = []
    for number in dict.fromkeys(n.strip() for n in numbers or [] if n and n.strip()):
        try:
            risk = get_risk(number)
        except NotFound as exc:
            raise ValidationFailed(exc.message, field="risks") from None
        if risk.status == "closed":
            raise ValidationFailed(
                _("%(number)s is closed; it cannot be an audit criterion.", number=risk.number),
                field="risks",
            )
        wanted.append(risk)
    before = [r.number for r in risks_of_audit(audit_ref)]
    for risk in risks_of_audit(audit_ref):
        if risk not in wanted:
            risk.audit_rows = [row for row in risk.audit_rows if row.audit_ref != audit_ref]
    for risk in wanted:
        if audit_ref not in risk.audits:
            risk.audit_rows.append(RiskAudit(audit_ref=audit_ref))
    after = sorted(r.number for r in wanted)
    if after != before:
        db.session.flush()
        trail.record(
            "risk.audit_criteria",
            "audit",
            audit_ref,
            before={"risks": before},
            after={"risks": after},
            user=actor,
        )
    return after


def risks_of_audit(audit_ref: str) -> list[Risk]:
    return list(
        db.session.scalars(
            select(Risk)
            .join(RiskAudit)
            .where(RiskAudit.audit_ref == audit_ref)
            .order_by(Risk.number)
        )
    )


def high_risks() -> list[Risk]:
    """Return the risks (not opportunities) not closed whose level now is high."""
    return list_risks(RiskFilters(kind="risk", level="high", open_only=True))


def high_risk_counts() -> dict[tuple[str, str], int]:
    """Return open high risks per ("department", name) and ("process", name)."""
    counts: dict[tuple[str, str], int] = {}
    for risk in high_risks():
        if risk.department:
            key = ("department", risk.department.name)
            counts[key] = counts.get(key, 0) + 1
        if risk.process:
            counts[("process", risk.process)] = counts.get(("process", risk.process), 0) + 1
    return counts


# -- reading -----------------------------------------------------------------------------


def get_risk(number: str) -> Risk:
    """Return the entry ``number`` (RO-2026-0001), or raise :class:`NotFound`."""
    risk = db.session.scalar(select(Risk).where(Risk.number == (number or "").strip()))
    if risk is None:
        raise NotFound(_("There is no risk or opportunity %(number)s.", number=number))
    return risk


@dataclass
class RiskFilters:
    kind: str | None = None
    level: str | None = None  # the level that counts now
    status: str | None = None
    department_id: int | None = None
    process: str | None = None
    owner_id: int | None = None
    likelihood: int | None = None  # the current (residual where assessed) step
    impact: int | None = None
    open_only: bool = False  # every status but closed


def select_risks(f: RiskFilters | None = None):
    """Return a select() over the register with the filters, by number."""
    f = f or RiskFilters()
    stmt = select(Risk)
    if f.kind:
        stmt = stmt.where(Risk.kind == f.kind)
    if f.level:
        stmt = stmt.where(func.coalesce(Risk.residual_level, Risk.level) == f.level)
    if f.status:
        stmt = stmt.where(Risk.status == f.status)
    if f.open_only:
        stmt = stmt.where(Risk.status != "closed")
    if f.department_id:
        stmt = stmt.where(Risk.department_id == f.department_id)
    if f.process:
        stmt = stmt.where(Risk.process == f.process)
    if f.owner_id:
        stmt = stmt.where(Risk.owner_id == f.owner_id)
    if f.likelihood:
        stmt = stmt.where(func.coalesce(Risk.residual_likelihood, Risk.likelihood) == f.likelihood)
    if f.impact:
        stmt = stmt.where(func.coalesce(Risk.residual_impact, Risk.impact) == f.impact)
    return stmt.order_by(Risk.number)


def list_risks(f: RiskFilters | None = None) -> list[Risk]:
    return list(db.session.scalars(select_risks(f)))


def processes() -> list[str]:
    """Return the process names the register uses."""
    return list(
        db.session.scalars(
            select(Risk.process).where(Risk.process != "").distinct().order_by(Risk.process)
        )
    )


def reviews_due(user: User, today: date | None = None) -> list[Risk]:
    """Return the user's entries not closed whose review date is past or within 30 days."""
    today = today or clock.today()
    return list(
        db.session.scalars(
            select(Risk)
            .where(
                Risk.owner_id == user.id,
                Risk.status != "closed",
                Risk.review_date <= today + timedelta(days=REVIEW_NOTICE_DAYS),
            )
            .order_by(Risk.review_date, Risk.number)
        )
    )


def level_history(risk: Risk) -> list[RiskLevelChange]:
    return list(
        db.session.scalars(
            select(RiskLevelChange)
            .where(RiskLevelChange.risk_id == risk.id)
            .order_by(RiskLevelChange.at, RiskLevelChange.id)
        )
    )
