"""The rules of nonconformities and actions, used by both the pages and the API.

An NC moves reported -> containment -> analysis -> action_plan -> implementation ->
effectiveness_check -> closed, or is rejected as unfounded, or goes back to analysis
(reopened) when the check finds its actions not effective. The responsible person works
it; the quality office (users with the approver role) accepts the analysis and the plan
and closes it; whoever checks effectiveness did not carry out the actions.

Every public function that changes something owns its transaction: validate, write,
``trail.record``, commit. Assignment e-mails go out after the commit.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from qms import trail
from qms.auth.models import Department, User
from qms.database import next_number
from qms.errors import Conflict, NotFound, PermissionDenied, ServiceError, ValidationFailed
from qms.extensions import db
from qms.improvement.models import (
    ACTION_ORIGINS,
    ACTION_STATES,
    ACTION_TYPES,
    CAUSE_CATEGORIES,
    NC_STATES,
    OPEN_ACTION_STATES,
    OPEN_NC_STATES,
    SEVERITIES,
    SOURCES,
    Action,
    Evidence,
    NcDocument,
    Nonconformity,
)
from qms.models import utcnow

CLAUSE_RE = re.compile(r"^(?:[4-9]|10)(?:\.\d{1,2}){0,3}$")
QUALITY_OFFICE = "approver"
# Who may judge whether an action worked, besides the NC's responsible person.
CHECKER_ROLES = ("approver", "auditor")
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
MAX_WHYS = 5
# States in which the actions of an NC may still be planned.
PLANNING_STATES = ("reported", "containment", "analysis", "action_plan")


# -- lookups ---------------------------------------------------------------------------


def get_nc(number: str) -> Nonconformity:
    """Return the nonconformity ``number`` or raise :class:`NotFound`."""
    nc = db.session.scalar(select(Nonconformity).where(Nonconformity.number == number))
    if nc is None:
        raise NotFound(_("There is no nonconformity %(number)s.", number=number))
    return nc


def get_action(key: str | int) -> Action:
    """Return the action by id or number (ACT-2026-0001), or raise :class:`NotFound`."""
    key = str(key).strip()
    stmt = select(Action).where(Action.id == int(key) if key.isdigit() else Action.number == key)
    action = db.session.scalar(stmt)
    if action is None:
        raise NotFound(_("There is no action %(key)s.", key=key))
    return action


def user_by_username(username: str | None, field_name: str) -> User | None:
    """Return the active user called ``username`` (None for blank), or refuse naming the field."""
    username = (username or "").strip()
    if not username:
        return None
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None or not user.active:
        raise ValidationFailed(_("There is no user %(name)s.", name=username), field=field_name)
    return user


def _department(name: str | None, default: Department) -> Department:
    name = (name or "").strip()
    if not name:
        return default
    dept = db.session.scalar(select(Department).where(Department.name == name))
    if dept is None:
        raise ValidationFailed(_("There is no department %(name)s.", name=name), field="department")
    return dept


# -- labels ----------------------------------------------------------------------------


def source_label(source: str) -> str:
    return {
        "internal_audit": _("internal audit"),
        "external_audit": _("external audit"),
        "customer_complaint": _("customer complaint"),
        "process_monitoring": _("process monitoring"),
        "staff_report": _("staff report"),
        "management_review": _("management review"),
        "supplier": _("supplier"),
    }.get(source, source)


def severity_label(severity: str) -> str:
    return {"major": _("major"), "minor": _("minor")}.get(severity, severity)


def nc_state_label(state: str) -> str:
    return {
        "reported": _("reported"),
        "containment": _("containment"),
        "analysis": _("root-cause analysis"),
        "action_plan": _("action plan"),
        "implementation": _("implementation"),
        "effectiveness_check": _("effectiveness check"),
        "closed": _("closed"),
        "rejected": _("rejected"),
    }.get(state, state)


def category_label(category: str) -> str:
    return {
        "people": _("people"),
        "method": _("method"),
        "equipment": _("equipment"),
        "material": _("material"),
        "environment": _("environment"),
        "measurement": _("measurement"),
    }.get(category, category)


def action_type_label(action_type: str) -> str:
    return {
        "correction": _("correction"),
        "corrective": _("corrective action"),
        "preventive": _("preventive action"),
        "improvement": _("improvement"),
    }.get(action_type, action_type)


def action_state_label(state: str) -> str:
    return {
        "planned": _("planned"),
        "in_progress": _("in progress"),
        "done": _("done"),
        "verified_effective": _("verified effective"),
        "not_effective": _("not effective"),
    }.get(state, state)


def origin_label(origin: str) -> str:
    return {
        "nonconformity": _("nonconformity"),
        "risk": _("risk"),
        "trend": _("worrying trend"),
        "management_review": _("management review"),
        "suggestion": _("suggestion"),
        "audit": _("audit"),
    }.get(origin, origin)


# -- validation ------------------------------------------------------------------------


def _text(value: str | None, field_name: str, message: str, limit: int | None = None) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationFailed(message, field=field_name)
    if limit and len(value) > limit:
        raise ValidationFailed(_("At most %(n)d characters, please.", n=limit), field=field_name)
    return value


def validate_clause(clause: str | None) -> str | None:
    clause = (clause or "").strip()
    if not clause:
        return None
    if not CLAUSE_RE.match(clause):
        raise ValidationFailed(
            _("%(clause)s is not an ISO 9001:2015 clause (4 to 10.3).", clause=clause),
            field="clause",
        )
    return clause


def _choice(value: str | None, allowed: Iterable[str], field_name: str) -> str:
    allowed = tuple(allowed)
    if value not in allowed:
        raise ValidationFailed(
            _("Choose one of: %(choices)s.", choices=", ".join(allowed)), field=field_name
        )
    return value


def _due(value: date | None, field_name: str = "due_date", required: bool = False):
    if value is None:
        if required:
            raise ValidationFailed(_("A due date is required."), field=field_name)
        return None
    if not isinstance(value, date):
        raise ValidationFailed(_("Give a date as YYYY-MM-DD."), field=field_name)
    if value < date.today():
        raise ValidationFailed(_("The due date cannot be in the past."), field=field_name)
    return value


def _pin_document(code: str) -> NcDocument:
    """Return a link to document ``code`` pinned to the revision in force today."""
    from qms.documents.services import effective_revision, get_document

    try:
        doc = get_document(code.strip())
    except NotFound as exc:
        raise ValidationFailed(exc.message, field="documents") from exc
    rev = effective_revision(doc)
    return NcDocument(code=doc.code, revision=rev.label if rev else None)


def _records_services():
    """Return the records domain's services, or refuse while that domain is not installed."""
    try:
        from qms.records import services as records
    except ImportError as exc:
        raise ValidationFailed(
            _("Records cannot be linked yet: the records module is not installed."),
            field="records",
        ) from exc
    return records


def _check_record(number: str) -> str:
    records = _records_services()
    try:
        record = records.get_record(number)
    except ServiceError as exc:
        raise ValidationFailed(exc.message, field="records") from exc
    return getattr(record, "number", number)


# -- raising and assigning -------------------------------------------------------------


def raise_nc(
    actor: User,
    title: str,
    description: str,
    source: str,
    department: str | None = None,
    clause: str | None = None,
    severity: str | None = None,
    responsible: str | None = None,
    due_date: date | None = None,
    documents: Iterable[str] = (),
    records: Iterable[str] = (),
) -> Nonconformity:
    """Raise a nonconformity; anyone may. Records and documents become its evidence."""
    title = _text(title, "title", _("A title is required."), 300)
    description = _text(description, "description", _("Describe what was found."))
    source = _choice(source, SOURCES, "source")
    severity = _choice(severity or "minor", SEVERITIES, "severity")
    dept = _department(department, actor.department)
    clause = validate_clause(clause)
    owner = user_by_username(responsible, "responsible")
    due_date = _due(due_date)
    pinned, seen = [], set()
    for code in documents:
        if code and code.strip() and code.strip() not in seen:
            seen.add(code.strip())
            pinned.append(_pin_document(code))
    record_numbers = [r.strip() for r in records if r and r.strip()]
    record_numbers = [_check_record(r) for r in dict.fromkeys(record_numbers)]
    year = date.today().year
    number = f"NC-{year}-{next_number(f'NC-{year}'):04d}"
    nc = Nonconformity(
        number=number,
        title=title,
        description=description,
        source=source,
        severity=severity,
        department=dept,
        clause=clause,
        raised_by_id=actor.id,
        responsible=owner,
        due_date=due_date,
        documents=pinned,
    )
    db.session.add(nc)
    db.session.flush()
    trail.record(
        "nc.raised",
        "nonconformity",
        number,
        after={
            "title": title,
            "source": source,
            "severity": severity,
            "department": dept.name,
            "clause": clause,
            "responsible": owner.username if owner else None,
            "due_date": due_date,
            "documents": [f"{d.code}/{d.revision or '-'}" for d in pinned],
        },
        user=actor,
    )
    for record_number in record_numbers:
        _add_record(actor, nc, record_number)
    db.session.commit()
    if owner is not None:
        _notify_assignment(owner, nc)
    return nc


def assign(
    actor: User, nc: Nonconformity, responsible: str | None, due_date: date | None
) -> Nonconformity:
    """Name the responsible person and due date; the quality office decides who works an NC."""
    _require_quality_office(actor, _("Only the quality office assigns a nonconformity."))
    _require_open(nc)
    owner = user_by_username(responsible, "responsible")
    if owner is None:
        raise ValidationFailed(_("Name the responsible person."), field="responsible")
    if due_date != nc.due_date:
        due_date = _due(due_date)
    before = {
        "responsible": nc.responsible.username if nc.responsible else None,
        "due_date": nc.due_date,
    }
    changed = owner.id != nc.responsible_id
    nc.responsible = owner
    nc.due_date = due_date
    trail.record(
        "nc.assigned",
        "nonconformity",
        nc.number,
        before=before,
        after={"responsible": owner.username, "due_date": due_date},
        user=actor,
    )
    db.session.commit()
    if changed:
        _notify_assignment(owner, nc)
    return nc


def add_document(actor: User, nc: Nonconformity, code: str) -> NcDocument:
    """Name a document concerned, pinned to its revision in force now."""
    _require_open(nc)
    link = _pin_document(code or "")
    if link.code in nc.document_codes:
        raise Conflict(_("%(code)s is already named.", code=link.code), field="documents")
    nc.documents.append(link)
    trail.record(
        "nc.document_added",
        "nonconformity",
        nc.number,
        after={"document": link.code, "revision": link.revision},
        user=actor,
    )
    db.session.commit()
    return link


def _add_record(actor: User, nc: Nonconformity, number: str) -> Evidence:
    """Link a filled record as evidence, inside the caller's transaction."""
    records = _records_services()
    if any(e.record_number == number for e in nc.evidence):
        raise Conflict(_("Record %(number)s is already linked.", number=number), field="records")
    evidence = Evidence(
        nonconformity_id=nc.id, kind="record", record_number=number, added_by_id=actor.id
    )
    db.session.add(evidence)
    nc.evidence.append(evidence)
    trail.record(
        "nc.evidence_added", "nonconformity", nc.number, after={"record": number}, user=actor
    )
    # The link joins this transaction: the NC and its evidence stand or fall together.
    records.link_record(number, "nonconformity", nc.number, actor, commit=False)
    return evidence


def add_record_evidence(actor: User, nc: Nonconformity, number: str) -> Evidence:
    """Link the filled record ``number`` to the NC as evidence."""
    _require_open(nc)
    number = _text(number, "records", _("Give the record number."), 40)
    evidence = _add_record(actor, nc, _check_record(number))
    db.session.commit()
    return evidence


def add_link_evidence(actor: User, nc: Nonconformity, url: str, note: str = "") -> Evidence:
    """Add a web link (http or https) as evidence."""
    _require_open(nc)
    url = _text(url, "url", _("Give the address."), 500)
    if not re.match(r"^https?://[^\s/$.?#].[^\s]*$", url, re.IGNORECASE):
        raise ValidationFailed(_("Only http:// and https:// addresses are accepted."), field="url")
    evidence = Evidence(
        kind="link", url=url, note=(note or "").strip()[:300] or None, added_by_id=actor.id
    )
    nc.evidence.append(evidence)
    trail.record("nc.evidence_added", "nonconformity", nc.number, after={"link": url}, user=actor)
    db.session.commit()
    return evidence


def attachments_dir() -> Path:
    return Path(current_app.config["QMS_INSTANCE"]) / "attachments"


def add_attachment(
    actor: User, nc: Nonconformity, filename: str, data: bytes, content_type: str | None
) -> Evidence:
    """Store an uploaded file as evidence; files are kept by content hash in the instance."""
    _require_open(nc)
    name = Path((filename or "").replace("\\", "/")).name.strip()
    if not name or not data:
        raise ValidationFailed(_("Choose a file to upload."), field="file")
    if len(data) > MAX_ATTACHMENT_BYTES:
        raise ValidationFailed(
            _("The file is larger than %(mb)d MB.", mb=MAX_ATTACHMENT_BYTES // 2**20), field="file"
        )
    digest = hashlib.sha256(data).hexdigest()
    folder = attachments_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / digest
    if not path.exists():
        tmp = folder / f".{digest}.tmp"
        tmp.write_bytes(data)
        tmp.replace(path)
    evidence = Evidence(
        kind="attachment",
        filename=name[:200],
        content_type=(content_type or "application/octet-stream")[:100],
        size=len(data),
        sha256=digest,
        added_by_id=actor.id,
    )
    nc.evidence.append(evidence)
    trail.record(
        "nc.evidence_added",
        "nonconformity",
        nc.number,
        after={"file": name, "sha256": digest, "size": len(data)},
        user=actor,
    )
    db.session.commit()
    return evidence


def attachment_path(evidence: Evidence) -> Path:
    return attachments_dir() / evidence.sha256


# -- the NC workflow -------------------------------------------------------------------


def _require_quality_office(actor: User, message: str) -> None:
    if not actor.has_role(QUALITY_OFFICE):
        raise PermissionDenied(message)


def _require_responsible(actor: User, nc: Nonconformity) -> None:
    if nc.responsible_id is None:
        raise Conflict(
            _(
                "No one is responsible for %(number)s yet: the quality office assigns it first.",
                number=nc.number,
            ),
            field="responsible",
        )
    if actor.id != nc.responsible_id:
        raise PermissionDenied(
            _(
                "Only the person responsible for %(number)s (%(name)s) works this step.",
                number=nc.number,
                name=nc.responsible.display_name,
            )
        )


def _require_open(nc: Nonconformity) -> None:
    if not nc.is_open:
        raise Conflict(
            _(
                "%(number)s is %(state)s; it can no longer change.",
                number=nc.number,
                state=nc_state_label(nc.state),
            )
        )


def analysis_gaps(nc: Nonconformity) -> list[str]:
    """Return what the root-cause analysis still lacks (empty when complete)."""
    gaps = []
    if not [w for w in nc.whys or [] if w]:
        gaps.append(_("the 5-whys chain"))
    if nc.cause_category not in CAUSE_CATEGORIES:
        gaps.append(_("the cause category"))
    if not (nc.root_cause or "").strip():
        gaps.append(_("the root cause"))
    return gaps


def doers(nc: Nonconformity) -> set[int]:
    """Return the ids of everyone who carried out one of the NC's actions."""
    return {a.done_by_id for a in nc.actions if a.done_by_id} | {
        a.owner_id for a in nc.actions if a.state != "planned"
    }


# Which target state may follow which, and who moves it: "responsible" or "office".
TRANSITIONS: dict[tuple[str, str], str] = {
    ("reported", "containment"): "responsible",
    ("containment", "analysis"): "responsible",
    ("analysis", "action_plan"): "office",
    ("action_plan", "implementation"): "office",
    ("implementation", "effectiveness_check"): "responsible",
    ("effectiveness_check", "closed"): "checker",
    ("effectiveness_check", "analysis"): "checker",
    ("reported", "rejected"): "office",
    ("containment", "rejected"): "office",
    ("analysis", "rejected"): "office",
}


def record_analysis(
    actor: User, nc: Nonconformity, whys: list[str], category: str, root_cause: str
) -> Nonconformity:
    """Write the root-cause analysis (5 whys, category, text); the responsible person does."""
    if nc.state != "analysis":
        raise Conflict(
            _(
                "The root cause is analysed in the analysis step; %(number)s is %(state)s.",
                number=nc.number,
                state=nc_state_label(nc.state),
            )
        )
    _require_responsible(actor, nc)
    chain = [w.strip() for w in whys or [] if w and w.strip()]
    if not chain:
        raise ValidationFailed(_("Answer at least the first why."), field="whys")
    if len(chain) > MAX_WHYS:
        raise ValidationFailed(_("Five whys at most."), field="whys")
    category = _choice(category, CAUSE_CATEGORIES, "cause_category")
    root_cause = _text(root_cause, "root_cause", _("State the root cause."))
    before = {"whys": nc.whys, "category": nc.cause_category, "root_cause": nc.root_cause}
    nc.whys = chain
    nc.cause_category = category
    nc.root_cause = root_cause
    trail.record(
        "nc.analysed",
        "nonconformity",
        nc.number,
        before=before,
        after={"whys": chain, "category": category, "root_cause": root_cause},
        user=actor,
    )
    db.session.commit()
    return nc


def can_transition(user: User, nc: Nonconformity, to: str) -> bool:
    """Return whether ``user`` may attempt this move (the step's own checks may still refuse)."""
    who = TRANSITIONS.get((nc.state, to))
    if who == "responsible":
        return user.id == nc.responsible_id
    if who == "office":
        return user.has_role(QUALITY_OFFICE)
    if who == "checker":
        return user.has_role(QUALITY_OFFICE) and user.id not in doers(nc)
    return False


def allowed_transitions(user: User, nc: Nonconformity) -> list[str]:
    """Return the states ``user`` may move the NC to from where it is."""
    return [to for (frm, to) in TRANSITIONS if frm == nc.state and can_transition(user, nc, to)]


def transition(actor: User, nc: Nonconformity, to: str, **fields) -> Nonconformity:
    """Move the NC to state ``to`` with what that step needs, if ``actor`` may.

    Fields by step: containment -> analysis needs ``containment`` (what was done at once)
    and takes ``containment_by`` (username) and ``containment_on``; closing needs
    ``result``; reopening (effectiveness_check -> analysis) and rejecting need ``reason``.
    """
    if to not in NC_STATES:
        raise ValidationFailed(
            _("Choose one of: %(choices)s.", choices=", ".join(NC_STATES)), field="to"
        )
    who = TRANSITIONS.get((nc.state, to))
    if who is None:
        raise Conflict(
            _(
                "%(number)s is %(state)s; it cannot move to %(to)s from there.",
                number=nc.number,
                state=nc_state_label(nc.state),
                to=nc_state_label(to),
            ),
            field="to",
        )
    if who == "responsible":
        _require_responsible(actor, nc)
    elif who == "office":
        _require_quality_office(
            actor,
            {
                "action_plan": _("Only the quality office (an approver) accepts the analysis."),
                "implementation": _("Only the quality office (an approver) accepts the plan."),
                "rejected": _("Only the quality office (an approver) rejects a nonconformity."),
            }[to],
        )
    else:
        _require_quality_office(
            actor, _("Only the quality office (an approver) judges effectiveness.")
        )
        if actor.id in doers(nc):
            raise PermissionDenied(
                _(
                    "You carried out actions of %(number)s; someone else must check them.",
                    number=nc.number,
                )
            )
    before = {"state": nc.state}
    after: dict = {"state": to}
    step = getattr(_Steps, f"{nc.state}__{to}", None)
    if step is not None:
        after.update(step(actor, nc, fields) or {})
    reopened = nc.state == "effectiveness_check" and to == "analysis"
    nc.state = to
    trail.record(
        "nc.reopened" if reopened else "nc.transition",
        "nonconformity",
        nc.number,
        before=before,
        after=after,
        user=actor,
    )
    db.session.commit()
    return nc


class _Steps:
    """What each move checks and records beyond who makes it; returns trail details."""

    @staticmethod
    def reported__containment(actor, nc, fields):
        if (fields.get("containment") or "").strip():
            nc.containment = fields["containment"].strip()

    @staticmethod
    def containment__analysis(actor, nc, fields):
        text = (fields.get("containment") or nc.containment or "").strip()
        if not text:
            raise ValidationFailed(
                _("Record what was done at once to contain the problem."), field="containment"
            )
        by = user_by_username(fields.get("containment_by"), "containment_by") or actor
        on = fields.get("containment_on") or date.today()
        if on > date.today():
            raise ValidationFailed(
                _("Containment cannot be dated in the future."), field="containment_on"
            )
        nc.containment, nc.containment_by, nc.containment_on = text, by, on
        return {"containment": text, "by": by.username, "on": on}

    @staticmethod
    def analysis__action_plan(actor, nc, fields):
        gaps = analysis_gaps(nc)
        if gaps:
            raise Conflict(
                _("The root-cause analysis is missing %(gaps)s.", gaps=", ".join(gaps)),
                field="analysis",
            )
        if actor.id == nc.responsible_id:
            raise PermissionDenied(
                _("You wrote this analysis; another member of the quality office accepts it.")
            )
        nc.analysis_accepted_by_id = actor.id
        nc.analysis_accepted_at = utcnow()
        return {"comment": (fields.get("comment") or "").strip() or None}

    @staticmethod
    def action_plan__implementation(actor, nc, fields):
        if actor.id == nc.responsible_id:
            raise PermissionDenied(
                _("You made this plan; another member of the quality office accepts it.")
            )
        if not nc.actions:
            raise Conflict(_("The plan has no action yet."), field="actions")
        missing = [
            a.number
            for a in nc.actions
            if a.action_type in ("corrective", "preventive")
            and not (a.effectiveness_criteria or "").strip()
        ]
        if missing:
            raise Conflict(
                _(
                    "Give the effectiveness criteria of %(actions)s before the plan is accepted.",
                    actions=", ".join(missing),
                ),
                field="actions",
            )
        nc.plan_accepted_by_id = actor.id
        nc.plan_accepted_at = utcnow()
        return {"actions": [a.number for a in nc.actions]}

    @staticmethod
    def implementation__effectiveness_check(actor, nc, fields):
        unfinished = [a.number for a in nc.actions if a.state in OPEN_ACTION_STATES]
        if unfinished:
            raise Conflict(
                _("Actions not finished yet: %(actions)s.", actions=", ".join(unfinished)),
                field="actions",
            )

    @staticmethod
    def effectiveness_check__closed(actor, nc, fields):
        pending = [a.number for a in nc.actions if a.state != "verified_effective"]
        if pending:
            raise Conflict(
                _(
                    "Every action must be finished and verified effective first: %(actions)s.",
                    actions=", ".join(pending),
                ),
                field="actions",
            )
        result = _text(
            fields.get("result"), "result", _("Record the result of the effectiveness check.")
        )
        nc.check_result, nc.checked_by_id, nc.closed_at = result, actor.id, utcnow()
        return {"result": result}

    @staticmethod
    def effectiveness_check__analysis(actor, nc, fields):
        if not any(a.state == "not_effective" for a in nc.actions):
            raise Conflict(
                _("Reopening needs an action found not effective; record that check first."),
                field="actions",
            )
        reason = _text(fields.get("reason"), "reason", _("Give the reason for reopening."))
        nc.reopen_count += 1
        nc.analysis_accepted_by_id = nc.plan_accepted_by_id = None
        nc.analysis_accepted_at = nc.plan_accepted_at = None
        return {"reason": reason, "reopened": nc.reopen_count}

    @staticmethod
    def _reject(actor, nc, fields):
        reason = _text(
            fields.get("reason"), "reason", _("Give the reason the report is unfounded.")
        )
        nc.rejection_reason = reason
        return {"reason": reason}

    reported__rejected = containment__rejected = analysis__rejected = _reject


# -- actions ---------------------------------------------------------------------------


def create_action(
    actor: User,
    action_type: str,
    title: str,
    owner: str | None,
    due_date: date | None,
    nonconformity: str | None = None,
    description: str = "",
    effectiveness_criteria: str | None = None,
    check_date: date | None = None,
    origin: str | None = None,
    origin_ref: str | None = None,
) -> Action:
    """Plan an action, for an NC (its responsible person or the quality office) or on its own.

    An action without an NC comes from a risk, a trend, a review, an audit or a suggestion,
    and anyone may propose one.
    """
    action_type = _choice(action_type, ACTION_TYPES, "type")
    title = _text(title, "title", _("A title is required."), 300)
    owner_user = user_by_username(owner, "owner")
    if owner_user is None:
        raise ValidationFailed(_("Name the owner of the action."), field="owner")
    due_date = _due(due_date, required=True)
    nc = None
    if nonconformity:
        nc = get_nc(nonconformity.strip())
        if nc.state not in PLANNING_STATES:
            raise Conflict(
                _(
                    "%(number)s is %(state)s: actions are planned before the plan is accepted.",
                    number=nc.number,
                    state=nc_state_label(nc.state),
                ),
                field="nonconformity",
            )
        if actor.id != nc.responsible_id and not actor.has_role(QUALITY_OFFICE):
            raise PermissionDenied(
                _(
                    "Only the person responsible for %(number)s or the quality office plans "
                    "its actions.",
                    number=nc.number,
                )
            )
        origin = "nonconformity"
    else:
        if action_type == "correction":
            raise ValidationFailed(
                _("A correction corrects a nonconformity: name it."), field="nonconformity"
            )
        origin = _choice(origin or "suggestion", ACTION_ORIGINS[1:], "origin")
    if check_date is not None and check_date < due_date:
        raise ValidationFailed(
            _("Effectiveness is checked after the due date."), field="check_date"
        )
    year = date.today().year
    action = Action(
        number=f"ACT-{year}-{next_number(f'ACT-{year}'):04d}",
        nonconformity=nc,
        action_type=action_type,
        origin=origin,
        origin_ref=(origin_ref or "").strip()[:120] or None,
        title=title,
        description=(description or "").strip(),
        owner=owner_user,
        due_date=due_date,
        effectiveness_criteria=(effectiveness_criteria or "").strip() or None,
        check_date=check_date,
        created_by_id=actor.id,
    )
    db.session.add(action)
    db.session.flush()
    details = {
        "type": action_type,
        "title": title,
        "owner": owner_user.username,
        "due_date": due_date,
        "nonconformity": nc.number if nc else None,
        "origin": origin,
    }
    trail.record("action.created", "action", action.number, after=details, user=actor)
    if nc is not None:
        trail.record(
            "nc.action_added",
            "nonconformity",
            nc.number,
            after={"action": action.number},
            user=actor,
        )
    db.session.commit()
    _notify_assignment(owner_user, action)
    return action


def update_action_plan(
    actor: User, action: Action, effectiveness_criteria: str | None, check_date: date | None
) -> Action:
    """Set how and when effectiveness will be judged, while the action is not yet checked."""
    _require_planner(actor, action)
    if action.state not in ("planned", "in_progress"):
        raise Conflict(
            _(
                "The action is %(state)s; its plan is settled.",
                state=action_state_label(action.state),
            )
        )
    if check_date is not None and check_date < action.due_date:
        raise ValidationFailed(
            _("Effectiveness is checked after the due date."), field="check_date"
        )
    before = {"criteria": action.effectiveness_criteria, "check_date": action.check_date}
    action.effectiveness_criteria = (effectiveness_criteria or "").strip() or None
    action.check_date = check_date
    trail.record(
        "action.plan_updated",
        "action",
        action.number,
        before=before,
        after={"criteria": action.effectiveness_criteria, "check_date": check_date},
        user=actor,
    )
    db.session.commit()
    return action


def _require_planner(actor: User, action: Action) -> None:
    nc = action.nonconformity
    allowed = actor.id == action.owner_id or actor.has_role(QUALITY_OFFICE)
    if nc is not None:
        allowed = allowed or actor.id == nc.responsible_id
    if not allowed:
        raise PermissionDenied(
            _("Only the owner, the person responsible or the quality office changes this action.")
        )


ACTION_TRANSITIONS: dict[tuple[str, str], str] = {
    ("planned", "in_progress"): "owner",
    ("not_effective", "in_progress"): "owner",
    ("planned", "done"): "owner",
    ("in_progress", "done"): "owner",
    ("done", "verified_effective"): "checker",
    ("done", "not_effective"): "checker",
}


def can_check(user: User, action: Action) -> bool:
    """Return whether ``user`` may judge the action: not its doer, and of the quality system."""
    if user.id in (action.done_by_id, action.owner_id):
        return False
    nc = action.nonconformity
    return user.has_role(*CHECKER_ROLES) or (nc is not None and user.id == nc.responsible_id)


def allowed_action_transitions(user: User, action: Action) -> list[str]:
    out = []
    for (frm, to), who in ACTION_TRANSITIONS.items():
        if frm != action.state:
            continue
        if (who == "owner" and user.id == action.owner_id) or (
            who == "checker" and can_check(user, action)
        ):
            out.append(to)
    return out


def action_transition(
    actor: User, action: Action, to: str, note: str | None = None, result: str | None = None
) -> Action:
    """Move an action on: its owner works it, someone other than the doer checks it.

    ``done`` needs ``note`` (what was done) and, when the action asked for a document
    change, the release of the revision implementing it; a check needs ``result``.
    """
    if to not in ACTION_STATES:
        raise ValidationFailed(
            _("Choose one of: %(choices)s.", choices=", ".join(ACTION_STATES)), field="to"
        )
    who = ACTION_TRANSITIONS.get((action.state, to))
    if who is None:
        raise Conflict(
            _(
                "%(number)s is %(state)s; it cannot move to %(to)s from there.",
                number=action.number,
                state=action_state_label(action.state),
                to=action_state_label(to),
            ),
            field="to",
        )
    if who == "owner" and actor.id != action.owner_id:
        raise PermissionDenied(
            _(
                "Only the owner of %(number)s (%(name)s) works it.",
                number=action.number,
                name=action.owner.display_name,
            )
        )
    after: dict = {"state": to}
    nc = action.nonconformity
    # A correction may be made at once; other actions wait until the plan is accepted.
    plan_pending = nc is not None and nc.state not in ("implementation", "effectiveness_check")
    if to in ("in_progress", "done") and plan_pending and action.action_type != "correction":
        raise Conflict(
            _(
                "The plan of %(number)s is not accepted yet; the action cannot start.",
                number=nc.number,
            )
        )
    if to == "done":
        note = _text(note, "note", _("Say what was done."))
        if action.change_request:
            release = action_release(action)
            if release is None:
                raise Conflict(
                    _(
                        "Change request %(cr)s is not implemented yet: no revision made for it "
                        "has been released.",
                        cr=action.change_request,
                    ),
                    field="change_request",
                )
            action.released_document = release.code
            action.released_revision = release.revision
            action.released_commit = release.commit
            action.released_on = release.effective_date
            after["release"] = f"{release.code}/{release.revision} {release.commit}"
        action.done_note, action.done_by_id, action.done_at = note, actor.id, utcnow()
        after["note"] = note
    if who == "checker":
        if actor.id in (action.done_by_id, action.owner_id):
            raise PermissionDenied(
                _(
                    "You carried out %(number)s; someone else must check its effectiveness.",
                    number=action.number,
                )
            )
        if not can_check(actor, action):
            raise PermissionDenied(
                _(
                    "Effectiveness is checked by the quality office, an auditor or the person "
                    "responsible for the nonconformity."
                )
            )
        result = _text(result, "result", _("Record the result of the check."))
        action.check_result, action.checked_by_id, action.checked_at = result, actor.id, utcnow()
        after["result"] = result
    if to == "in_progress" and action.state == "not_effective":
        action.done_by_id = action.done_at = None
    before = {"state": action.state}
    action.state = to
    trail.record(
        "action.transition", "action", action.number, before=before, after=after, user=actor
    )
    db.session.commit()
    return action


# -- document changes from actions ---------------------------------------------------


@dataclass
class Release:
    """A released revision implementing an action's change request."""

    code: str
    revision: str
    commit: str
    effective_date: date | None
    status: str
    previous: str | None
    summary: str = ""
    words_added: int | None = None
    words_removed: int | None = None


def request_document_change(actor: User, action: Action, documents: list[str], reason: str) -> str:
    """Raise a document change request for this action; returns its number."""
    from qms.documents import services as documents_services

    _require_planner(actor, action)
    if action.state not in ("planned", "in_progress"):
        raise Conflict(_("Only a planned or running action asks for a document change."))
    if action.change_request:
        raise Conflict(
            _(
                "%(number)s already asked for change request %(cr)s.",
                number=action.number,
                cr=action.change_request,
            )
        )
    reason = _text(reason, "reason", _("Give the reason for the change."))
    codes = [c.strip() for c in documents if c and c.strip()]
    cr = documents_services.raise_change_request(
        actor, f"{action.number}: {action.title}"[:300], reason, codes, source_ref=action.number
    )
    # raise_change_request committed the request; link it to the action in a second step.
    action.change_request = cr.number
    trail.record(
        "action.change_requested",
        "action",
        action.number,
        after={"change_request": cr.number, "documents": codes},
        user=actor,
    )
    db.session.commit()
    return cr.number


def action_release(action: Action, with_redline: bool = False) -> Release | None:
    """Return the released revision implementing the action's change request, if any."""
    if not action.change_request:
        return None
    from qms.documents import services as documents_services

    for rev in documents_services.revisions_for_change_request(action.change_request):
        if rev.status not in ("effective", "superseded", "obsolete") or not rev.release_commit:
            continue
        doc = rev.document
        earlier = [r for r in doc.revisions if r.id < rev.id and r.release_commit is not None]
        previous = earlier[-1].label if earlier else None
        release = Release(
            code=doc.code,
            revision=rev.label,
            commit=rev.release_commit,
            effective_date=rev.effective_date,
            status=rev.status,
            previous=previous,
            summary=rev.summary,
        )
        if with_redline and previous:
            from qms.documents.redline import redline

            old = documents_services.get_revision(doc, previous)
            result = redline(
                documents_services.revision_content(old), documents_services.revision_content(rev)
            )
            release.words_added, release.words_removed = result.words_added, result.words_removed
        return release
    return None


# -- lists, aging, recurrence, to-do ---------------------------------------------------


@dataclass
class NcFilters:
    state: str | None = None
    source: str | None = None
    department_id: int | None = None
    severity: str | None = None
    clause: str | None = None
    overdue: bool = False
    open_only: bool = False
    responsible_id: int | None = None
    q: str | None = None


def list_ncs(filters: NcFilters | None = None, sort: str = "-raised_at"):
    """Return a select() over nonconformities with the given filters, for listing or paging."""
    f = filters or NcFilters()
    stmt = select(Nonconformity)
    if f.state:
        stmt = stmt.where(Nonconformity.state == f.state)
    if f.open_only:
        stmt = stmt.where(Nonconformity.state.in_(OPEN_NC_STATES))
    if f.source:
        stmt = stmt.where(Nonconformity.source == f.source)
    if f.department_id:
        stmt = stmt.where(Nonconformity.department_id == f.department_id)
    if f.severity:
        stmt = stmt.where(Nonconformity.severity == f.severity)
    if f.clause:
        # "8.5" matches NCs against 8.5 and any of its sub-clauses.
        stmt = stmt.where(
            or_(Nonconformity.clause == f.clause, Nonconformity.clause.like(f"{f.clause}.%"))
        )
    if f.overdue:
        stmt = stmt.where(
            Nonconformity.state.in_(OPEN_NC_STATES), Nonconformity.due_date < date.today()
        )
    if f.responsible_id:
        stmt = stmt.where(Nonconformity.responsible_id == f.responsible_id)
    if f.q:
        pattern = f"%{f.q.strip().lower()}%"
        stmt = stmt.where(
            or_(
                func.lower(Nonconformity.number).like(pattern),
                func.lower(Nonconformity.title).like(pattern),
            )
        )
    order = {
        "raised_at": Nonconformity.raised_at,
        "number": Nonconformity.number,
        "due_date": Nonconformity.due_date,
        "state": Nonconformity.state,
        "severity": Nonconformity.severity,
    }.get(sort.lstrip("-"), Nonconformity.raised_at)
    return stmt.order_by(order.desc() if sort.startswith("-") else order, Nonconformity.id)


@dataclass
class ActionFilters:
    state: str | None = None
    action_type: str | None = None
    owner_id: int | None = None
    overdue: bool = False
    open_only: bool = False
    without_nc: bool = False


def list_actions(filters: ActionFilters | None = None):
    """Return a select() over actions with the given filters, soonest due first."""
    f = filters or ActionFilters()
    stmt = select(Action)
    if f.state:
        stmt = stmt.where(Action.state == f.state)
    if f.action_type:
        stmt = stmt.where(Action.action_type == f.action_type)
    if f.owner_id:
        stmt = stmt.where(Action.owner_id == f.owner_id)
    if f.open_only or f.overdue:
        stmt = stmt.where(Action.state.in_(OPEN_ACTION_STATES))
    if f.overdue:
        stmt = stmt.where(Action.due_date < date.today())
    if f.without_nc:
        stmt = stmt.where(Action.nonconformity_id.is_(None))
    return stmt.order_by(Action.due_date, Action.id)


def days_open(nc: Nonconformity, today: date | None = None) -> int:
    """Return how many days the NC has been (or was) open."""
    end = (nc.closed_at.date() if nc.closed_at else None) or today or date.today()
    start = nc.raised_at.date() if isinstance(nc.raised_at, datetime) else nc.raised_at
    return max(0, (end - start).days)


AGE_BUCKETS = ((0, 30), (31, 60), (61, 90), (91, None))


def aging(ncs: Iterable[Nonconformity], today: date | None = None) -> list[dict]:
    """Count open NCs per age bucket (0-30, 31-60, 61-90, over 90 days)."""
    counts = [0] * len(AGE_BUCKETS)
    for nc in ncs:
        if not nc.is_open:
            continue
        days = days_open(nc, today)
        for i, (low, high) in enumerate(AGE_BUCKETS):
            if days >= low and (high is None or days <= high):
                counts[i] += 1
                break
    total = max(sum(counts), 1)
    return [
        {
            "label": f"{low}–{high}" if high is not None else f"> {low - 1}",
            "count": n,
            "percent": round(100 * n / total),
        }
        for (low, high), n in zip(AGE_BUCKETS, counts, strict=True)
    ]


@dataclass
class Similar:
    nc: Nonconformity
    reasons: list[str] = field(default_factory=list)


def similar(
    clause: str | None,
    department_id: int | None,
    documents: Iterable[str] = (),
    exclude: Nonconformity | None = None,
    limit: int = 10,
) -> list[Similar]:
    """Return earlier NCs sharing the clause, the department or a document, closest first."""
    codes = [c for c in documents if c]
    conditions = []
    if clause:
        conditions.append(Nonconformity.clause == clause)
    if department_id:
        conditions.append(Nonconformity.department_id == department_id)
    if codes:
        conditions.append(Nonconformity.documents.any(NcDocument.code.in_(codes)))
    if not conditions:
        return []
    stmt = select(Nonconformity).where(or_(*conditions))
    if exclude is not None:
        stmt = stmt.where(
            Nonconformity.id != exclude.id, Nonconformity.raised_at <= exclude.raised_at
        )
    candidates = db.session.scalars(stmt.order_by(Nonconformity.raised_at.desc()).limit(200))
    found = []
    for nc in candidates:
        reasons = []
        if clause and nc.clause == clause:
            reasons.append(_("clause %(clause)s", clause=clause))
        shared = sorted(set(nc.document_codes) & set(codes))
        if shared:
            reasons.append(_("document %(codes)s", codes=", ".join(shared)))
        if department_id and nc.department_id == department_id:
            reasons.append(_("department %(name)s", name=nc.department.name))
        found.append(Similar(nc, reasons))
    found.sort(key=lambda s: -len(s.reasons))
    return found[:limit]


def similar_to(nc: Nonconformity, limit: int = 10) -> list[Similar]:
    return similar(nc.clause, nc.department_id, nc.document_codes, exclude=nc, limit=limit)


@dataclass
class Todo:
    ncs: list[Nonconformity]
    actions: list[Action]
    to_accept: list[Nonconformity]
    to_check: list[Action]

    @property
    def count(self) -> int:
        return len(self.ncs) + len(self.actions) + len(self.to_accept) + len(self.to_check)


def todo(user: User) -> Todo:
    """Return what waits for ``user``: NCs and actions assigned to them, and what they decide."""
    ncs = db.session.scalars(
        select(Nonconformity)
        .where(Nonconformity.responsible_id == user.id, Nonconformity.state.in_(OPEN_NC_STATES))
        .order_by(Nonconformity.due_date.is_(None), Nonconformity.due_date, Nonconformity.id)
    ).all()
    actions = db.session.scalars(
        select(Action)
        .where(Action.owner_id == user.id, Action.state.in_(OPEN_ACTION_STATES))
        .order_by(Action.due_date, Action.id)
    ).all()
    to_accept, to_check = [], []
    if user.has_role(QUALITY_OFFICE):
        to_accept = [
            nc
            for nc in db.session.scalars(
                select(Nonconformity)
                .where(
                    Nonconformity.state.in_(
                        ("reported", "analysis", "action_plan", "effectiveness_check")
                    )
                )
                .order_by(Nonconformity.raised_at)
            )
            if (nc.state == "reported" and nc.responsible_id is None)
            or (nc.state == "analysis" and not analysis_gaps(nc))
            or (nc.state == "action_plan" and nc.actions)
            or nc.state == "effectiveness_check"
        ]
    if user.has_role(*CHECKER_ROLES) or ncs:
        to_check = [
            a
            for a in db.session.scalars(
                select(Action).where(Action.state == "done").order_by(Action.done_at)
            )
            if can_check(user, a)
        ]
    return Todo(list(ncs), list(actions), to_accept, to_check)


def due_soon(days: int = 14) -> date:
    return date.today() + timedelta(days=days)


def timeline(nc: Nonconformity) -> list:
    """Return every audit-trail event about the NC and its actions, oldest first."""
    # "nc.action_added" repeats what the action's own "action.created" event says.
    events = [
        e for e in trail.events_for("nonconformity", nc.number) if e.action != "nc.action_added"
    ]
    for action in nc.actions:
        events.extend(trail.events_for("action", action.number))
    return sorted(events, key=lambda e: e.seq)


def _notify_assignment(user: User, obj) -> None:
    """Tell ``user`` by e-mail that ``obj`` is assigned to them; never fails the request."""
    from qms.improvement import mail

    mail.send_assignment(user, obj)
