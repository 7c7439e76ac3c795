"""The rules of the context registers, used by both the pages and the API.

A change to what a legal requirement says raises a document change request on each
document that implements it, in the same unit of work, through document control's own
service. Every change leaves a trail event; nothing here commits.
"""

from __future__ import annotations

from datetime import date, datetime

from flask_babel import gettext as _
from sqlalchemy import select

from qms import trail
from qms.auth.models import User
from qms.context.models import (
    ISSUE_KINDS,
    LEGAL_STATUSES,
    ContextIssue,
    InterestedParty,
    LegalRequirement,
    LegalRequirementDocument,
)
from qms.context.permissions import can_manage
from qms.database import next_number
from qms.documents import services as documents
from qms.errors import NotFound, PermissionDenied, ValidationFailed
from qms.extensions import db
from qms.models import aware, utcnow
from qms.uow import transactional


def _guard(actor: User) -> None:
    if not can_manage(actor):
        raise PermissionDenied(_("Only the quality office may change the context registers."))


def _text(value: str | None, field: str, message: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationFailed(message, field=field)
    return value


def _owner(username: str | None) -> User:
    user = db.session.scalar(select(User).where(User.username == (username or "").strip()))
    if user is None:
        raise ValidationFailed(_("Name the owner."), field="owner")
    return user


def _review_date(value: date | None) -> date:
    if value is None:
        raise ValidationFailed(_("Give the review date."), field="review_date")
    return value


# -- issues and interested parties -----------------------------------------------------------


@transactional
def add_issue(
    actor: User, kind: str, title: str, owner: str, review_date: date, description: str = ""
) -> ContextIssue:
    """Add an internal or external issue to the register."""
    _guard(actor)
    if kind not in ISSUE_KINDS:
        raise ValidationFailed(_("Say whether the issue is internal or external."), "kind")
    issue = ContextIssue(
        kind=kind,
        title=_text(title, "title", _("A title is required."))[:300],
        description=(description or "").strip(),
        owner_id=_owner(owner).id,
        review_date=_review_date(review_date),
    )
    issue.number = f"CI-{next_number('CI'):04d}"
    db.session.add(issue)
    db.session.flush()
    trail.record(
        "context.issue_added",
        "context_issue",
        issue.number,
        after={"kind": kind, "title": issue.title, "owner": owner},
        user=actor,
    )
    return issue


@transactional
def add_party(actor: User, name: str, needs: str, owner: str, review_date: date) -> InterestedParty:
    """Add an interested party with its needs and expectations."""
    _guard(actor)
    party = InterestedParty(
        name=_text(name, "name", _("A name is required."))[:200],
        needs=_text(needs, "needs", _("Say what the party needs and expects.")),
        owner_id=_owner(owner).id,
        review_date=_review_date(review_date),
    )
    party.number = f"IP-{next_number('IP'):04d}"
    db.session.add(party)
    db.session.flush()
    trail.record(
        "context.party_added",
        "interested_party",
        party.number,
        after={"name": party.name, "needs": party.needs, "owner": owner},
        user=actor,
    )
    return party


def list_issues(kind: str | None = None) -> list[ContextIssue]:
    query = select(ContextIssue).order_by(ContextIssue.number)
    if kind:
        query = query.where(ContextIssue.kind == kind)
    return list(db.session.scalars(query))


def list_parties() -> list[InterestedParty]:
    return list(db.session.scalars(select(InterestedParty).order_by(InterestedParty.number)))


# -- legal and other requirements ---------------------------------------------------------


def _codes(codes: list[str]) -> list[str]:
    result = []
    for code in dict.fromkeys(c.strip() for c in codes or [] if c.strip()):
        try:
            result.append(documents.get_document(code).code)
        except NotFound as exc:
            raise ValidationFailed(exc.message, field="documents") from None
    return result


@transactional
def add_legal_requirement(
    actor: User,
    law: str,
    requirement: str,
    owner: str,
    review_date: date,
    article: str = "",
    implementing: list[str] = (),
    status: str = "applicable",
) -> LegalRequirement:
    """Add a requirement to the legal register with the documents that implement it."""
    _guard(actor)
    if status not in LEGAL_STATUSES:
        raise ValidationFailed(_("Choose a status."), field="status")
    req = LegalRequirement(
        law=_text(law, "law", _("Name the law, regulation or standard."))[:300],
        article=(article or "").strip()[:100],
        requirement=_text(requirement, "requirement", _("Say what it requires.")),
        owner_id=_owner(owner).id,
        review_date=_review_date(review_date),
        status=status,
    )
    for code in _codes(list(implementing)):
        req.document_rows.append(LegalRequirementDocument(code=code))
    req.number = f"LR-{next_number('LR'):04d}"
    db.session.add(req)
    db.session.flush()
    trail.record(
        "legal.added",
        "legal_requirement",
        req.number,
        after={**_snapshot(req), "documents": req.documents},
        user=actor,
    )
    return req


def _snapshot(req: LegalRequirement) -> dict:
    return {
        "law": req.law,
        "article": req.article,
        "requirement": req.requirement,
        "status": req.status,
        "review_date": req.review_date.isoformat(),
    }


SUBSTANTIVE = ("law", "article", "requirement")


@transactional
def change_legal_requirement(
    actor: User, req: LegalRequirement, reason: str = "", **changes
) -> list[str]:
    """Change a requirement; return the change requests raised.

    ``changes`` may hold law, article, requirement, status, review_date, owner and
    documents (the implementing codes). When the law, article or requirement changes, a
    change request is raised on each implementing document, citing this requirement.
    """
    _guard(actor)
    before = {**_snapshot(req), "documents": req.documents}
    if "law" in changes:
        req.law = _text(changes["law"], "law", _("Name the law, regulation or standard."))[:300]
    if "article" in changes:
        req.article = (changes["article"] or "").strip()[:100]
    if "requirement" in changes:
        req.requirement = _text(changes["requirement"], "requirement", _("Say what it requires."))
    if "status" in changes:
        if changes["status"] not in LEGAL_STATUSES:
            raise ValidationFailed(_("Choose a status."), field="status")
        req.status = changes["status"]
    if "review_date" in changes:
        req.review_date = _review_date(changes["review_date"])
    if "owner" in changes:
        req.owner_id = _owner(changes["owner"]).id
    if "documents" in changes:
        codes = _codes(changes["documents"])
        # Keep the rows that stay: a new row for a code kept would clash with the old one.
        kept = [row for row in req.document_rows if row.code in codes]
        have = {row.code for row in kept}
        req.document_rows = kept + [
            LegalRequirementDocument(code=c) for c in codes if c not in have
        ]
    after = {**_snapshot(req), "documents": req.documents}
    if after == before:
        raise ValidationFailed(_("Nothing was changed."))
    raised: list[str] = []
    if any(before[k] != after[k] for k in SUBSTANTIVE):
        req.changed_at = utcnow()
        why = (reason or "").strip()
        for code in req.documents:
            cr = documents.raise_change_request(
                actor,
                _(
                    "%(number)s changed: %(law)s %(article)s",
                    number=req.number,
                    law=req.law,
                    article=req.article,
                )[:300],
                _(
                    "The legal requirement %(number)s that %(code)s implements has changed; "
                    "check the document against it. Now: %(text)s",
                    number=req.number,
                    code=code,
                    text=req.requirement,
                )
                + (f"\n\n{why}" if why else ""),
                [code],
                source_ref=req.number,
            )
            raised.append(cr.number)
    db.session.flush()
    trail.record(
        "legal.changed",
        "legal_requirement",
        req.number,
        before=before,
        after={**after, "change_requests": raised},
        user=actor,
    )
    return raised


def get_legal_requirement(number: str) -> LegalRequirement:
    req = db.session.scalar(select(LegalRequirement).where(LegalRequirement.number == number))
    if req is None:
        raise NotFound(_("There is no legal requirement %(number)s.", number=number))
    return req


def list_legal_requirements(status: str | None = None) -> list[LegalRequirement]:
    query = select(LegalRequirement).order_by(LegalRequirement.number)
    if status:
        query = query.where(LegalRequirement.status == status)
    return list(db.session.scalars(query))


# -- what changed since a date (management review input §9.3.2 b) -----------------------------


def _since(value: datetime | None, start: datetime, end: datetime | None) -> bool:
    return value is not None and aware(value) >= start and (end is None or aware(value) < end)


def changes_since(start: datetime, end: datetime | None = None) -> dict:
    """Return the issues and parties added and the legal requirements added or changed
    from ``start`` (and before ``end`` when given)."""
    legal = list_legal_requirements()
    return {
        "issues": [i for i in list_issues() if _since(i.created_at, start, end)],
        "parties": [p for p in list_parties() if _since(p.created_at, start, end)],
        "legal_added": [r for r in legal if _since(r.created_at, start, end)],
        "legal_changed": [r for r in legal if _since(r.changed_at, start, end)],
    }
