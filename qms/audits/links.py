"""Audits' links to other domains: nonconformities and actions, records.

Those domains are reached only through their public services, imported when first
needed. While one is not installed, what depends on it is refused with a clear reason
(and everything else about audits keeps working).
"""

from __future__ import annotations

import contextlib
from datetime import date

from flask import has_request_context, url_for
from flask_babel import gettext as _

from qms.auth.models import User
from qms.errors import ServiceError, ValidationFailed


def _improvement():
    try:
        from qms.improvement import services
    except ImportError as exc:
        raise ValidationFailed(
            _(
                "Nonconformities cannot be raised yet: the nonconformity module is not "
                "installed. Record the finding again once it is."
            ),
            field="result",
        ) from exc
    return services


def improvement_available() -> bool:
    try:
        _improvement()
    except ValidationFailed:
        return False
    return True


def _records():
    try:
        from qms.records import services
    except ImportError as exc:
        raise ValidationFailed(
            _("Records cannot be cited yet: the records module is not installed."),
            field="records",
        ) from exc
    return services


def raise_nc(
    actor: User,
    title: str,
    description: str,
    department: str,
    clause: str | None,
    severity: str,
    responsible: str | None,
    due_date: date | None,
    documents: list[str],
    records: list[str],
    audit_ref: str,
    question_seq: int,
) -> str:
    """Raise an internal-audit NC and return its number; it links back to the question."""
    improvement = _improvement()
    nc = improvement.raise_nc(
        actor,
        title=title,
        description=description,
        source="internal_audit",
        department=department,
        clause=clause,
        severity=severity,
        responsible=responsible,
        due_date=due_date,
        documents=documents,
        records=records,
    )
    if has_request_context():
        # The NC's evidence points back at the very question of the audit.
        url = url_for("audits.detail", ref=audit_ref, _external=True, _anchor=f"q{question_seq}")
        label = _("Audit %(ref)s, question %(seq)s", ref=audit_ref, seq=question_seq)
        # The link is a convenience; the NC's description already names the audit.
        with contextlib.suppress(ServiceError):
            improvement.add_link_evidence(actor, nc, url, label)
    return nc.number


def nc_state(number: str) -> str | None:
    """Return the state of NC ``number``, or None when it cannot be found."""
    try:
        return _improvement().get_nc(number).state
    except ServiceError:
        return None


def nc_state_label(state: str | None) -> str:
    if state is None:
        return _("unknown")
    try:
        return _improvement().nc_state_label(state)
    except ServiceError:
        return state


def create_action(
    actor: User,
    action_type: str,
    title: str,
    owner: str,
    due_date: date | None,
    description: str,
    origin_ref: str,
) -> str:
    """Create an action that comes from an audit and return its number."""
    action = _improvement().create_action(
        actor,
        action_type,
        title,
        owner,
        due_date,
        description=description,
        origin="audit",
        origin_ref=origin_ref,
    )
    return action.number


def check_record(number: str) -> None:
    """Refuse a record number the records domain does not know."""
    records = _records()
    try:
        records.get_record(number)
    except ServiceError as exc:
        raise ValidationFailed(exc.message, field="records") from exc


def link_record(number: str, target_type: str, target_key: str, actor: User) -> None:
    """Tell the records domain that an audit cites this record as evidence."""
    records = _records()
    linker = getattr(records, "link_record", None)
    if linker is not None:
        linker(number, target_type, target_key, actor)
