"""Nonconforming outputs (ISO 9001 §8.7): what was affected, how many, and its disposition.

An NC about an output cannot close until its disposition is recorded with evidence; a
concession names who authorised it, who is never the person who raised the NC.
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from qms import attachments, clock, trail
from qms.auth.models import User
from qms.errors import Conflict, PermissionDenied, ValidationFailed
from qms.extensions import db
from qms.improvement.models import DISPOSITIONS, NcOutput, Nonconformity
from qms.improvement.permissions import in_quality_office
from qms.uow import transactional


def _may_work(actor: User, nc: Nonconformity) -> None:
    if not nc.is_open:
        raise Conflict(_("%(number)s is no longer open.", number=nc.number))
    if actor.id not in (nc.responsible_id, nc.raised_by_id) and not in_quality_office(actor):
        raise PermissionDenied(
            _("Only the person responsible, the reporter or the quality office may do this.")
        )


@transactional
def set_output(actor: User, nc: Nonconformity, output: str, quantity: int) -> NcOutput:
    """Say that ``nc`` is about an output: what was affected and how many."""
    _may_work(actor, nc)
    output = (output or "").strip()
    if not output:
        raise ValidationFailed(_("Say which output was affected."), field="output")
    if quantity is None or quantity < 1:
        raise ValidationFailed(_("The quantity affected must be at least 1."), field="quantity")
    row = nc.output
    before = {"output": row.output, "quantity": row.quantity} if row else None
    if row is None:
        row = NcOutput(nonconformity_id=nc.id, output=output, quantity=quantity)
        db.session.add(row)
        nc.output = row
    row.output, row.quantity = output[:300], quantity
    db.session.flush()
    trail.record(
        "nc.output",
        "nonconformity",
        nc.number,
        before=before,
        after={"output": row.output, "quantity": quantity},
        user=actor,
    )
    return row


@transactional
def record_disposition(
    actor: User,
    nc: Nonconformity,
    disposition: str,
    note: str = "",
    authorised_by: str | None = None,
    evidence_ref: str | None = None,
    evidence=None,
    evidence_name: str | None = None,
) -> NcOutput:
    """Record what was done with the nonconforming output, with its evidence.

    :raises ValidationFailed: no output recorded, an unknown disposition, no evidence (a
        reference such as the reissued certificate's number, or a file), or a concession
        without an authoriser other than the person who raised the NC.
    """
    _may_work(actor, nc)
    row = nc.output
    if row is None:
        raise ValidationFailed(_("First say which output was affected."), field="output")
    if disposition not in DISPOSITIONS:
        raise ValidationFailed(_("Choose a disposition."), field="disposition")
    authoriser = None
    if disposition == "concession":
        username = (authorised_by or "").strip()
        authoriser = db.session.scalar(select(User).where(User.username == username))
        if authoriser is None:
            raise ValidationFailed(
                _("A concession needs the person who authorised it."), field="authorised_by"
            )
        if authoriser.id == nc.raised_by_id:
            raise ValidationFailed(
                _("The person who raised the nonconformity cannot authorise its concession."),
                field="authorised_by",
            )
    evidence_ref = (evidence_ref or "").strip() or None
    if evidence is None and evidence_ref is None:
        raise ValidationFailed(
            _("Give the evidence of the disposition: a reference or a file."), field="evidence"
        )
    if evidence is not None:
        stored = attachments.save(evidence, evidence_name, field="evidence")
        row.evidence_sha256, row.evidence_name = stored.sha256, stored.name
    row.disposition = disposition
    row.disposition_note = (note or "").strip()
    row.authorised_by_id = authoriser.id if authoriser else None
    row.evidence_ref = evidence_ref[:300] if evidence_ref else None
    row.disposed_by_id, row.disposed_on = actor.id, clock.today()
    db.session.flush()
    trail.record(
        "nc.disposition",
        "nonconformity",
        nc.number,
        after={
            "disposition": disposition,
            "authorised_by": authoriser.username if authoriser else None,
            "evidence_ref": row.evidence_ref,
            "evidence": row.evidence_sha256,
        },
        user=actor,
    )
    return row


def check_closable(nc: Nonconformity) -> None:
    """Refuse closing an NC about an output whose disposition is not yet recorded."""
    if nc.output is not None and not nc.output.disposition:
        raise Conflict(
            _("Record what was done with the nonconforming output before closing."),
            field="disposition",
        )


def output_ncs(start=None, end=None) -> list[Nonconformity]:
    """Return the NCs about an output raised between ``start`` and ``end`` (dates)."""
    query = select(Nonconformity).join(NcOutput, NcOutput.nonconformity_id == Nonconformity.id)
    ncs = list(db.session.scalars(query.order_by(Nonconformity.raised_at)))
    if start is not None:
        ncs = [n for n in ncs if clock.local(n.raised_at).date() >= start]
    if end is not None:
        ncs = [n for n in ncs if clock.local(n.raised_at).date() <= end]
    return ncs
