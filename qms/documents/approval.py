"""Review and approval: comments, signatures with the password re-entered, rejection."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from qms import clock, trail
from qms.auth.models import User
from qms.auth.services import verify_password
from qms.documents import routes
from qms.documents.drafting import workflow_event
from qms.documents.labels import meaning_label
from qms.documents.models import Delegation, Document, ReviewComment, Revision, Signature
from qms.documents.permissions import (
    APPROVING_ROLES,
    can_approve,
    can_reject,
    can_review,
    can_review_periodically,
    contributors,
    needs_role,
)
from qms.documents.register import _revision_in, add_months, effective_revision
from qms.errors import Conflict, PermissionDenied, ValidationFailed
from qms.extensions import db
from qms.models import utcnow
from qms.uow import store, transactional


def authors_and_approvers(doc: Document) -> tuple[Revision | None, set[int], set[int]]:
    """Return the revision in force (else the latest), and who authored and who approved it.

    Other domains use this to keep people independent of their own work (an auditor may
    not audit a document they wrote or signed as approved).
    """
    rev = effective_revision(doc) or db.session.scalar(
        select(Revision).where(Revision.document_id == doc.id).order_by(Revision.id.desc())
    )
    if rev is None:
        return None, set(), set()
    approvers = {s.user_id for s in rev.signatures if s.meaning == "approved"}
    return rev, contributors(rev), approvers


@transactional
def add_comment(actor: User, doc: Document, body: str) -> ReviewComment:
    """Add a review comment to the open revision."""
    body = (body or "").strip()
    if not body:
        raise ValidationFailed(_("The comment is empty."), field="body")
    rev = _revision_in(doc, "draft", "in_review")
    comment = ReviewComment(revision_id=rev.id, user_id=actor.id, body=body)
    db.session.add(comment)
    trail.record(
        "revision.commented",
        "revision",
        f"{doc.code}/{rev.label}",
        after={"comment": body},
        user=actor,
    )
    return comment


def _check_password(actor: User, password: str) -> None:
    if not verify_password(actor, password or ""):
        raise PermissionDenied(
            _("The password is not correct; the signature was not applied."), field="password"
        )


def _sign(
    actor: User,
    rev: Revision,
    meaning: str,
    blob: str,
    comment: str | None,
    step: int | None = None,
    delegation: Delegation | None = None,
) -> Signature:
    sig = Signature(
        revision_id=rev.id,
        user_id=actor.id,
        meaning=meaning,
        blob_id=blob,
        comment=(comment or "").strip() or None,
        signed_at=utcnow(),
        step=step,
        on_behalf_of_id=delegation.delegator_id if delegation else None,
        delegation_id=delegation.id if delegation else None,
    )
    rev.signatures.append(sig)  # the route's progress reads the collection
    after = {"meaning": meaning, "blob": blob, "comment": sig.comment}
    if step is not None:
        after["step"] = step
    if delegation is not None:
        after["on_behalf_of"] = delegation.delegator.username
        after["delegation"] = delegation.id
    trail.record(
        f"revision.signed.{meaning}",
        "revision",
        f"{rev.document.code}/{rev.label}",
        after=after,
        user=actor,
    )
    return sig


def _sign_by_route(
    actor: User, doc: Document, route, meaning: str, password: str, comment: str | None
) -> tuple[Signature, Revision]:
    """Sign the next step of the route, which must mean ``meaning``; the last step approves."""
    rev = _revision_in(doc, "in_review")
    step = routes.next_step(rev, route)
    if step is None:
        raise Conflict(_("Every step of the route is signed already."))
    if step.meaning != meaning:
        raise Conflict(
            _(
                "The next step of the route is step %(n)s, %(meaning)s by %(who)s.",
                n=step.position,
                meaning=meaning_label(step.meaning),
                who=routes.who_signs(step),
            )
        )
    allowed, delegation = routes.signing_as(actor, step, contributors(rev))
    if not allowed:
        if actor.id in contributors(rev):
            raise PermissionDenied(_("An author of a revision cannot sign it."))
        raise PermissionDenied(
            _(
                "Step %(n)s of the route is signed by %(who)s.",
                n=step.position,
                who=routes.who_signs(step),
            )
        )
    _check_password(actor, password)
    if store().blob_id(rev.head_commit, doc.path) != rev.blob_id:
        raise Conflict(_("The draft changed after it was submitted; it cannot be approved."))
    sig = _sign(actor, rev, meaning, rev.blob_id, comment, step.position, delegation)
    if step.position == route.steps[-1].position:
        rev.status = "approved"
    else:
        workflow_event("signed", rev)
    return sig, rev


@transactional
def sign_review(actor: User, doc: Document, password: str, comment: str | None = None):
    """Sign the revision in review as reviewed (not an approval)."""
    route = routes.route_for(doc.doc_type)
    if route is not None:
        return _sign_by_route(actor, doc, route, "reviewed", password, comment)[0]
    rev = _revision_in(doc, "in_review")
    if not can_review(actor, rev):
        raise PermissionDenied(_("An author of a revision cannot review it."))
    _check_password(actor, password)
    sig = _sign(actor, rev, "reviewed", rev.blob_id, comment)
    return sig


@transactional
def approve(actor: User, doc: Document, password: str, comment: str | None = None) -> Revision:
    """Sign the revision in review as approved, with the password re-entered."""
    route = routes.route_for(doc.doc_type)
    if route is not None:
        return _sign_by_route(actor, doc, route, "approved", password, comment)[1]
    if not can_approve(actor):
        raise needs_role(*APPROVING_ROLES)
    rev = _revision_in(doc, "in_review")
    if not can_approve(actor, rev):
        raise PermissionDenied(_("The author of a revision cannot approve it."))
    _check_password(actor, password)
    if store().blob_id(rev.head_commit, doc.path) != rev.blob_id:
        raise Conflict(_("The draft changed after it was submitted; it cannot be approved."))
    _sign(actor, rev, "approved", rev.blob_id, comment)
    rev.status = "approved"
    return rev


@transactional
def reject(actor: User, doc: Document, reason: str) -> Revision:
    """Send the revision back to draft with a reason; the draft's text is kept."""
    if not can_reject(actor, doc):
        raise needs_role(*APPROVING_ROLES)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Give the reason for rejecting."), field="reason")
    rev = _revision_in(doc, "in_review", "approved")
    rev.status = "draft"
    rev.blob_id = None
    # Signatures were given over content that may now change: they no longer stand.
    for sig in list(rev.signatures):
        db.session.delete(sig)
    if doc.status == "in_review":
        doc.status = "draft"
    db.session.add(
        ReviewComment(revision_id=rev.id, user_id=actor.id, body=reason, kind="rejection")
    )
    trail.record(
        "revision.rejected",
        "revision",
        f"{doc.code}/{rev.label}",
        after={"reason": reason},
        user=actor,
    )
    workflow_event("rejected", rev)
    return rev


@transactional
def review_no_change(actor: User, doc: Document, password: str, note: str | None = None):
    """Record the periodic review "reviewed, no change" with a signature; reset the due date."""
    if not can_review_periodically(actor, doc):
        raise needs_role(*APPROVING_ROLES)
    if doc.status != "effective":
        raise Conflict(_("Only an effective document is reviewed periodically."))
    _check_password(actor, password)
    rev = effective_revision(doc)
    sig = _sign(actor, rev, "periodic_review", rev.blob_id, note)
    before = doc.next_review_due
    doc.next_review_due = add_months(clock.today(), doc.review_interval_months)
    trail.record(
        "document.reviewed",
        "document",
        doc.code,
        before={"next_review_due": before},
        after={"next_review_due": doc.next_review_due},
        user=actor,
    )
    return sig
