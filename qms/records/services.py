"""The rules of record control, used by both the pages and the API.

A record form is a controlled document of type ``record_form``; its effective revision
defines the fields. A filled record is pinned to that revision and its release commit,
is numbered ``<FORM CODE>/<YEAR>/<6-digit sequence>``, and is never changed in place:
an amendment is a new version with a reason, a void keeps every version readable.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select

from qms import render, trail
from qms.auth.models import Department, User
from qms.database import next_number
from qms.documents import services as documents
from qms.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from qms.extensions import db
from qms.models import aware, utcnow
from qms.records.fields import (
    DefinitionError,
    FieldDef,
    Lookups,
    display,
    is_blank,
    parse_fields,
    validate_values,
)
from qms.records.models import (
    LINK_TYPES,
    RECORD_STATUSES,
    Attachment,
    Record,
    RecordDraft,
    RecordLink,
    RecordValue,
    RecordVersion,
)

FORM_TYPE = "record_form"
NUMBER_RE = re.compile(r"^(?P<code>[A-Za-z0-9.-]{1,40})/(?P<year>\d{4})/(?P<seq>\d{6,})$")
# Who may amend any record (the submitter may amend their own) and who may void one.
AMEND_ROLES = ("approver", "admin")
VOID_ROLES = ("approver", "admin")
DEFAULT_MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024


# -- form definitions ----------------------------------------------------------------------


@dataclass(frozen=True)
class FormDefinition:
    """One revision of a record form: its fields and instructions, pinned to a commit."""

    code: str
    title: str
    revision: str
    commit: str | None
    fields: tuple[FieldDef, ...]
    instructions: str
    retention_months: int | None

    def field(self, key: str) -> FieldDef | None:
        return next((f for f in self.fields if f.key == key), None)


def parse_definition(meta: dict) -> tuple[tuple[FieldDef, ...], int | None]:
    """Return the fields and retention (months) of a form's front matter.

    :raises DefinitionError: a field or the retention setting is not valid.
    """
    fields = parse_fields(meta.get("fields"))
    retention = None
    for key, factor in (("retention_years", 12), ("retention_months", 1)):
        value = meta.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 1200:
            raise DefinitionError(
                _("%(name)s must be a whole number of at least 1.", name=key), key
            )
        retention = value * factor
    return fields, retention


def check_form_content(meta: dict, _body: str) -> None:
    """Refuse a record form draft whose field definitions are not valid (a documents hook)."""
    try:
        fields, _retention = parse_definition(meta)
    except DefinitionError as exc:
        raise ValidationFailed(
            _("The form definition is not valid. %(problem)s", problem=exc.message),
            field="content",
            detail={"content": [exc.message], "field": exc.key},
        ) from exc
    if not fields:
        raise ValidationFailed(
            _("A record form needs at least one field under fields: in its front matter."),
            field="content",
        )


documents.register_content_validator(FORM_TYPE, check_form_content)

# Parsed definitions by (code, commit): what a commit holds never changes.
_definitions: dict[tuple[str, str, str], FormDefinition] = {}


def _form_document(code: str):
    doc = documents.get_document(code)
    if doc.doc_type != FORM_TYPE:
        raise ValidationFailed(_("%(code)s is not a record form.", code=code), field="form")
    return doc


def definition(code: str, revision: str | None = None) -> FormDefinition:
    """Return a form's definition at ``revision`` (default: the effective one).

    :raises NotFound: no such form or revision. :raises Conflict: no effective revision.
    """
    doc = _form_document(code)
    rev = documents.get_revision(doc, revision) if revision else documents.effective_revision(doc)
    if rev is None:
        raise Conflict(_("%(code)s has no effective revision yet.", code=code), field="form")
    commit = documents.released_commit(rev) or rev.head_commit
    cache_key = (doc.code, rev.label, commit or "")
    if commit and cache_key in _definitions:
        return _definitions[cache_key]
    meta, body = render.split_front_matter(documents.revision_content(rev))
    try:
        fields, retention = parse_definition(meta)
    except DefinitionError as exc:
        raise Conflict(
            _(
                "The definition of %(code)s is not valid: %(problem)s",
                code=code,
                problem=exc.message,
            )
        ) from exc
    result = FormDefinition(
        code=doc.code,
        title=str(meta.get("title") or doc.title),
        revision=rev.label,
        commit=commit,
        fields=fields,
        instructions=body,
        retention_months=retention,
    )
    if commit and len(_definitions) < 2000:
        _definitions[cache_key] = result
    return result


def fillable(code: str) -> FormDefinition:
    """Return the definition staff fill now: the effective revision of a form in use.

    :raises Conflict: the form is obsolete or has no effective revision.
    """
    doc = _form_document(code)
    if doc.status == "obsolete":
        raise Conflict(
            _("%(code)s is obsolete; it can no longer be filled.", code=code), field="form"
        )
    if doc.status != "effective" and documents.effective_revision(doc) is None:
        raise Conflict(_("%(code)s has no effective revision yet.", code=code), field="form")
    return definition(code)


def record_definition(record: Record) -> FormDefinition:
    """Return the definition a record was filled against (its pinned revision)."""
    return definition(record.form_code, record.form_revision)


def forms(user: User | None = None) -> list:
    """Return the effective record forms, only those of the user's department when given."""
    docs = db.session.scalars(
        documents.list_documents(doc_type=FORM_TYPE, status="effective")
    ).all()
    if user is not None:
        docs = [d for d in docs if documents.concerns(d, user)]
    return list(docs)


# -- checking values -----------------------------------------------------------------------


def lookups(actor: User | None = None) -> Lookups:
    def user_exists(username: str) -> bool:
        return (
            db.session.scalar(
                select(User.id).where(User.username == username, User.active.is_(True))
            )
            is not None
        )

    def department_exists(name: str) -> bool:
        return db.session.scalar(select(Department.id).where(Department.name == name)) is not None

    def attachment_exists(ident: int) -> bool:
        return db.session.get(Attachment, ident) is not None

    return Lookups(user_exists, department_exists, attachment_exists)


def check_values(defn: FormDefinition, raw: dict, partial: bool = False) -> dict:
    """Return the clean values, or raise :class:`ValidationFailed` with errors by field key."""
    values, errors = validate_values(defn.fields, raw, lookups(), partial=partial)
    if errors:
        first = next(iter(errors))
        raise ValidationFailed(
            _("Some values are not valid; see the message beside each field."),
            field=first,
            detail=errors,
        )
    return values


def choices() -> dict:
    """Return the people and departments a form's user and department fields offer."""
    users = db.session.scalars(
        select(User).where(User.active.is_(True)).order_by(User.full_name, User.username)
    ).all()
    depts = db.session.scalars(select(Department).order_by(Department.name)).all()
    return {
        "user": [(u.username, f"{u.display_name} ({u.username})") for u in users],
        "department": [(d.name, d.name) for d in depts],
    }


def names(values: dict) -> dict:
    """Return display names for the users and attachments a set of values mentions."""
    usernames, attachment_ids = set(), set()

    def collect(value):
        if isinstance(value, str):
            usernames.add(value)
        elif isinstance(value, int) and not isinstance(value, bool):
            attachment_ids.add(value)
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, dict):
                    for cell in item.values():
                        collect(cell)

    for value in values.values():
        collect(value)
    out: dict = {}
    if usernames:
        for user in db.session.scalars(select(User).where(User.username.in_(usernames))):
            out[("user", user.username)] = user.display_name
    if attachment_ids:
        for att in db.session.scalars(select(Attachment).where(Attachment.id.in_(attachment_ids))):
            out[("attachment", att.id)] = att.name
    return out


# -- drafts ----------------------------------------------------------------------------------


def save_draft(actor: User, code: str, raw: dict, draft_id: int | None = None) -> RecordDraft:
    """Keep a partly filled record as the actor's own draft; required fields may be empty."""
    defn = fillable(code)
    values = check_values(defn, raw, partial=True)
    draft = get_draft(actor, draft_id) if draft_id else None
    if draft is None:
        draft = RecordDraft(form_code=defn.code, owner_id=actor.id, values=values)
        db.session.add(draft)
    else:
        if draft.form_code != defn.code:
            raise ValidationFailed(_("This draft is for another form."), field="form")
        draft.values = values
        draft.updated_at = utcnow()
    db.session.commit()
    return draft


def get_draft(actor: User, draft_id: int) -> RecordDraft:
    """Return one of the actor's drafts. :raises NotFound: not theirs or not there."""
    draft = db.session.get(RecordDraft, draft_id)
    if draft is None or draft.owner_id != actor.id:
        raise NotFound(_("There is no such record draft of yours."))
    return draft


def delete_draft(actor: User, draft_id: int) -> None:
    """Discard one of the actor's drafts (it was never a record)."""
    db.session.delete(get_draft(actor, draft_id))
    db.session.commit()


def drafts_of(user: User) -> list[RecordDraft]:
    return list(
        db.session.scalars(
            select(RecordDraft)
            .where(RecordDraft.owner_id == user.id)
            .order_by(RecordDraft.updated_at.desc())
        )
    )


# -- records ---------------------------------------------------------------------------------


def parse_number(number: str) -> str:
    number = (number or "").strip()
    if not NUMBER_RE.match(number):
        raise NotFound(_("There is no record %(number)s.", number=number))
    return number


def get_record(number: str) -> Record:
    """Return the record numbered ``number``. :raises NotFound: there is none."""
    record = db.session.scalar(select(Record).where(Record.number == parse_number(number)))
    if record is None:
        raise NotFound(_("There is no record %(number)s.", number=number))
    return record


def _index(record: Record, defn: FormDefinition) -> None:
    """Replace the record's searchable copies of its current values."""
    db.session.query(RecordValue).filter(RecordValue.record_id == record.id).delete(
        synchronize_session=False
    )
    rows = []
    for fd in defn.fields:
        value = record.values.get(fd.key)
        if is_blank(value):
            continue
        if fd.type == "table":
            for row in value:
                for column in fd.columns:
                    cell = row.get(column.key)
                    if not is_blank(cell):
                        rows.append((f"{fd.key}.{column.key}", cell))
        elif fd.type == "multiselect":
            rows.extend((fd.key, v) for v in value)
        else:
            rows.append((fd.key, value))
    for key, value in rows:
        db.session.add(RecordValue(record_id=record.id, key=key, value=str(value)[:500]))


def submit_record(actor: User, code: str, raw: dict, draft_id: int | None = None) -> Record:
    """Check the values against the effective form and keep them as a numbered record.

    :raises ValidationFailed: with ``detail`` the problems keyed by field key.
    :raises Conflict: the form is obsolete or not in force.
    """
    defn = fillable(code)
    values = check_values(defn, raw)
    draft = get_draft(actor, draft_id) if draft_id else None
    now = utcnow()
    year = now.year
    # The counter row stays locked until commit: concurrent submissions get distinct numbers.
    seq = next_number(f"record:{defn.code}:{year}")
    number = f"{defn.code}/{year}/{seq:06d}"
    record = Record(
        number=number,
        form_code=defn.code,
        form_title=defn.title[:300],
        form_revision=defn.revision,
        form_commit=defn.commit or "",
        status="submitted",
        version=1,
        values=values,
        department_id=actor.department_id,
        submitted_by_id=actor.id,
        submitted_at=now,
    )
    db.session.add(record)
    db.session.flush()
    db.session.add(
        RecordVersion(record_id=record.id, version=1, values=values, created_by_id=actor.id)
    )
    _index(record, defn)
    if draft is not None:
        db.session.delete(draft)
    trail.record(
        "record.submitted",
        "record",
        number,
        after={
            "form": defn.code,
            "revision": defn.revision,
            "commit": defn.commit,
            "values": values,
        },
        user=actor,
    )
    db.session.commit()
    return record


def can_amend(user: User, record: Record) -> bool:
    return record.status != "void" and (
        record.submitted_by_id == user.id or user.has_role(*AMEND_ROLES)
    )


def can_void(user: User, record: Record) -> bool:
    return record.status != "void" and user.has_role(*VOID_ROLES)


def amend_record(actor: User, number: str, raw: dict, reason: str) -> Record:
    """Add a new version of a record's values with a reason; earlier versions stay as they were.

    The values are checked against the revision the record was filled on, so a record
    keeps its form's fields even after the form is revised.
    """
    record = get_record(number)
    if record.status == "void":
        raise Conflict(_("Record %(number)s is void; it cannot be amended.", number=number))
    if not can_amend(actor, record):
        raise PermissionDenied(
            _("Only the person who submitted a record, or an approver, may amend it.")
        )
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Give the reason for the amendment."), field="reason")
    defn = record_definition(record)
    values = check_values(defn, raw)
    if values == record.values:
        raise ValidationFailed(
            _("Nothing was changed, so there is nothing to amend."), field="reason"
        )
    before = record.values
    record.version += 1
    db.session.add(
        RecordVersion(
            record_id=record.id,
            version=record.version,
            values=values,
            reason=reason[:4000],
            created_by_id=actor.id,
        )
    )
    record.values = values
    record.status = "amended"
    db.session.flush()
    _index(record, defn)
    trail.record(
        "record.amended",
        "record",
        record.number,
        before={"version": record.version - 1, "values": before},
        after={"version": record.version, "values": values, "reason": reason},
        user=actor,
    )
    db.session.commit()
    return record


def void_record(actor: User, number: str, reason: str) -> Record:
    """Mark a record void with a reason; it and all its versions stay readable."""
    record = get_record(number)
    if record.status == "void":
        raise Conflict(_("Record %(number)s is already void.", number=number))
    if not actor.has_role(*VOID_ROLES):
        raise PermissionDenied(_("Only an approver or an administrator may void a record."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Give the reason for voiding the record."), field="reason")
    before = record.status
    record.status = "void"
    record.void_reason = reason[:4000]
    record.voided_by_id = actor.id
    record.voided_at = utcnow()
    trail.record(
        "record.voided",
        "record",
        record.number,
        before={"status": before},
        after={"status": "void", "reason": reason},
        user=actor,
    )
    db.session.commit()
    return record


def link_record(
    number: str, target_type: str, target_key: str, actor: User, commit: bool = True
) -> RecordLink:
    """Record that a record concerns, or is cited by, another object (e.g. a nonconformity).

    Linking the same pair twice returns the existing link. ``commit=False`` leaves the
    link in the caller's transaction, for a domain linking as one step of its own change.
    """
    record = get_record(number)
    if target_type not in LINK_TYPES:
        raise ValidationFailed(
            _("The link type must be one of: %(types)s.", types=", ".join(LINK_TYPES)),
            field="target_type",
        )
    target_key = (target_key or "").strip()
    if not target_key or len(target_key) > 80:
        raise ValidationFailed(_("Name what the record is linked to."), field="target_key")
    existing = db.session.scalar(
        select(RecordLink).where(
            RecordLink.record_id == record.id,
            RecordLink.target_type == target_type,
            RecordLink.target_key == target_key,
        )
    )
    if existing is not None:
        return existing
    link = RecordLink(
        record_id=record.id,
        target_type=target_type,
        target_key=target_key,
        created_by_id=actor.id,
    )
    db.session.add(link)
    trail.record(
        "record.linked",
        "record",
        record.number,
        after={"target_type": target_type, "target_key": target_key},
        user=actor,
    )
    if commit:
        db.session.commit()
    else:
        db.session.flush()
    return link


def links_to(target_type: str, target_key: str) -> list[Record]:
    """Return the records linked to one object, e.g. the evidence an audit cites."""
    return list(
        db.session.scalars(
            select(Record)
            .join(RecordLink, RecordLink.record_id == Record.id)
            .where(RecordLink.target_type == target_type, RecordLink.target_key == target_key)
            .order_by(Record.number)
        )
    )


# -- lists -----------------------------------------------------------------------------------

SORTS = {
    "number": Record.number,
    "form": Record.form_code,
    "submitted_at": Record.submitted_at,
    "status": Record.status,
}


def list_records(
    form: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    department_id: int | None = None,
    submitter: str | None = None,
    status: str | None = None,
    department: str | None = None,
    revision: str | None = None,
    field: str | None = None,
    value: str | None = None,
    sort: str = "-submitted_at",
):
    """Return a select() over records with the given filters, for listing, paging or export.

    ``field``/``value`` match records whose current value of that field (a table column
    as ``table.column``) contains ``value``, ignoring case; without ``field``, any field.
    """
    stmt = select(Record)
    if form:
        stmt = stmt.where(Record.form_code == form)
    if date_from:
        stmt = stmt.where(Record.submitted_at >= datetime.combine(date_from, datetime.min.time()))
    if date_to:
        end = datetime.combine(date_to + timedelta(days=1), datetime.min.time())
        stmt = stmt.where(Record.submitted_at < end)
    if department_id:
        stmt = stmt.where(Record.department_id == department_id)
    if department:
        stmt = stmt.where(
            Record.department_id.in_(select(Department.id).where(Department.name == department))
        )
    if submitter:
        stmt = stmt.where(
            Record.submitted_by_id.in_(select(User.id).where(User.username == submitter))
        )
    if status in RECORD_STATUSES:
        stmt = stmt.where(Record.status == status)
    if revision:
        stmt = stmt.where(Record.form_revision == revision)
    if value:
        match = select(RecordValue.record_id).where(
            func.lower(RecordValue.value).like(f"%{value.strip().lower()}%")
        )
        if field:
            match = match.where(RecordValue.key == field)
        stmt = stmt.where(Record.id.in_(match))
    elif field:
        stmt = stmt.where(
            Record.id.in_(select(RecordValue.record_id).where(RecordValue.key == field))
        )
    column = SORTS.get(sort.lstrip("-"), Record.submitted_at)
    return stmt.order_by(column.desc() if sort.startswith("-") else column, Record.id.desc())


def past_retention(today: date | None = None) -> list[tuple[FormDefinition, list[Record]]]:
    """Return, per form with a retention period, the records kept longer than it.

    Nothing is deleted: the list is for a disposal decision (QP-02).
    """
    today = today or date.today()
    out = []
    codes = db.session.scalars(select(Record.form_code).distinct().order_by(Record.form_code))
    for code in list(codes):
        try:
            defn = definition(code)
        except (NotFound, Conflict, ValidationFailed):
            continue
        if not defn.retention_months:
            continue
        cutoff = documents.add_months(today, -defn.retention_months)
        due = db.session.scalars(
            select(Record)
            .where(
                Record.form_code == code,
                Record.submitted_at < datetime.combine(cutoff, datetime.min.time()),
            )
            .order_by(Record.submitted_at)
        ).all()
        if due:
            out.append((defn, list(due)))
    return out


def retention_ends(record: Record, defn: FormDefinition) -> date | None:
    if not defn.retention_months:
        return None
    return documents.add_months(aware(record.submitted_at).date(), defn.retention_months)


def status_label(status: str) -> str:
    return {
        "submitted": _("submitted"),
        "amended": _("amended"),
        "void": _("void"),
    }.get(status, status)


def link_label(target_type: str) -> str:
    return {
        "nonconformity": _("Nonconformity"),
        "audit": _("Audit"),
        "action": _("Action"),
        "complaint": _("Complaint"),
        "record": _("Record"),
    }.get(target_type, target_type)


def shown(defn: FormDefinition, values: dict) -> list[tuple[FieldDef, str, list[list[str]]]]:
    """Return each field with its value as text (and a table's cells), for pages."""
    found = names(values)
    out = []
    for fd in defn.fields:
        value = values.get(fd.key)
        cells = []
        if fd.type == "table":
            cells = [[display(c, row.get(c.key), found) for c in fd.columns] for row in value or []]
        out.append((fd, display(fd, value, found), cells))
    return out


# -- attachments -----------------------------------------------------------------------------


def attachments_dir() -> Path:
    return Path(current_app.config["QMS_INSTANCE"]) / "attachments"


def store_attachment(actor: User, stream, filename: str, content_type: str | None) -> Attachment:
    """Keep an uploaded file under its sha256 in the instance; refuse it over the size limit.

    :raises ValidationFailed: the file is empty or too large.
    """
    limit = int(current_app.config.get("QMS_MAX_ATTACHMENT_BYTES") or DEFAULT_MAX_ATTACHMENT_BYTES)
    folder = attachments_dir()
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(1024 * 1024):
                size += len(chunk)
                if size > limit:
                    raise ValidationFailed(
                        _("The file is larger than %(mb)s MB.", mb=round(limit / 1048576, 1)),
                        field="attachment",
                    )
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise ValidationFailed(_("The file is empty."), field="attachment")
        target = folder / digest.hexdigest()
        # Same content, same name: a second upload of the file is stored once.
        if target.exists():
            os.unlink(tmp)
        else:
            os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    name = Path((filename or "").replace("\\", "/")).name.strip() or "attachment"
    attachment = Attachment(
        sha256=digest.hexdigest(),
        name=name[:255],
        size=size,
        content_type=(content_type or "application/octet-stream")[:120],
        uploaded_by_id=actor.id,
    )
    db.session.add(attachment)
    db.session.flush()
    trail.record(
        "attachment.uploaded",
        "attachment",
        str(attachment.id),
        after={"name": attachment.name, "size": size, "sha256": attachment.sha256},
        user=actor,
    )
    db.session.commit()
    return attachment


def get_attachment(ident: int) -> Attachment:
    attachment = db.session.get(Attachment, ident)
    if attachment is None or not (attachments_dir() / attachment.sha256).exists():
        raise NotFound(_("There is no such attached file."))
    return attachment


def attachment_path(attachment: Attachment) -> Path:
    return attachments_dir() / attachment.sha256


def search_filters(code: str | None) -> list[tuple[str, str]]:
    """Return (key, label) of the fields a list of one form can be filtered by."""
    if not code:
        return []
    try:
        defn = definition(code)
    except (NotFound, Conflict, ValidationFailed):
        return []
    out = []
    for fd in defn.fields:
        if fd.type == "table":
            out.extend((f"{fd.key}.{c.key}", f"{fd.label} · {c.label}") for c in fd.columns)
        elif fd.type != "attachment":
            out.append((fd.key, fd.label))
    return out
