"""Audits' links to other domains: nonconformities and actions, records.

Those domains are reached only through their public services. Their service functions
join the caller's unit of work, so an NC raised from a finding, or a record it cites,
stands or falls with the finding.
"""

from __future__ import annotations

import contextlib
from datetime import date

from flask import has_request_context, url_for
from flask_babel import gettext as _

from qms.auth.models import User
from qms.errors import ServiceError, ValidationFailed
from qms.improvement import services as improvement
from qms.records import services as record_services


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
        return improvement.get_nc(number).state
    except ServiceError:
        return None


def nc_state_label(state: str | None) -> str:
    if state is None:
        return _("unknown")
    return improvement.nc_state_label(state)


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
    action = improvement.create_action(
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
    try:
        record_services.get_record(number)
    except ServiceError as exc:
        raise ValidationFailed(exc.message, field="records") from exc


def link_record(number: str, target_type: str, target_key: str, actor: User) -> None:
    """Tell the records domain that an audit cites this record as evidence."""
    record_services.link_record(number, target_type, target_key, actor)
