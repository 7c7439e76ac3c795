"""Change requests: anyone raises one, an approver decides, a revision implements it."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from qms import clock, trail
from qms.auth.models import User
from qms.database import next_number
from qms.documents.models import ChangeRequest, ChangeRequestDocument, Revision
from qms.documents.permissions import APPROVING_ROLES, can_decide_change_request, needs_role
from qms.documents.register import get_document
from qms.errors import Conflict, NotFound, ValidationFailed
from qms.extensions import db
from qms.models import utcnow
from qms.uow import transactional


@transactional
def raise_change_request(
    actor: User, title: str, reason: str, documents: list[str], source_ref: str | None = None
) -> ChangeRequest:
    """Raise a document change request; anyone may."""
    title, reason = (title or "").strip(), (reason or "").strip()
    if not title:
        raise ValidationFailed(_("A title is required."), field="title")
    if not reason:
        raise ValidationFailed(_("Give the reason for the change."), field="reason")
    docs = [get_document(c.strip()) for c in documents if c.strip()]
    if not docs:
        raise ValidationFailed(_("Name at least one document concerned."), field="documents")
    year = clock.today().year
    number = f"CR-{year}-{next_number(f'CR-{year}'):04d}"
    cr = ChangeRequest(
        number=number,
        title=title[:300],
        reason=reason,
        source_ref=(source_ref or "").strip() or None,
        raised_by_id=actor.id,
        document_rows=[ChangeRequestDocument(document=d) for d in docs],
    )
    db.session.add(cr)
    trail.record(
        "change_request.raised",
        "change_request",
        number,
        after={"documents": [d.code for d in docs], "reason": reason},
        user=actor,
    )
    return cr


@transactional
def decide_change_request(actor: User, cr: ChangeRequest, accept: bool, note: str = "") -> None:
    """Accept or decline an open change request."""
    if not can_decide_change_request(actor, cr):
        raise needs_role(*APPROVING_ROLES)
    if cr.status != "open":
        raise Conflict(_("Change request %(number)s was already decided.", number=cr.number))
    if not accept and not (note or "").strip():
        raise ValidationFailed(_("Give the reason for declining."), field="note")
    cr.status = "accepted" if accept else "declined"
    cr.decided_by_id = actor.id
    cr.decided_at = utcnow()
    cr.decision_note = (note or "").strip() or None
    trail.record(
        "change_request.decided",
        "change_request",
        cr.number,
        before={"status": "open"},
        after={"status": cr.status, "note": cr.decision_note},
        user=actor,
    )


def get_change_request(number: str) -> ChangeRequest:
    """Return the change request ``number`` or raise :class:`NotFound`."""
    cr = db.session.scalar(select(ChangeRequest).where(ChangeRequest.number == number))
    if cr is None:
        raise NotFound(_("There is no change request %(number)s.", number=number))
    return cr


def revisions_for_change_request(number: str) -> list[Revision]:
    """Return the revisions citing change request ``number``, oldest first (none if unknown)."""
    return list(
        db.session.scalars(
            select(Revision)
            .join(ChangeRequest, Revision.change_request_id == ChangeRequest.id)
            .where(ChangeRequest.number == number)
            .order_by(Revision.id)
        )
    )


def _accepted_change_request(number: str | None) -> ChangeRequest | None:
    """Return the accepted change request a revision implements; refuse any other."""
    if not number:
        return None
    cr = db.session.scalar(select(ChangeRequest).where(ChangeRequest.number == number))
    if cr is None:
        raise ValidationFailed(
            _("There is no change request %(number)s.", number=number), field="change_request"
        )
    if cr.status != "accepted":
        raise ValidationFailed(
            _("Change request %(number)s is not accepted.", number=number), field="change_request"
        )
    return cr
