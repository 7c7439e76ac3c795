"""An audit's life after planning: started, reported (the lead auditor signs), closed."""

from __future__ import annotations

import hashlib

from flask_babel import gettext as _

from qms import trail
from qms.audits import links
from qms.audits.checklist import unanswered
from qms.audits.common import clean_text, lang
from qms.audits.labels import state_label
from qms.audits.models import AUDIT_STATES, NC_RESULTS, Audit
from qms.audits.permissions import (
    CLOSE_STATES,
    REPORT_TEXT_STATES,
    SIGN_STATES,
    START_STATES,
    can_close,
    can_sign_report,
    can_start,
    can_write_report,
    require,
)
from qms.audits.planning import check_independence, pin_revision
from qms.audits.report import report_markdown
from qms.auth.models import User
from qms.auth.services import verify_password
from qms.errors import Conflict, PermissionDenied, ValidationFailed
from qms.models import utcnow
from qms.uow import transactional

# The NC states in which its action plan has been accepted by the quality office.
PLAN_ACCEPTED_STATES = ("implementation", "effectiveness_check", "closed", "rejected")
REPORT_LANGS = ("en", "zh_Hans", "zh_Hant")

# The move into each state: who may make it, and in which state it starts.
MOVES = {
    "in_progress": (can_start, START_STATES),
    "reported": (can_sign_report, SIGN_STATES),
    "closed": (can_close, CLOSE_STATES),
}


@transactional
def save_report_text(
    actor: User, audit: Audit, summary: str, strengths: str, distribution: str
) -> Audit:
    """Write the parts of the report the auditor composes: summary, strengths, distribution."""
    require(
        can_write_report(actor, audit),
        audit,
        REPORT_TEXT_STATES,
        _("Only the audit team of %(ref)s records its findings.", ref=audit.ref),
    )
    before = {"summary": audit.summary, "strengths": audit.strengths}
    audit.summary = clean_text(summary, "summary")
    audit.strengths = clean_text(strengths, "strengths")
    audit.distribution = clean_text(distribution, "distribution", 4000)
    trail.record(
        "audit.report_edited",
        "audit",
        audit.ref,
        before=before,
        after={"summary": audit.summary, "strengths": audit.strengths},
        user=actor,
    )
    return audit


def transitions_for(user: User, audit: Audit) -> list[str]:
    """Return the states ``user`` may move the audit to now (rules still checked on moving)."""
    return [to for to, (allowed, _states) in MOVES.items() if allowed(user, audit)]


def open_ncs(audit: Audit) -> list[tuple[str, str | None]]:
    """Return (number, state) of each NC of the audit whose plan is not accepted yet."""
    result = []
    for q in audit.questions:
        if q.nc_number:
            state = links.nc_state(q.nc_number)
            if state not in PLAN_ACCEPTED_STATES:
                result.append((q.nc_number, state))
    return result


@transactional
def transition(
    actor: User, audit: Audit, to: str, password: str | None = None, lang: str | None = None
) -> Audit:
    """Move the audit planned -> in progress -> reported -> closed, if ``actor`` may.

    Reporting is the lead auditor signing the report (password re-entered); closing needs
    every NC closed or its action plan accepted by the quality office.
    """
    if to not in AUDIT_STATES:
        raise ValidationFailed(
            _("Choose one of: %(states)s.", states=", ".join(AUDIT_STATES)), field="to"
        )
    order = list(AUDIT_STATES)
    if to not in MOVES or order.index(to) != order.index(audit.state) + 1:
        raise Conflict(
            _(
                "Audit %(ref)s is %(state)s; it cannot move to %(to)s from there.",
                ref=audit.ref,
                state=state_label(audit.state),
                to=state_label(to),
            ),
            field="to",
        )
    before = audit.state
    after: dict = {"state": to}
    if to == "in_progress":
        _start(actor, audit, after)
    elif to == "reported":
        _sign(actor, audit, password, lang, after)
    else:
        _close(actor, audit)
    audit.state = to
    trail.record(
        "audit.transition", "audit", audit.ref, before={"state": before}, after=after, user=actor
    )
    return audit


def _start(actor: User, audit: Audit, after: dict) -> None:
    require(
        can_start(actor, audit),
        audit,
        START_STATES,
        _("Only the audit team of %(ref)s records its findings.", ref=audit.ref),
    )
    # The criteria are the revisions in force when the audit is done.
    for row in audit.document_rows:
        pin_revision(row)
    # A revision released since planning may be the work of someone on the team.
    check_independence(
        audit.lead_auditor,
        audit.team,
        audit.departments,
        [row.document for row in audit.document_rows],
    )
    audit.started_at = utcnow()
    after["documents"] = [f"{r.document.code}/{r.revision}" for r in audit.document_rows]


def _sign(actor: User, audit: Audit, password: str | None, report_lang: str | None, after):
    require(
        can_sign_report(actor, audit),
        audit,
        SIGN_STATES,
        _("Only the lead auditor signs the audit report."),
    )
    missing = unanswered(audit)
    if missing:
        raise Conflict(
            _(
                "%(count)s questions have no result yet (mark them not audited if they "
                "were not): %(list)s.",
                count=len(missing),
                list=", ".join(str(q.seq) for q in missing[:20]),
            )
        )
    unraised = [q.seq for q in audit.questions if q.result in NC_RESULTS and not q.nc_number]
    if unraised:
        raise Conflict(
            _("Findings %(list)s have no NC raised yet.", list=", ".join(map(str, unraised)))
        )
    if not verify_password(actor, password or ""):
        raise PermissionDenied(
            _("The password is not correct; the report was not signed."), field="password"
        )
    audit.report_lang = report_lang if report_lang in REPORT_LANGS else lang()
    audit.report_signed_by_id = actor.id
    audit.report_signed_at = utcnow().replace(microsecond=0)
    audit.report_body = report_markdown(audit, audit.report_lang)
    audit.report_sha256 = hashlib.sha256(audit.report_body.encode("utf-8")).hexdigest()
    after.update(sha256=audit.report_sha256, lang=audit.report_lang)


def _close(actor: User, audit: Audit) -> None:
    require(
        can_close(actor, audit),
        audit,
        CLOSE_STATES,
        _("Only the lead auditor or the quality office closes an audit."),
    )
    pending = open_ncs(audit)
    if pending:
        raise Conflict(
            _(
                "Audit %(ref)s cannot close: these nonconformities are neither closed nor "
                "have an accepted action plan: %(list)s.",
                ref=audit.ref,
                list=", ".join(f"{n} ({links.nc_state_label(s)})" for n, s in pending),
            ),
            detail={"nonconformities": [n for n, _s in pending]},
        )
    audit.closed_at = utcnow()
