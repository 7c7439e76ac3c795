"""The audit trail told to people: one sentence per event, in the reader's language.

Every trail on every page (documents, revisions, change requests, records, NCs and
actions, audits, reviews, risks, suppliers, equipment, users) goes through
:func:`lines`: who did it by display name, what they did as a phrase, and each field
that changed by its label, before → after, with stored codes (states, severities,
roles…) named by their domain's labels. The hashes that make the chain verifiable
are kept apart, for the reader who asks to verify.
"""

import re
from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from qms.extensions import db

ACTIONS = {
    # documents, revisions, change requests
    "document.created": _l("registered the document"),
    "document.adopted": _l("adopted the document from an upstream publisher"),
    "document.obsoleted": _l("withdrew the document as obsolete"),
    "document.reviewed": _l("confirmed the periodic review of the document"),
    "revision.opened": _l("opened a draft revision"),
    "revision.saved": _l("saved the draft"),
    "revision.submitted": _l("submitted the revision for approval"),
    "revision.commented": _l("commented on the revision"),
    "revision.rejected": _l("sent the revision back"),
    "revision.scheduled": _l("released the revision on an effective date"),
    "revision.effective": _l("made the revision effective"),
    "revision.acknowledged": _l("acknowledged reading the revision"),
    "revision.training_marked": _l("set the training the revision needs"),
    "change_request.raised": _l("raised the change request"),
    "change_request.decided": _l("decided the change request"),
    "upstream.subscribed": _l("subscribed to an upstream publisher"),
    "upstream.ended": _l("ended the upstream subscription"),
    "upstream.resumed": _l("resumed the upstream subscription"),
    "upstream.change_raised": _l("raised a change request for a newer upstream revision"),
    # records
    "record.submitted": _l("submitted the record"),
    "record.amended": _l("amended the record"),
    "record.voided": _l("voided the record"),
    "record.linked": _l("linked the record"),
    "attachment.uploaded": _l("uploaded a file"),
    # nonconformities and actions
    "nc.raised": _l("raised the nonconformity"),
    "nc.assigned": _l("assigned the nonconformity"),
    "nc.transition": _l("moved the nonconformity on"),
    "nc.reopened": _l("reopened the nonconformity"),
    "nc.analysed": _l("recorded the root-cause analysis"),
    "nc.document_added": _l("named a document"),
    "nc.evidence_added": _l("added evidence"),
    "nc.action_added": _l("planned an action"),
    "nc.output": _l("recorded the nonconforming output"),
    "nc.disposition": _l("recorded the disposition of the output"),
    "action.created": _l("planned the action"),
    "action.transition": _l("moved the action on"),
    "action.plan_updated": _l("set the effectiveness criteria"),
    "action.change_requested": _l("requested a document change"),
    # audits
    "programme.saved": _l("saved the audit programme"),
    "programme.unit_saved": _l("saved an audit programme entry"),
    "programme.unit_removed": _l("removed an audit programme entry"),
    "audit.planned": _l("planned the audit"),
    "audit.replanned": _l("changed the audit plan"),
    "audit.transition": _l("moved the audit on"),
    "audit.question_added": _l("added a checklist question"),
    "audit.finding": _l("recorded a finding"),
    "audit.nc_raised": _l("raised a nonconformity from a finding"),
    "audit.action_raised": _l("raised an action from a finding"),
    "audit.attachment_added": _l("attached a file to a finding"),
    "audit.report_edited": _l("edited the audit report"),
    # reviews, objectives, feedback
    "review.planned": _l("planned the management review"),
    "review.notes": _l("wrote the review's notes"),
    "review.prepared": _l("compiled the review inputs"),
    "review.held": _l("recorded that the review was held"),
    "review.decision": _l("recorded a decision"),
    "review.action": _l("raised an action from a decision"),
    "review.minutes_approved": _l("approved the minutes"),
    "objective.created": _l("set the quality objective"),
    "objective.updated": _l("changed the quality objective"),
    "objective.measured": _l("recorded a measurement"),
    "complaint.registered": _l("registered the complaint"),
    "complaint.responded": _l("recorded the response"),
    "complaint.nc_raised": _l("raised a nonconformity from the complaint"),
    "survey.recorded": _l("recorded the satisfaction survey"),
    # risks, suppliers, equipment, training, context
    "risk.added": _l("added the risk"),
    "risk.changed": _l("changed the risk"),
    "risk.status": _l("changed the risk's status"),
    "risk.action_raised": _l("raised an action on the risk"),
    "risk.audit_criteria": _l("set the risks an audit covers"),
    "risk.settings_saved": _l("saved the risk matrix"),
    "supplier.added": _l("added the provider"),
    "supplier.changed": _l("changed the provider"),
    "supplier.status_changed": _l("changed the provider's status"),
    "supplier.evaluated": _l("evaluated the provider"),
    "standard.added": _l("added the standard"),
    "standard.changed": _l("changed the standard"),
    "standard.status_changed": _l("changed the standard's status"),
    "standard.cited": _l("recorded documents citing the standard"),
    "standard.uncited": _l("recorded that a document no longer cites the standard"),
    "standard_category.added": _l("added the category"),
    "standard_category.changed": _l("changed the category"),
    "standard_category.removed": _l("removed the category"),
    "standard_category.preset_applied": _l("applied the preset categories"),
    "document.placed": _l("placed the document in a category"),
    "document.changed": _l("changed the document's place in the register"),
    "route.changed": _l("changed the approval route"),
    "delegation.created": _l("delegated signatures"),
    "delegation.revoked": _l("ended a delegation of signatures"),
    "rating.received": _l("received the citizen's rating"),
    "rectification.opened": _l("opened the rectification"),
    "rectification.escalated": _l("raised a nonconformity for the repeated poor ratings"),
    "rectification.rectified": _l("recorded the finding and the fix"),
    "rectification.followed_up": _l("recorded the follow-up with the citizen"),
    "rectification.closed": _l("closed the rectification"),
    "rectification.open": _l("sent the rectification back to be put right"),
    "webhook.created": _l("added the webhook"),
    "webhook.changed": _l("changed the webhook"),
    "webhook.deleted": _l("deleted the webhook"),
    "equipment.registered": _l("registered the instrument"),
    "equipment.changed": _l("changed the instrument"),
    "equipment.status_changed": _l("changed the instrument's status"),
    "equipment.calibrated": _l("recorded a calibration"),
    "evaluation_scheme.created": _l("defined the evaluation scheme"),
    "evaluation_scheme.changed": _l("changed the evaluation scheme"),
    "evaluation.run": _l("ran the evaluation"),
    "evaluation.adjusted": _l("entered a manual score"),
    "evaluation.confirmed": _l("confirmed the evaluation"),
    "evaluation.discarded": _l("discarded the draft evaluation"),
    "competence.created": _l("added the competence"),
    "position.created": _l("created the position"),
    "position.changed": _l("changed the position's requirements"),
    "position.assigned": _l("assigned someone to the position"),
    "position.left": _l("recorded that someone left the position"),
    "training.recorded": _l("recorded training"),
    "training.evaluated": _l("evaluated the training's effectiveness"),
    "training.due": _l("asked people to train on the revision"),
    "context.issue_added": _l("added a context issue"),
    "context.party_added": _l("added an interested party"),
    "legal.added": _l("added the legal requirement"),
    "legal.changed": _l("changed the legal requirement"),
    "service_item.added": _l("added the service item"),
    "service_item.changed": _l("changed the service item"),
    "service_item.deactivated": _l("deactivated the service item"),
    "service_item.reactivated": _l("made the service item active again"),
    "service_window.added": _l("added the window"),
    "service_window.changed": _l("changed the window"),
    # people and the installation
    "department.created": _l("created the department"),
    "user.created": _l("created the account"),
    "user.directory_updated": _l("updated the account from the directory"),
    "user.locked": _l("locked the account after failed sign-ins"),
    "user.unlocked": _l("unlocked the account"),
    "user.password_changed": _l("changed the password"),
    "user.password_reset": _l("reset the password"),
    "user.activated": _l("activated the account"),
    "user.deactivated": _l("deactivated the account"),
    "user.roles_changed": _l("changed the roles"),
    "user.department_changed": _l("changed the department"),
    "user.signed_in": _l("signed in"),
    "token.created": _l("created an API token"),
    "token.revoked": _l("revoked an API token"),
    "signing.key_rotated": _l("rotated the signing key"),
    "signing.published": _l("published the allowed signers"),
    "repository.recovered": _l("repaired the document repository after a crash"),
}

FIELDS = {
    "action": _l("Action"),
    "blob": _l("Content signed (git blob)"),
    "certificate": _l("Certificate (SHA-256)"),
    "commit": _l("Git commit"),
    "fingerprints": _l("Key fingerprints"),
    "head": _l("Draft commit"),
    "public_key": _l("Public key"),
    "sha256": _l("SHA-256"),
    "upstream_commit": _l("Upstream commit"),
    "actions": _l("Actions"),
    "active": _l("Active"),
    "article": _l("Article"),
    "attendees": _l("Attendees"),
    "auditees": _l("Auditees"),
    "authorised_by": _l("Authorised by"),
    "by": _l("By"),
    "category": _l("Category"),
    "cause": _l("Cause"),
    "chair": _l("Chair"),
    "change_request": _l("Change request"),
    "change_requests": _l("Change requests"),
    "channel": _l("Channel"),
    "check_date": _l("Check date"),
    "clause": _l("Clause"),
    "clauses": _l("Clauses"),
    "code": _l("Code"),
    "comment": _l("Comment"),
    "compiled_at": _l("Compiled at"),
    "competence": _l("Competence"),
    "competences": _l("Competences"),
    "containment": _l("Containment"),
    "context_changes": _l("Changes in context"),
    "controls": _l("Controls"),
    "corrects": _l("Corrects"),
    "criteria": _l("Criteria"),
    "criterion": _l("Criterion"),
    "decision": _l("Decision"),
    "department": _l("Department"),
    "departments": _l("Departments"),
    "direction": _l("Direction"),
    "disposition": _l("Disposition"),
    "document": _l("Document"),
    "documents": _l("Documents"),
    "due_date": _l("Due date"),
    "due_days": _l("Days to train"),
    "effect": _l("Effect"),
    "effective": _l("Effective"),
    "effective_date": _l("Effective date"),
    "email": _l("Email"),
    "evaluate_effectiveness": _l("Evaluate effectiveness"),
    "evaluated_on": _l("Evaluated on"),
    "evaluation": _l("Evaluation"),
    "evaluation_months": _l("Evaluation interval (months)"),
    "evidence": _l("Evidence"),
    "evidence_ref": _l("Evidence reference"),
    "expires_at": _l("Expires"),
    "failed": _l("Failed sign-ins"),
    "file": _l("File"),
    "form": _l("Form"),
    "frequency": _l("Frequency"),
    "from": _l("From"),
    "full_name": _l("Full name"),
    "held_on": _l("Held on"),
    "impact": _l("Impact"),
    "imported_from": _l("Imported from"),
    "interval": _l("Interval"),
    "kind": _l("Kind"),
    "label": _l("Label"),
    "last_result": _l("Last result"),
    "law": _l("Law or regulation"),
    "lead_auditor": _l("Lead auditor"),
    "legal_basis": _l("Legal basis"),
    "level": _l("Level"),
    "likelihood": _l("Likelihood"),
    "link": _l("Link"),
    "location": _l("Location"),
    "meaning": _l("Meaning"),
    "measurement": _l("Measurement"),
    "method": _l("Method"),
    "must_change_password": _l("Must change the password"),
    "name": _l("Name"),
    "nc": _l("Nonconformity"),
    "needs": _l("Needs and expectations"),
    "next_due": _l("Next due"),
    "next_evaluation_due": _l("Next evaluation due"),
    "next_review_due": _l("Next review due"),
    "nonconformity": _l("Nonconformity"),
    "note": _l("Note"),
    "objectives": _l("Objectives"),
    "on": _l("On"),
    "origin": _l("Origin"),
    "output": _l("Output"),
    "owner": _l("Owner"),
    "parent": _l("Parent document"),
    "people": _l("People"),
    "performed_on": _l("Performed on"),
    "period": _l("Period"),
    "planned_end": _l("Planned end"),
    "planned_on": _l("Planned on"),
    "planned_start": _l("Planned start"),
    "promised_days": _l("Promised time limit (working days)"),
    "process": _l("Process"),
    "processes": _l("Processes"),
    "quantity": _l("Quantity"),
    "reason": _l("Reason"),
    "received_on": _l("Received on"),
    "record": _l("Record"),
    "records": _l("Records"),
    "requirement": _l("Requirement"),
    "residual_impact": _l("Residual impact"),
    "residual_level": _l("Residual level"),
    "residual_likelihood": _l("Residual likelihood"),
    "residual_score": _l("Residual score"),
    "resources": _l("Resources"),
    "response": _l("Response"),
    "response_due": _l("Response due"),
    "responses": _l("Responses"),
    "responsible": _l("Responsible"),
    "result": _l("Result"),
    "results": _l("Results"),
    "review_date": _l("Review date"),
    "revision": _l("Revision"),
    "risk": _l("Risk"),
    "risks": _l("Risks"),
    "roles": _l("Roles"),
    "root_cause": _l("Root cause"),
    "satisfied": _l("Satisfied"),
    "scale": _l("Scale"),
    "scheme": _l("Scheme"),
    "scope": _l("Scope"),
    "score": _l("Score"),
    "scores": _l("Scores"),
    "seq": _l("Question"),
    "serial": _l("Serial number"),
    "session": _l("Training session"),
    "severity": _l("Severity"),
    "since": _l("Since"),
    "size": _l("Size (bytes)"),
    "source": _l("Source"),
    "source_form": _l("Source form"),
    "standards": _l("Governing standards"),
    "stars": _l("Stars"),
    "state": _l("State"),
    "status": _l("Status"),
    "statutory_days": _l("Statutory time limit (working days)"),
    "strengths": _l("Strengths"),
    "subject": _l("Subject"),
    "subject_kind": _l("Scores"),
    "summary": _l("Summary"),
    "supplier": _l("Provider"),
    "supplies": _l("Supplies"),
    "target": _l("Target"),
    "target_key": _l("Linked to"),
    "target_type": _l("Linked kind"),
    "team": _l("Audit team"),
    "text": _l("Text"),
    "thresholds": _l("Star thresholds"),
    "title": _l("Title"),
    "to": _l("To"),
    "token": _l("Token"),
    "total": _l("Total"),
    "trained_on": _l("Trained on"),
    "trainer": _l("Trainer"),
    "treatment": _l("Treatment"),
    "type": _l("Type"),
    "unit": _l("Unit"),
    "upstream": _l("Upstream publisher"),
    "upstream_revision": _l("Upstream revision"),
    "url": _l("Address"),
    "user": _l("Person"),
    "valid_until": _l("Valid until"),
    "validity_months": _l("Validity (months)"),
    "value": _l("Value"),
    "version": _l("Version"),
    "windows": _l("Windows"),
    "whys": _l("Five whys"),
}

# Fields holding user names, shown as the people's display names.
PEOPLE = {
    "attendees",
    "auditees",
    "authorised_by",
    "by",
    "chair",
    "lead_auditor",
    "owner",
    "people",
    "responsible",
    "team",
    "user",
}

# Fields that only a verifier reads: content hashes, commit ids, keys.
HASHES = {
    "blob",
    "certificate",
    "commit",
    "fingerprints",
    "hash",
    "head",
    "public_key",
    "sha256",
    "upstream_commit",
}
_HEX_ID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
# Fields of the installation's own bookkeeping, which say nothing to a reader.
HIDDEN = {"lang", "matrix", "likelihood_names", "impact_names", "decision"}
_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")
LONGEST = 300


def _value_labels() -> dict[tuple[str | None, str], object]:
    """Map (object type or None for any, field) to the function naming its stored codes."""
    from qms.audits import labels as audits
    from qms.auth.labels import role_label
    from qms.context import labels as context
    from qms.documents import labels as documents
    from qms.equipment import labels as equipment
    from qms.improvement import labels as improvement
    from qms.records import labels as records
    from qms.reviews import labels as reviews
    from qms.risks import labels as risks
    from qms.standards import labels as standards
    from qms.suppliers import labels as suppliers
    from qms.training import labels as training

    return {
        ("nonconformity", "state"): improvement.nc_state_label,
        ("nonconformity", "source"): improvement.source_label,
        (None, "severity"): improvement.severity_label,
        (None, "category"): improvement.category_label,
        (None, "disposition"): improvement.disposition_label,
        (None, "origin"): improvement.origin_label,
        ("action", "state"): improvement.action_state_label,
        ("action", "type"): improvement.action_type_label,
        ("audit", "state"): audits.state_label,
        ("audit", "type"): audits.type_label,
        ("audit", "result"): audits.result_label,
        ("audit_programme", "risk"): audits.risk_label,
        ("audit_programme", "kind"): audits.kind_label,
        ("document", "type"): documents.type_label,
        ("revision", "meaning"): documents.meaning_label,
        ("change_request", "status"): documents.cr_status_label,
        ("record", "status"): records.status_label,
        ("record", "target_type"): records.link_label,
        ("review", "state"): reviews.state_label,
        ("review", "kind"): reviews.decision_label,
        ("review", "meaning"): documents.meaning_label,
        ("complaint", "channel"): reviews.channel_label,
        ("objective", "direction"): reviews.direction_label,
        ("objective", "source"): reviews.source_label,
        ("objective", "origin"): reviews.origin_label,
        ("objective", "frequency"): reviews.frequency_label,
        ("risk", "kind"): risks.kind_label,
        ("risk", "level"): risks.level_label,
        ("risk", "residual_level"): risks.level_label,
        ("risk", "status"): risks.status_label,
        ("supplier", "status"): suppliers.status_label,
        ("external_standard", "status"): standards.status_label,
        ("equipment", "status"): equipment.status_label,
        ("equipment", "kind"): equipment.kind_label,
        ("equipment", "result"): equipment.result_label,
        ("equipment", "last_result"): equipment.result_label,
        ("training", "method"): training.method_label,
        ("training", "result"): training.result_label,
        ("context_issue", "kind"): context.kind_label,
        ("legal_requirement", "status"): context.legal_status_label,
        (None, "roles"): role_label,
    }


@dataclass
class Change:
    """One field of an event: its label and what it held before and after (text)."""

    label: str
    before: str | None
    after: str | None


@dataclass
class Line:
    """One event told as a sentence, with its changed fields and what verifies it."""

    event: object
    who: str
    what: str
    subject: str | None
    changes: list[Change] = field(default_factory=list)
    proofs: list[tuple[str, str]] = field(default_factory=list)


def lines(events, fields: dict | None = None, main: str | None = None) -> list[Line]:
    """Tell ``events`` as :class:`Line` objects in the current language.

    ``fields`` tells the keys of a record's values: ``{key: (label, show(value))}`` from
    its form. When one trail shows several objects (an NC and its actions), ``main`` is
    the object type of the trail's own object, and the events about others are headed by
    their key.
    """
    events = list(events)
    names = _display_names(events)
    value_labels = _value_labels()
    told = []
    for event in events:
        teller = _Teller(event.object_type, names, value_labels, fields or {})
        line = Line(
            event=event,
            who=event.user.display_name if event.user else _("the system"),
            what=_what(event),
            subject=event.object_key if main and event.object_type != main else None,
        )
        teller.compare(line, "", event.before or {}, event.after or {}, bool(event.before))
        line.proofs.insert(0, (_("Event"), f"#{event.seq}"))
        line.proofs.extend([(_("Hash"), event.hash), (_("Previous hash"), event.prev_hash)])
        told.append(line)
    return told


def _what(event) -> str:
    phrase = ACTIONS.get(event.action)
    if phrase is not None:
        return str(phrase)
    if event.action.startswith("revision.signed."):
        from qms.documents.labels import meaning_label

        meaning = event.action.rsplit(".", 1)[1]
        return _("signed the revision as %(meaning)s", meaning=meaning_label(meaning))
    return _("made a change (%(action)s)", action=event.action)


def _display_names(events) -> dict[str, str]:
    """Return the display name of every user named in the fields of ``events``."""
    from qms.auth.models import User

    wanted = set()
    for event in events:
        for values in (event.before, event.after):
            for key, value in (values or {}).items():
                if key in PEOPLE:
                    items = value if isinstance(value, list) else [value]
                    wanted.update(v for v in items if isinstance(v, str))
    if not wanted:
        return {}
    rows = db.session.execute(
        select(User.username, User.full_name).where(User.username.in_(sorted(wanted)))
    )
    return {username: full_name or username for username, full_name in rows}


class _Teller:
    """Turns one event's stored values into text, knowing its object type."""

    def __init__(self, object_type, names, value_labels, fields):
        self.object_type = object_type
        self.names = names
        self.value_labels = value_labels
        self.fields = fields

    def label(self, prefix: str, key: str) -> str:
        if prefix == "values" and key in self.fields:
            return self.fields[key][0]
        if prefix:
            return key
        return str(FIELDS.get(key, key.replace("_", " ")))

    def compare(self, line: Line, prefix: str, before: dict, after: dict, has_before: bool):
        """Add a change for each key that differs (or, with no before, each key given)."""
        keys = list(after) + [k for k in before if k not in after]
        for key in keys:
            if not prefix and key in HIDDEN:
                continue
            old, new = before.get(key), after.get(key)
            if has_before and old == new:
                continue
            if not prefix and (key in HASHES or _is_hash(new) or _is_hash(old)):
                if new not in (None, ""):
                    line.proofs.append((self.label(prefix, key), _text_of(new)))
                continue
            if isinstance(old, dict) or isinstance(new, dict):
                # A record's values, a provider's scores: each entry its own line.
                self.compare(line, key, old or {}, new or {}, has_before)
                continue
            old_text = self.text(prefix, key, old) if has_before else None
            new_text = self.text(prefix, key, new)
            if new_text is None and old_text is None:
                continue
            line.changes.append(Change(self.label(prefix, key), old_text, new_text))

    def text(self, prefix: str, key: str, value) -> str | None:
        """Return ``value`` as a reader sees it; None for nothing."""
        if value is None or value == "" or value == []:
            return None
        if prefix == "values" and key in self.fields:
            try:
                return self.fields[key][1](value) or None
            except (TypeError, ValueError, KeyError, AttributeError):
                # A value an earlier form revision stored in another shape.
                return _short(_text_of(value))
        if isinstance(value, list) and all(isinstance(v, list) for v in value):
            # Pairs such as a provider's criteria and their weights.
            rows = [_(": ").join(str(c) for c in v) for v in value]
            return _short(_("; ").join(rows))
        if isinstance(value, list):
            parts = [p for p in (self.text(prefix, key, v) for v in value) if p]
            # Names and codes run on with commas; sentences (five whys) with semicolons.
            long = any(len(p) > 20 for p in parts)
            return (_("; ") if long else _(", ")).join(parts)
        if isinstance(value, bool):
            return _("yes") if value else _("no")
        if isinstance(value, dict):
            parts = [
                f"{self.label(key, k)}{_(': ')}{self.text(key, k, v) or '—'}"
                for k, v in value.items()
            ]
            return _("; ").join(parts)
        if prefix:
            return _short(str(value))
        if key in PEOPLE and isinstance(value, str):
            return self.names.get(value, value)
        name = self.value_labels.get((self.object_type, key)) or self.value_labels.get((None, key))
        if name is not None and isinstance(value, str):
            return str(name(value))
        if isinstance(value, str) and _TIMESTAMP.match(value):
            from qms.i18n import when

            try:
                return when(datetime.fromisoformat(value))
            except ValueError:
                return value
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return _short(str(value))


def _is_hash(value) -> bool:
    return isinstance(value, str) and bool(_HEX_ID.fullmatch(value))


def _text_of(value) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    return str(value)


def _short(text: str) -> str:
    return text if len(text) <= LONGEST else text[: LONGEST - 1] + "…"


def init_app(app) -> None:
    """Offer :func:`lines` to the templates as ``trail_lines``."""
    app.add_template_global(lines, "trail_lines")
