"""Approval routes per document type, and delegations of signers who are away.

A route is the ordered signatures a type's revisions need (e.g. 审核 then 批准, with the
quality manual approved by top management); each signature is the next step of the
route, by the role or the named person the step names, or by their delegate for the
period of a delegation, which the signature and the trail then name. A type without a
route keeps the default: any number of reviews by anyone but the authors, then one
approval by an approver.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select

from qms import clock, trail
from qms.auth.models import ROLES, User, UserRole
from qms.documents.models import (
    DOC_TYPES,
    ApprovalRoute,
    ApprovalStep,
    Delegation,
    Revision,
    Signature,
)
from qms.documents.permissions import can_configure_routes, can_delegate
from qms.errors import PermissionDenied, ValidationFailed
from qms.extensions import db
from qms.models import utcnow
from qms.uow import transactional

STEP_MEANINGS = ("reviewed", "approved")
MAX_STEPS = 6


# -- routes ------------------------------------------------------------------------------


def route_for(doc_type: str) -> ApprovalRoute | None:
    route = db.session.scalar(select(ApprovalRoute).filter_by(doc_type=doc_type))
    return route if route is not None and route.steps else None


def all_routes() -> dict[str, ApprovalRoute]:
    return {r.doc_type: r for r in db.session.scalars(select(ApprovalRoute)) if r.steps}


def _describe(steps) -> list[dict]:
    return [
        {"meaning": s.meaning, "role": s.role, "user": s.user.username if s.user else None}
        for s in steps
    ]


@dataclass(frozen=True)
class StepSpec:
    meaning: str
    role: str | None = None
    user: str | None = None


def _parse_steps(steps) -> list[tuple[str, str | None, User | None]]:
    from qms.auth.services import active_user_named

    parsed = []
    for n, step in enumerate(steps, start=1):
        meaning = (step.meaning or "").strip()
        role = (step.role or "").strip() or None
        username = (step.user or "").strip() or None
        if not (meaning or role or username):
            continue  # an empty row of the form
        if meaning not in STEP_MEANINGS:
            raise ValidationFailed(_("Step %(n)s: choose what the signature means.", n=n))
        if (role is None) == (username is None):
            raise ValidationFailed(
                _("Step %(n)s: name either a role or a person who signs, not both.", n=n)
            )
        if role is not None and role not in ROLES:
            raise ValidationFailed(_("Step %(n)s: there is no role %(role)s.", n=n, role=role))
        user = active_user_named(username, "steps") if username else None
        parsed.append((meaning, role, user))
    if not parsed:
        return []
    if len(parsed) > MAX_STEPS:
        raise ValidationFailed(_("A route has at most %(n)s steps.", n=MAX_STEPS))
    if parsed[-1][0] != "approved":
        raise ValidationFailed(_("The last step of a route is the approval."))
    return parsed


@transactional
def set_route(actor: User, doc_type: str, steps) -> ApprovalRoute | None:
    """Replace ``doc_type``'s route by ``steps`` (StepSpec); none restores the default."""
    if not can_configure_routes(actor):
        raise PermissionDenied(_("Only an administrator may change the approval routes."))
    if doc_type not in DOC_TYPES:
        raise ValidationFailed(_("There is no document type %(type)s.", type=doc_type))
    parsed = _parse_steps(steps)
    route = db.session.scalar(select(ApprovalRoute).filter_by(doc_type=doc_type))
    before = _describe(route.steps) if route else []
    if route is None:
        route = ApprovalRoute(doc_type=doc_type)
        db.session.add(route)
    route.steps.clear()
    db.session.flush()
    for position, (meaning, role, user) in enumerate(parsed, start=1):
        route.steps.append(
            ApprovalStep(position=position, meaning=meaning, role=role, user_id=user and user.id)
        )
    route.updated_at = utcnow()
    db.session.flush()
    db.session.refresh(route)
    trail.record(
        "route.changed",
        "route",
        doc_type,
        before={"steps": before},
        after={"steps": _describe(route.steps)},
        user=actor,
    )
    return route if route.steps else None


# -- delegations -------------------------------------------------------------------------


def active_delegations(delegate: User, on: date | None = None) -> list[Delegation]:
    on = on or clock.today()
    query = select(Delegation).where(
        Delegation.delegate_id == delegate.id,
        Delegation.revoked_at.is_(None),
        Delegation.starts_on <= on,
        Delegation.ends_on >= on,
    )
    return list(db.session.scalars(query))


def delegations_of(user: User | None = None) -> list[Delegation]:
    """The delegations given by or to ``user`` (all of them when None), newest first."""
    query = select(Delegation).order_by(Delegation.starts_on.desc(), Delegation.id.desc())
    if user is not None:
        query = query.where(
            (Delegation.delegator_id == user.id) | (Delegation.delegate_id == user.id)
        )
    return list(db.session.scalars(query))


@transactional
def delegate(
    actor: User, delegator: User, delegate_to: User, starts_on: date, ends_on: date, reason: str
) -> Delegation:
    """Let ``delegate_to`` sign what ``delegator`` may sign from ``starts_on`` to ``ends_on``."""
    if not can_delegate(actor, delegator):
        raise PermissionDenied(_("You may delegate only your own signatures."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Say why the signatures are delegated."), field="reason")
    if delegate_to.id == delegator.id or not delegate_to.active:
        raise ValidationFailed(_("Choose another active person as the delegate."), field="delegate")
    if starts_on is None or ends_on is None or ends_on < starts_on:
        raise ValidationFailed(_("The period ends before it starts."), field="ends_on")
    if ends_on < clock.today():
        raise ValidationFailed(_("The period is over already."), field="ends_on")
    row = Delegation(
        delegator_id=delegator.id,
        delegate_id=delegate_to.id,
        starts_on=starts_on,
        ends_on=ends_on,
        reason=reason,
        created_by_id=actor.id,
    )
    db.session.add(row)
    db.session.flush()
    trail.record(
        "delegation.created",
        "delegation",
        str(row.id),
        after={
            "delegator": delegator.username,
            "delegate": delegate_to.username,
            "starts_on": starts_on,
            "ends_on": ends_on,
            "reason": reason,
        },
        user=actor,
    )
    return row


@transactional
def revoke(actor: User, row: Delegation) -> Delegation:
    if not can_delegate(actor, row.delegator):
        raise PermissionDenied(_("You may delegate only your own signatures."))
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        trail.record("delegation.revoked", "delegation", str(row.id), user=actor)
    return row


# -- signing by the route ------------------------------------------------------------------


def _signs_directly(user: User, step: ApprovalStep) -> bool:
    if step.user_id is not None:
        return step.user_id == user.id
    return user.has_role(step.role)


def progress(rev: Revision, route: ApprovalRoute) -> list[tuple[ApprovalStep, Signature | None]]:
    signed = {s.step: s for s in rev.signatures if s.step is not None}
    return [(step, signed.get(step.position)) for step in route.steps]


def next_step(rev: Revision, route: ApprovalRoute) -> ApprovalStep | None:
    return next((step for step, sig in progress(rev, route) if sig is None), None)


def signing_as(user: User, step: ApprovalStep, authors: set[int]) -> tuple[bool, Delegation | None]:
    """Return whether ``user`` may sign ``step`` and, when as a delegate, the delegation.

    Nobody signs a revision they wrote, whether for themselves or for someone else.
    """
    if user.id in authors:
        return False, None
    if _signs_directly(user, step):
        return True, None
    for row in active_delegations(user):
        if (
            row.delegator.active
            and row.delegator_id not in authors
            and _signs_directly(row.delegator, step)
        ):
            return True, row
    return False, None


def holders(step: ApprovalStep) -> list[User]:
    """Who signs ``step`` directly."""
    if step.user_id is not None:
        return [step.user] if step.user.active else []
    query = (
        select(User)
        .join(UserRole, UserRole.user_id == User.id)
        .where(User.active.is_(True), UserRole.role == step.role)
    )
    return list(db.session.scalars(query))


def signers(step: ApprovalStep, authors: set[int]) -> list[User]:
    """Who may sign ``step`` today: its holders who did not write the revision, and the
    delegates of those who are away."""
    direct = [u for u in holders(step) if u.id not in authors]
    if not direct:
        return []
    today = clock.today()
    delegates = db.session.scalars(
        select(User)
        .join(Delegation, Delegation.delegate_id == User.id)
        .where(
            Delegation.delegator_id.in_([u.id for u in direct]),
            Delegation.revoked_at.is_(None),
            Delegation.starts_on <= today,
            Delegation.ends_on >= today,
            User.active.is_(True),
        )
    )
    found = {u.id: u for u in direct}
    for u in delegates:
        if u.id not in authors:
            found.setdefault(u.id, u)
    return list(found.values())


def next_signers(rev: Revision) -> list[User]:
    """Who may give the revision in review its next signature today."""
    from qms.documents.permissions import APPROVING_ROLES, contributors

    authors = contributors(rev)
    route = route_for(rev.document.doc_type)
    if route is None:
        role_step = ApprovalStep(meaning="approved", role=APPROVING_ROLES[0])
        return [u for u in holders(role_step) if u.id not in authors]
    step = next_step(rev, route)
    return signers(step, authors) if step else []


def who_signs(step: ApprovalStep) -> str:
    """The role or the person a step names, in the user's language."""
    from qms.auth.labels import role_label

    return step.user.display_name if step.user else role_label(step.role)
