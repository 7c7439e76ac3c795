"""Lookups and input checks that every part of auditing shares."""

from __future__ import annotations

from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from qms.audits.models import Audit, AuditQuestion
from qms.auth.models import Department
from qms.documents import services as documents
from qms.errors import NotFound, ValidationFailed
from qms.extensions import db

MAX_TEXT = 20000


def get_audit(ref: str) -> Audit:
    """Return the audit ``ref`` (e.g. IA-2026-01) or raise :class:`NotFound`."""
    audit = db.session.scalar(select(Audit).where(Audit.ref == (ref or "").strip().upper()))
    if audit is None:
        raise NotFound(_("There is no audit %(ref)s.", ref=ref))
    return audit


def get_question(audit: Audit, seq: int | str) -> AuditQuestion:
    """Return question number ``seq`` of the audit's checklist or raise :class:`NotFound`."""
    try:
        number = int(seq)
    except (TypeError, ValueError):
        number = -1
    question = db.session.scalar(
        select(AuditQuestion).where(AuditQuestion.audit_id == audit.id, AuditQuestion.seq == number)
    )
    if question is None:
        raise NotFound(
            _("Audit %(ref)s has no question %(seq)s.", ref=audit.ref, seq=seq), field="question"
        )
    return question


def findings_raising(nc_number: str) -> list:
    """Return the checklist questions whose finding raised NC ``nc_number``, in audit order.

    By the question's indexed NC number: not by walking every audit's checklist.
    """
    return list(
        db.session.scalars(
            select(AuditQuestion)
            .join(Audit, Audit.id == AuditQuestion.audit_id)
            .where(AuditQuestion.nc_number == nc_number)
            .order_by(Audit.planned_start.desc(), Audit.ref.desc(), AuditQuestion.seq)
        )
    )


def list_audits(year: int | None = None, state: str | None = None, q: str | None = None):
    """Return a select() over audits, newest first, with the given filters."""
    stmt = select(Audit)
    if year:
        stmt = stmt.where(Audit.year == year)
    if state:
        stmt = stmt.where(Audit.state == state)
    if q:
        pattern = f"%{q.strip().lower()}%"
        stmt = stmt.where(
            or_(func.lower(Audit.ref).like(pattern), func.lower(Audit.title).like(pattern))
        )
    return stmt.order_by(Audit.planned_start.desc(), Audit.ref.desc())


def department_named(name: str, field_name: str = "departments") -> Department:
    dept = db.session.scalar(select(Department).where(Department.name == (name or "").strip()))
    if dept is None:
        raise ValidationFailed(_("There is no department %(name)s.", name=name), field=field_name)
    return dept


def clauses_of(values, field_name: str = "clauses") -> list[str]:
    """Return the valid ISO 9001 clause numbers among ``values`` or refuse beside the field."""
    try:
        return documents.validate_clauses(values or [])
    except ValidationFailed as exc:
        raise ValidationFailed(exc.message, field=field_name) from exc


def clean_text(value: str | None, limit: int = MAX_TEXT) -> str:
    return (value or "").strip()[:limit]


def lang() -> str:
    """Return the language of the request (or of the task) in progress."""
    return str(get_locale() or "en")
