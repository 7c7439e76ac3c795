"""The rules of record control, used by both the pages and the API.

A record form is a controlled document of type ``record_form``; its effective revision
defines the fields. A filled record is pinned to that revision and its release commit,
is numbered ``<FORM CODE>/<YEAR>/<6-digit sequence>``, and is never changed in place:
an amendment is a new version with a reason, a void keeps every version readable.

Every public function that changes something is a unit of work (:mod:`qms.uow`): a file
attached while filling is stored in the same unit as the record or draft that names it,
so a refused submission keeps neither.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from pathlib import Path
from typing import IO, Protocol

from flask_babel import gettext as _
from sqlalchemy import Text, cast, delete, func, select

from qms import attachments, clock, render, trail
from qms.auth import visibility
from qms.auth.models import Department, User
from qms.database import next_number
from qms.documents import services as documents
from qms.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from qms.extensions import db
from qms.models import utcnow
from qms.records.fields import (
    KEY_RE,
    DefinitionError,
    FieldDef,
    Lookups,
    display,
    is_blank,
    parse_fields,
    validate_values,
)

# Re-exported: pages, exports and other domains name the labels as record services.
from qms.records.labels import link_label as link_label
from qms.records.labels import status_label as status_label
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
from qms.uow import transactional

FORM_TYPE = "record_form"
NUMBER_RE = re.compile(r"^(?P<code>[A-Za-z0-9.-]{1,40})/(?P<year>\d{4})/(?P<seq>\d{6,})$")
# Who may amend any record (the submitter may amend their own), void one, and see which
# records are past their retention period.
AMEND_ROLES = ("approver", "admin")
VOID_ROLES = ("approver", "admin")
RETENTION_ROLES = ("approver", "admin")


class Upload(Protocol):
    """A file chosen in a form (Werkzeug's ``FileStorage`` is one)."""

    stream: IO[bytes]
    filename: str | None


# -- who may do what -------------------------------------------------------------------------


def can_see(user: User, record: Record) -> bool:
    """Whether ``user`` may see ``record`` (its department's, or one they submitted)."""
    return visibility.can_see(user, "record", record.department_id, record.submitted_by_id)


def can_amend(user: User, record: Record) -> bool:
    return record.status != "void" and (
        record.submitted_by_id == user.id or user.has_role(*AMEND_ROLES)
    )


def can_void(user: User, record: Record) -> bool:
    return record.status != "void" and user.has_role(*VOID_ROLES)


def can_review_retention(user: User, _records=None) -> bool:
    """Whether the user may see the records kept past retention (for a disposal decision)."""
    return user.has_role(*RETENTION_ROLES)


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
    if not fields and meta.get("printable") is not True:
        raise ValidationFailed(
            _("A record form needs at least one field under fields: in its front matter."),
            field="content",
        )
    if not fields:
        try:
            parse_fields(meta.get("proposed_fields"))
        except DefinitionError as exc:
            raise ValidationFailed(
                _("The proposed fields are not valid. %(problem)s", problem=exc.message),
                field="content",
            ) from exc


def propose_fields(meta: dict, body: str) -> dict:
    """A record form imported without fields comes in printable, its fields proposed from
    the header row of its first table, to be confirmed in the form builder."""
    if meta.get("fields"):
        return meta
    proposed, seen = [], set()
    for n, label in enumerate(render.table_header(body), start=1):
        if not label:
            continue
        slug = re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")[:40]
        key = slug if KEY_RE.match(slug or "") and slug not in seen else f"field_{n}"
        seen.add(key)
        proposed.append({"key": key, "label": label[:200], "type": "text"})
    return {**meta, "printable": True, "proposed_fields": proposed}


documents.register_content_validator(FORM_TYPE, check_form_content)
documents.register_import_preparer(FORM_TYPE, propose_fields)

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
    found = definition(code)
    if not found.fields:
        raise Conflict(
            _(
                "%(code)s is a printable form: its fields are confirmed in the form builder "
                "before it can be filled online.",
                code=code,
            ),
            field="form",
        )
    return found


def record_definition(record: Record) -> FormDefinition:
    """Return the definition a record was filled against (its pinned revision)."""
    return definition(record.form_code, record.form_revision)


def _forms(user: User | None):
    stmt = documents.list_documents(doc_type=FORM_TYPE, status="effective")
    if user is not None:
        # In SQL: filtering thousands of forms in Python made every home page slow.
        stmt = stmt.where(documents.concerning(user))
    return stmt


def forms(user: User | None = None, limit: int | None = None) -> list:
    """Return the effective record forms, only those of the user's department when given."""
    stmt = _forms(user)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(db.session.scalars(stmt))


def form_codes() -> list[str]:
    """Return the codes of the effective record forms (their code alone, in SQL)."""
    sub = _forms(None).subquery()
    return list(db.session.scalars(select(sub.c.code)))


def count_forms(user: User | None = None) -> int:
    """Return how many record forms :func:`forms` returns, counted in SQL."""
    stmt = _forms(user).order_by(None).with_only_columns(func.count(), maintain_column_froms=True)
    return db.session.scalar(stmt) or 0


# -- checking values -----------------------------------------------------------------------


def lookups(actor: User | None = None, kept: dict | None = None) -> Lookups:
    """Return how values naming things are checked; ``kept`` are a record's own values."""
    from qms.suppliers import services as suppliers

    kept_strings = frozenset(_strings(kept or {}))

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

    def equipment_problem(number: str) -> str | None:
        # An amendment may keep the instrument the record already named.
        if number in kept_strings:
            return None
        from qms.equipment import services as equipment

        return equipment.record_problem(number)

    return Lookups(
        user_exists,
        department_exists,
        attachment_exists,
        suppliers=suppliers.status_of,
        equipment=equipment_problem,
        kept=kept_strings,
    )


def _strings(value):
    """Yield every string in stored values, table cells included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def check_values(
    defn: FormDefinition,
    raw: dict,
    partial: bool = False,
    problems: dict | None = None,
    kept: dict | None = None,
) -> dict:
    """Return the clean values, or raise :class:`ValidationFailed` with errors by field key.

    ``problems`` are found before (a refused upload) and replace the value's own, if any;
    ``kept`` are the values of the record being amended.
    """
    values, errors = validate_values(defn.fields, raw, lookups(kept=kept), partial=partial)
    errors.update(problems or {})
    if errors:
        first = next(iter(errors))
        raise ValidationFailed(
            _("Some values are not valid; see the message beside each field."),
            field=first,
            detail=errors,
        )
    return values


def choices(kept: dict | None = None) -> dict:
    """Return the people, departments and providers a form's fields offer.

    Providers are those not suspended and instruments those usable, and any the values
    ``kept`` already name.
    """
    from qms.suppliers import services as suppliers

    users = db.session.scalars(
        select(User).where(User.active.is_(True)).order_by(User.full_name, User.username)
    ).all()
    depts = db.session.scalars(select(Department).order_by(Department.name)).all()
    from qms.equipment import services as equipment

    named = set(_strings(kept or {}))
    return {
        "user": [(u.username, f"{u.display_name} ({u.username})") for u in users],
        "department": [(d.name, d.name) for d in depts],
        "supplier": suppliers.choosable(kept=named),
        "equipment": equipment.usable_choices_by_measurement(kept=named),
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
    if usernames:
        from qms.suppliers import services as suppliers

        for number, label in suppliers.names_of(usernames).items():
            out[("supplier", number)] = label
    return out


# -- drafts ----------------------------------------------------------------------------------


@transactional
def save_draft(
    actor: User,
    code: str,
    raw: dict,
    draft_id: int | None = None,
    uploads: Mapping[str, Upload] | None = None,
) -> RecordDraft:
    """Keep a partly filled record as the actor's own draft; required fields may be empty.

    ``uploads`` are files newly chosen for attachment fields, kept only with the draft.
    """
    defn = fillable(code)
    raw = dict(raw)
    problems = _take_uploads(actor, defn, raw, uploads)
    values = check_values(defn, raw, partial=True, problems=problems)
    draft = get_draft(actor, draft_id) if draft_id else None
    if draft is None:
        draft = RecordDraft(form_code=defn.code, owner_id=actor.id, values=values)
        db.session.add(draft)
    else:
        if draft.form_code != defn.code:
            raise ValidationFailed(_("This draft is for another form."), field="form")
        draft.values = values
        draft.updated_at = utcnow()
    db.session.flush()
    return draft


def get_draft(actor: User, draft_id: int) -> RecordDraft:
    """Return one of the actor's drafts. :raises NotFound: not theirs or not there."""
    draft = db.session.get(RecordDraft, draft_id)
    if draft is None or draft.owner_id != actor.id:
        raise NotFound(_("There is no such record draft of yours."))
    return draft


@transactional
def delete_draft(actor: User, draft_id: int) -> None:
    """Discard one of the actor's drafts (it was never a record)."""
    db.session.delete(get_draft(actor, draft_id))


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


def get_record(number: str, viewer: User | None = None) -> Record:
    """Return the record numbered ``number``.

    Given a ``viewer``, a record of a department they may not see is reported missing.

    :raises NotFound: there is none (that the viewer may see).
    """
    record = db.session.scalar(select(Record).where(Record.number == parse_number(number)))
    if record is None or (viewer is not None and not can_see(viewer, record)):
        raise NotFound(_("There is no record %(number)s.", number=number))
    return record


def _index(record: Record, defn: FormDefinition) -> None:
    """Replace the record's searchable copies of its current values."""
    db.session.execute(
        delete(RecordValue).where(RecordValue.record_id == record.id),
        execution_options={"synchronize_session": False},
    )
    rows = []
    for fd in defn.fields:
        value = record.values.get(fd.key)
        if not is_blank(value):
            rows += fd.kind.indexed(fd, value)
    for key, value in rows:
        db.session.add(RecordValue(record_id=record.id, key=key, value=str(value)[:500]))


@transactional
def submit_record(
    actor: User,
    code: str,
    raw: dict,
    draft_id: int | None = None,
    uploads: Mapping[str, Upload] | None = None,
) -> Record:
    """Check the values against the effective form and keep them as a numbered record.

    ``uploads`` are files newly chosen for attachment fields: they are stored with the
    record, or not at all when it is refused.

    :raises ValidationFailed: with ``detail`` the problems keyed by field key.
    :raises Conflict: the form is obsolete or not in force.
    """
    defn = fillable(code)
    raw = dict(raw)
    problems = _take_uploads(actor, defn, raw, uploads)
    values = check_values(defn, raw, problems=problems)
    draft = get_draft(actor, draft_id) if draft_id else None
    now = utcnow()
    # Numbered by the organisation's year: a record at 07:00 on 1 January in UTC+8 is new.
    year = clock.local(now).year
    # The counter row stays locked until commit: concurrent submissions get distinct numbers.
    seq = next_number(f"record:{defn.code}:{year}")
    number = record_number(defn.code, year, seq)
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
    return record


@transactional
def amend_record(
    actor: User,
    number: str,
    raw: dict,
    reason: str,
    uploads: Mapping[str, Upload] | None = None,
) -> Record:
    """Add a new version of a record's values with a reason; earlier versions stay as they were.

    The values are checked against the revision the record was filled on, so a record
    keeps its form's fields even after the form is revised. ``uploads`` as for
    :func:`submit_record`.
    """
    record = get_record(number, viewer=actor)
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
    raw = dict(raw)
    problems = _take_uploads(actor, defn, raw, uploads)
    values = check_values(defn, raw, problems=problems, kept=record.values)
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
    return record


@transactional
def void_record(actor: User, number: str, reason: str) -> Record:
    """Mark a record void with a reason; it and all its versions stay readable."""
    record = get_record(number, viewer=actor)
    if record.status == "void":
        raise Conflict(_("Record %(number)s is already void.", number=number))
    if not can_void(actor, record):
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
    return record


@transactional
def link_record(number: str, target_type: str, target_key: str, actor: User) -> RecordLink:
    """Record that a record concerns, or is cited by, another object (e.g. a nonconformity).

    Linking the same pair twice returns the existing link. Called by a domain as one step
    of its own change, the link joins that change's unit of work.
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


def numbers_with_value(key: str, value: str, since: datetime | None = None) -> list[str]:
    """Return the numbers of the records (not void) whose indexed ``key`` is ``value``,
    submitted from ``since`` when given, in the order they were submitted."""
    stmt = (
        select(Record.number)
        .where(
            Record.status != "void",
            Record.id.in_(
                select(RecordValue.record_id).where(
                    RecordValue.key == key, RecordValue.value == value
                )
            ),
        )
        .order_by(Record.submitted_at, Record.id)
    )
    if since is not None:
        stmt = stmt.where(Record.submitted_at >= since)
    return list(db.session.scalars(stmt))


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
    viewer: User | None = None,
):
    """Return a select() over records with the given filters, for listing, paging or export.

    ``field``/``value`` match records whose current value of that field (a table column
    as ``table.column``) contains ``value``, ignoring case; without ``field``, any field.
    Given a ``viewer``, only the records they may see (:mod:`qms.auth.visibility`).
    """
    stmt = select(Record)
    if viewer is not None:
        stmt = visibility.restrict(
            stmt, viewer, "record", Record.department_id, Record.submitted_by_id
        )
    if form:
        stmt = stmt.where(Record.form_code == form)
    if date_from:
        stmt = stmt.where(Record.submitted_at >= _day_starts(date_from))
    if date_to:
        stmt = stmt.where(Record.submitted_at < _day_starts(date_to + timedelta(days=1)))
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


def count_up_to(stmt, cap: int) -> int:
    """Return how many rows ``stmt`` selects, counting no further than ``cap + 1``."""
    limited = stmt.order_by(None).with_only_columns(Record.id).limit(cap + 1).subquery()
    return db.session.scalar(select(func.count()).select_from(limited)) or 0


def _day_starts(day: date) -> datetime:
    """Return when the organisation's ``day`` begins, in UTC as timestamps are stored."""
    return datetime.combine(day, time.min, tzinfo=clock.zone()).astimezone(UTC)


def past_retention(today: date | None = None) -> list[tuple[FormDefinition, list[Record]]]:
    """Return, per form with a retention period, the records kept longer than it.

    Nothing is deleted: the list is for a disposal decision (QP-02).
    """
    today = today or clock.today()
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
                Record.submitted_at < _day_starts(cutoff),
            )
            .order_by(Record.submitted_at)
        ).all()
        if due:
            out.append((defn, list(due)))
    return out


def retention_ends(record: Record, defn: FormDefinition) -> date | None:
    if not defn.retention_months:
        return None
    return documents.add_months(clock.local(record.submitted_at).date(), defn.retention_months)


def shown(defn: FormDefinition, values: dict) -> list[tuple[FieldDef, str, list[list[str]]]]:
    """Return each field with its value as text (and a table's cells), for pages."""
    found = names(values)
    out = []
    for fd in defn.fields:
        value = values.get(fd.key)
        out.append((fd, display(fd, value, found), fd.kind.cells(fd, value, found)))
    return out


def record_number(form_code: str, year: int, seq: int) -> str:
    """Name a record: its form's code, the organisation's year and a six-digit count."""
    return f"{form_code}/{year}/{seq:06d}"


def example_number() -> str:
    """Return a record number of this year in the real format, for a field's placeholder."""
    return record_number("RF-07-01-01", clock.today().year, 1)


def trail_fields(defn: FormDefinition, events) -> dict:
    """Return each field's label and how its values read, for the record's audit trail."""
    every = [
        value
        for event in events
        for side in (event.before, event.after)
        if isinstance((side or {}).get("values"), dict)
        for value in side["values"].values()
    ]
    found = names(dict(enumerate(every)))
    return {fd.key: (fd.label, partial(display, fd, names=found)) for fd in defn.fields}


# -- attachments -----------------------------------------------------------------------------


@transactional
def store_attachment(actor: User, stream, filename: str | None, field: str = "file") -> Attachment:
    """Keep an uploaded file in the attachment store and name it by a row of its own.

    :raises ValidationFailed: the file is empty, too large or of a kind that may not be
        attached (``field`` names the form field in the message's detail).
    """
    stored = attachments.save(stream, filename, field=field)
    attachment = Attachment(
        sha256=stored.sha256,
        name=stored.name[:255],
        size=stored.size,
        content_type=stored.content_type[:120],
        uploaded_by_id=actor.id,
    )
    db.session.add(attachment)
    db.session.flush()
    trail.record(
        "attachment.uploaded",
        "attachment",
        str(attachment.id),
        after={"name": attachment.name, "size": stored.size, "sha256": stored.sha256},
        user=actor,
    )
    return attachment


def _take_uploads(
    actor: User, defn: FormDefinition, raw: dict, uploads: Mapping[str, Upload] | None
) -> dict[str, list[str]]:
    """Store the files chosen for attachment fields, putting each one's id in ``raw``.

    Return the refused files' problems by field key; the caller's unit of work removes
    the stored ones again if the record or draft that names them is refused.
    """
    problems: dict[str, list[str]] = {}
    for key, upload in (uploads or {}).items():
        fd = defn.field(key)
        if fd is None or fd.kind.name != "attachment":
            problems[key] = [_("This form has no field %(key)s.", key=key)]
            continue
        try:
            attachment = store_attachment(actor, upload.stream, upload.filename, field=key)
        except ValidationFailed as exc:
            problems[key] = [exc.message]
        else:
            raw[key] = attachment.id
    return problems


def get_attachment(ident: int) -> Attachment:
    """Return an attached file's row. :raises NotFound: no such row, or its file is missing."""
    attachment = db.session.get(Attachment, ident)
    if attachment is None or not attachments.exists(attachment.sha256):
        raise NotFound(_("There is no such attached file."))
    return attachment


def can_download(user: User, attachment: Attachment) -> bool:
    """Whether ``user`` may download ``attachment``: they uploaded it (a draft's file), or a
    record they may see names it in an attachment field, now or in an earlier version."""
    if attachment.uploaded_by_id == user.id or visibility.sees_all(user, "record"):
        return True
    # Narrow by the id's digits in the stored values, then read each candidate's fields.
    naming = select(RecordVersion.record_id).where(
        cast(RecordVersion.values, Text).like(f"%{attachment.id}%")
    )
    candidates = visibility.restrict(
        select(Record).where(Record.id.in_(naming)),
        user,
        "record",
        Record.department_id,
        Record.submitted_by_id,
    )
    for record in db.session.scalars(candidates):
        keys = [fd.key for fd in record_definition(record).fields if fd.kind.name == "attachment"]
        if any(v.values.get(key) == attachment.id for v in record.versions for key in keys):
            return True
    return False


def attachment_path(attachment: Attachment) -> Path:
    return attachments.path(attachment.sha256)


def search_filters(code: str | None) -> list[tuple[str, str]]:
    """Return (key, label) of the fields a list of one form can be filtered by."""
    if not code:
        return []
    try:
        defn = definition(code)
    except (NotFound, Conflict, ValidationFailed):
        return []
    return [pair for fd in defn.fields for pair in fd.kind.filters(fd)]
