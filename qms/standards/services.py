"""The rules of the standard system (标准体系), for pages and API alike.

- Categories belong to a scheme (one way of dividing the system) and nest; the quality
  office configures them, or applies a preset in one click. A category that holds
  documents, standards or sub-categories cannot be removed.
- External standards are registered once under their normalised number
  (``GB/T 39734-2020``). Marking one replaced (naming its successor, which may be added
  at once) or withdrawn raises one change request on the register documents that cite
  it, and none while an earlier one from that standard is still open.
- Every register document may be placed in one category of each scheme.

Nothing here commits: the outermost ``@transactional`` call owns the transaction.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import func, select

from qms import trail
from qms.auth.models import User
from qms.documents import services as documents
from qms.documents.models import ChangeRequest, Document
from qms.errors import NotFound, PermissionDenied, ValidationFailed
from qms.extensions import db
from qms.standards import labels
from qms.standards.models import (
    STANDARD_STATUSES,
    DocumentCategory,
    ExternalStandard,
    StandardCategory,
    StandardCitation,
)
from qms.standards.permissions import can_change_status, can_configure, can_manage, can_place
from qms.uow import transactional

SCHEME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")
#: "GB/T39734-2020" -> prefix "GB/T", rest "39734-2020"; a local standard's prefix has
#: its region's digits before the slash ("DB33/T"), an international one none ("ISO").
_PREFIX = re.compile(r"^([A-Z]+\d*(?:/[A-Z]+)+|[A-Z]+)\s*(\d.*)$")
_DASHES = re.compile(r"[\u2010-\u2015\u2212\uff0d]")
#: The year (or edition) a number ends with: "-2020", ":2015".
_YEAR = re.compile(r"[-:]((?:19|20)\d\d)$")
#: Statuses that make the documents citing a standard out of date.
OUT_OF_DATE = ("replaced", "withdrawn")


# -- checking what is given -----------------------------------------------------------------


def _text(value, field: str, message: str, limit: int) -> str:
    value = str(value or "").strip()
    if not value:
        raise ValidationFailed(message, field=field)
    if len(value) > limit:
        raise ValidationFailed(_("At most %(n)d characters, please.", n=limit), field=field)
    return value


def _optional(value, field: str, limit: int) -> str:
    value = str(value or "").strip()
    if len(value) > limit:
        raise ValidationFailed(_("At most %(n)d characters, please.", n=limit), field=field)
    return value


def normalise_number(number: str | None) -> str:
    """Return a standard's number as registers write it: ``gb/t39734—2020`` -> ``GB/T 39734-2020``.

    Full-width characters become their ASCII forms, any dash a hyphen, runs of spaces
    one space, the issuing prefix upper case and followed by one space.
    """
    text = unicodedata.normalize("NFKC", str(number or ""))
    text = _DASHES.sub("-", text)
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"\s*([-:/.])\s*", r"\1", text)
    match = _PREFIX.match(text.upper())
    if match:
        text = f"{match[1]} {match[2]}"
    return text


def _number(number: str | None, field: str = "number") -> str:
    number = normalise_number(number)
    if not number:
        raise ValidationFailed(_("Give the standard's number, e.g. GB/T 39734-2020."), field=field)
    if len(number) > 80 or not re.search(r"\d", number):
        raise ValidationFailed(
            _("%(number)s is not a standard's number, e.g. GB/T 39734-2020.", number=number[:80]),
            field=field,
        )
    return number


def edition_of(number: str) -> str:
    """Return the year a number names (``2020`` of ``GB/T 39734-2020``), or ''."""
    match = _YEAR.search(number)
    return match[1] if match else ""


def _status(status: str | None) -> str:
    if status not in STANDARD_STATUSES:
        raise ValidationFailed(
            _(
                "The status is one of: %(statuses)s.",
                statuses=", ".join(labels.status_label(s) for s in STANDARD_STATUSES),
            ),
            field="status",
        )
    return status


def _date(value, field: str = "effective_on") -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValidationFailed(
            _("Write the date as YYYY-MM-DD, e.g. 2020-11-01."), field=field
        ) from None


def _document(code: str | None, field: str = "document") -> Document | None:
    code = str(code or "").strip()
    if not code:
        return None
    try:
        return documents.get_document(code)
    except NotFound as exc:
        raise ValidationFailed(exc.message, field=field) from None


def _category(ident, field: str = "category") -> StandardCategory | None:
    """Return the category named by id (or ``scheme:code``), None for none given."""
    if ident in (None, "", 0):
        return None
    found = None
    if isinstance(ident, StandardCategory):
        return ident
    if isinstance(ident, int) or str(ident).isdigit():
        found = db.session.get(StandardCategory, int(ident))
    elif ":" in str(ident):
        scheme, _sep, code = str(ident).partition(":")
        found = db.session.scalar(
            select(StandardCategory).filter_by(scheme=scheme.strip(), code=code.strip())
        )
    if found is None:
        raise ValidationFailed(_("There is no such category."), field=field)
    return found


# -- categories ---------------------------------------------------------------------------


def schemes() -> list[str]:
    """Return the schemes that have categories, presets first."""
    found = set(db.session.scalars(select(StandardCategory.scheme).distinct()))
    order = list(labels.PRESETS)
    return sorted(found, key=lambda s: (order.index(s) if s in order else len(order), s))


def categories(scheme: str | None = None) -> list[StandardCategory]:
    """Return the categories of ``scheme`` (or all), each parent before its children."""
    query = select(StandardCategory)
    if scheme:
        query = query.where(StandardCategory.scheme == scheme)
    rows = list(db.session.scalars(query))
    children: dict[int | None, list[StandardCategory]] = {}
    for row in rows:
        children.setdefault(row.parent_id, []).append(row)
    ordered: list[StandardCategory] = []

    def walk(parent_id):
        for row in sorted(children.get(parent_id, []), key=lambda c: (c.position, c.code)):
            ordered.append(row)
            walk(row.id)

    walk(None)
    return ordered


def depth_of(category: StandardCategory) -> int:
    depth, seen = 0, category
    while seen.parent_id is not None:
        seen = db.session.get(StandardCategory, seen.parent_id)
        depth += 1
    return depth


def get_category(category_id: int) -> StandardCategory:
    category = db.session.get(StandardCategory, category_id)
    if category is None:
        raise NotFound(_("There is no such category."))
    return category


def _descendant_ids(category: StandardCategory) -> set[int]:
    ids, frontier = {category.id}, [category.id]
    while frontier:
        frontier = list(
            db.session.scalars(
                select(StandardCategory.id).where(StandardCategory.parent_id.in_(frontier))
            )
        )
        ids.update(frontier)
    return ids


def _snapshot_category(c: StandardCategory) -> dict:
    parent = db.session.get(StandardCategory, c.parent_id) if c.parent_id else None
    return {
        "scheme": c.scheme,
        "code": c.code,
        "name": c.name,
        "parent": parent.code if parent else None,
        "position": c.position,
    }


def _key(c: StandardCategory) -> str:
    return f"{c.scheme}:{c.code}"


def _shown(c: StandardCategory) -> str:
    """A category as the trail shows it to people: its code and name."""
    return f"{c.code} {c.name}"


def _scheme(scheme: str | None) -> str:
    scheme = str(scheme or "").strip().lower()
    if not SCHEME_PATTERN.match(scheme):
        raise ValidationFailed(
            _("Name the scheme with lower-case letters, digits, - or _ (e.g. services)."),
            field="scheme",
        )
    return scheme


def _code(scheme: str, code: str | None, exclude: int | None = None) -> str:
    code = str(code or "").strip()
    if not CODE_PATTERN.match(code):
        raise ValidationFailed(
            _("A category's code is letters, digits, . - or _ (e.g. 301 or ZL)."), field="code"
        )
    clash = db.session.scalar(
        select(StandardCategory.id).where(
            StandardCategory.scheme == scheme,
            func.lower(StandardCategory.code) == code.lower(),
        )
    )
    if clash is not None and clash != exclude:
        raise ValidationFailed(
            _("The scheme already has a category %(code)s.", code=code), field="code"
        )
    return code


def _parent(scheme: str, parent, moving: StandardCategory | None = None):
    parent = _category(parent, field="parent")
    if parent is None:
        return None
    if parent.scheme != scheme:
        raise ValidationFailed(_("The parent category belongs to another scheme."), field="parent")
    if moving is not None and parent.id in _descendant_ids(moving):
        raise ValidationFailed(
            _("A category cannot be moved under itself or one of its sub-categories."),
            field="parent",
        )
    return parent


def _next_position(scheme: str, parent_id: int | None) -> int:
    """Return the position after the last sibling under ``parent_id`` (None: the top)."""
    under = (
        StandardCategory.parent_id.is_(None)
        if parent_id is None
        else StandardCategory.parent_id == parent_id
    )
    highest = db.session.scalar(
        select(func.max(StandardCategory.position)).where(StandardCategory.scheme == scheme, under)
    )
    return (highest or 0) + 1


def _may_configure(actor: User) -> None:
    if not can_configure(actor):
        raise PermissionDenied(_("Only the quality office may configure the standard system."))


@transactional
def add_category(
    actor: User, scheme: str, code: str, name: str, parent=None, position: int | None = None
) -> StandardCategory:
    """Add a category to ``scheme`` (a new scheme starts with its first category)."""
    _may_configure(actor)
    scheme = _scheme(scheme)
    category = StandardCategory(
        scheme=scheme,
        code=_code(scheme, code),
        name=_text(name, "name", _("A name is required."), 200),
    )
    parent = _parent(scheme, parent)
    category.parent_id = parent.id if parent else None
    category.position = (
        int(position) if position is not None else _next_position(scheme, category.parent_id)
    )
    db.session.add(category)
    db.session.flush()
    trail.record(
        "standard_category.added",
        "standard_category",
        _key(category),
        after=_snapshot_category(category),
        user=actor,
    )
    return category


@transactional
def change_category(actor: User, category: StandardCategory, **changes) -> StandardCategory:
    """Rename, recode or move a category (``parent`` None for the top; ``position``)."""
    _may_configure(actor)
    before = _snapshot_category(category)
    if "code" in changes:
        category.code = _code(category.scheme, changes["code"], exclude=category.id)
    if "name" in changes:
        category.name = _text(changes["name"], "name", _("A name is required."), 200)
    if "parent" in changes:
        parent = _parent(category.scheme, changes["parent"], moving=category)
        new_parent = parent.id if parent else None
        if new_parent != category.parent_id:
            category.parent_id = new_parent
            if changes.get("position") is None:
                category.position = _next_position(category.scheme, new_parent)
    if changes.get("position") is not None:
        position = changes["position"]
        if isinstance(position, bool) or not isinstance(position, int) or position < 0:
            raise ValidationFailed(
                _("The position is a whole number, 0 or more."), field="position"
            )
        category.position = position
    db.session.flush()
    after = _snapshot_category(category)
    if after == before:
        raise ValidationFailed(_("Nothing was changed."))
    trail.record(
        "standard_category.changed",
        "standard_category",
        _key(category),
        before=before,
        after=after,
        user=actor,
    )
    return category


def category_contents(category: StandardCategory) -> tuple[int, int, int]:
    """Return how many (sub-categories, documents, standards) ``category`` holds itself."""
    subs = db.session.scalar(select(func.count()).where(StandardCategory.parent_id == category.id))
    docs = db.session.scalar(
        select(func.count()).where(DocumentCategory.category_id == category.id)
    )
    stds = db.session.scalar(
        select(func.count()).where(ExternalStandard.category_id == category.id)
    )
    return subs or 0, docs or 0, stds or 0


@transactional
def remove_category(actor: User, category: StandardCategory) -> None:
    """Remove an empty category; one that holds anything is refused, saying what."""
    _may_configure(actor)
    subs, docs, stds = category_contents(category)
    if subs or docs or stds:
        raise ValidationFailed(
            _(
                "%(category)s cannot be removed: it holds %(subs)d sub-categories, "
                "%(docs)d documents and %(stds)d standards. Move them elsewhere first.",
                category=str(category),
                subs=subs,
                docs=docs,
                stds=stds,
            )
        )
    before = _snapshot_category(category)
    key = _key(category)
    db.session.delete(category)
    db.session.flush()
    trail.record("standard_category.removed", "standard_category", key, before=before, user=actor)


@transactional
def apply_preset(actor: User, preset: str) -> list[StandardCategory]:
    """Create a preset scheme's categories, named in the current language.

    :raises ValidationFailed: unknown preset, or the scheme already has categories.
    """
    _may_configure(actor)
    if preset not in labels.PRESETS:
        raise ValidationFailed(
            _("There is no preset %(preset)s.", preset=str(preset)[:40]), field="preset"
        )
    if db.session.scalar(select(StandardCategory.id).filter_by(scheme=preset).limit(1)):
        raise ValidationFailed(
            _(
                "The scheme %(scheme)s already has categories; change them one by one.",
                scheme=labels.scheme_label(preset),
            ),
            field="preset",
        )
    made: dict[str, StandardCategory] = {}
    for position, (code, name, parent) in enumerate(labels.PRESETS[preset], start=1):
        category = StandardCategory(
            scheme=preset,
            code=code,
            name=str(name),
            parent_id=made[parent].id if parent else None,
            position=position,
        )
        db.session.add(category)
        db.session.flush()
        made[code] = category
    trail.record(
        "standard_category.preset_applied",
        "standard_category",
        preset,
        after={"categories": [f"{c.code} {c.name}" for c in made.values()]},
        user=actor,
    )
    return list(made.values())


# -- the register of external standards -----------------------------------------------------


def get_standard(standard_id: int) -> ExternalStandard:
    std = db.session.get(ExternalStandard, standard_id)
    if std is None:
        raise NotFound(_("There is no such standard."))
    return std


def standard_by_number(number: str) -> ExternalStandard | None:
    number = normalise_number(number)
    if not number:
        return None
    return db.session.scalar(
        select(ExternalStandard).where(func.upper(ExternalStandard.number) == number.upper())
    )


def list_standards(
    category_id: int | None = None, status: str | None = None, q: str | None = None
) -> list[ExternalStandard]:
    """Return the standards, filtered by category (with its sub-categories), status, text."""
    query = select(ExternalStandard)
    if category_id:
        category = db.session.get(StandardCategory, category_id)
        if category is None:
            return []
        query = query.where(ExternalStandard.category_id.in_(_descendant_ids(category)))
    if status:
        query = query.where(ExternalStandard.status == status)
    if q:
        pattern = f"%{q.strip().lower()}%"
        query = query.where(
            func.lower(ExternalStandard.number).like(pattern)
            | func.lower(ExternalStandard.title).like(pattern)
        )
    return list(db.session.scalars(query.order_by(ExternalStandard.number)))


def _snapshot(s: ExternalStandard) -> dict:
    return {
        "number": s.number,
        "title": s.title,
        "edition": s.edition,
        "issuing_body": s.issuing_body,
        "status": s.status,
        "effective_on": s.effective_on.isoformat() if s.effective_on else None,
        "replaced_by": s.replaced_by.number if s.replaced_by else None,
        "category": _shown(s.category) if s.category else None,
        "document": document_code(s.document_id),
    }


def document_code(document_id: int | None) -> str | None:
    if document_id is None:
        return None
    return db.session.scalar(select(Document.code).where(Document.id == document_id))


def _unique(number: str, exclude: int | None = None, field: str = "number") -> str:
    found = standard_by_number(number)
    if found is not None and found.id != exclude:
        raise ValidationFailed(
            _("%(number)s is already in the register.", number=found.number), field=field
        )
    return number


@transactional
def add_standard(
    actor: User,
    number: str,
    title: str,
    edition: str = "",
    issuing_body: str = "",
    effective_on=None,
    category=None,
    document: str | None = None,
) -> ExternalStandard:
    """Register an external standard, in force; its edition defaults to its number's year."""
    if not can_manage(actor):
        raise PermissionDenied(_("Only the quality office may change the register of standards."))
    number = _unique(_number(number))
    category = _category(category)
    copy = _document(document)
    std = ExternalStandard(
        number=number,
        title=_text(title, "title", _("A title is required."), 300),
        edition=_optional(edition, "edition", 40) or edition_of(number),
        issuing_body=_optional(issuing_body, "issuing_body", 200),
        status="in_force",
        effective_on=_date(effective_on),
        category_id=category.id if category else None,
        document_id=copy.id if copy else None,
    )
    db.session.add(std)
    db.session.flush()
    db.session.refresh(std, ["category"])
    trail.record(
        "standard.added", "external_standard", std.number, after=_snapshot(std), user=actor
    )
    return std


@transactional
def change_standard(actor: User, std: ExternalStandard, **changes) -> ExternalStandard:
    """Change a standard's details (not its status: :func:`set_status` does that)."""
    if not can_manage(actor):
        raise PermissionDenied(_("Only the quality office may change the register of standards."))
    before = _snapshot(std)
    key = std.number
    if "number" in changes:
        std.number = _unique(_number(changes["number"]), exclude=std.id)
    if "title" in changes:
        std.title = _text(changes["title"], "title", _("A title is required."), 300)
    if "edition" in changes:
        std.edition = _optional(changes["edition"], "edition", 40) or edition_of(std.number)
    if "issuing_body" in changes:
        std.issuing_body = _optional(changes["issuing_body"], "issuing_body", 200)
    if "effective_on" in changes:
        std.effective_on = _date(changes["effective_on"])
    if "category" in changes:
        category = _category(changes["category"])
        std.category_id = category.id if category else None
    if "document" in changes:
        copy = _document(changes["document"])
        std.document_id = copy.id if copy else None
    db.session.flush()
    db.session.refresh(std, ["category"])
    after = _snapshot(std)
    if after == before:
        raise ValidationFailed(_("Nothing was changed."))
    trail.record(
        "standard.changed", "external_standard", key, before=before, after=after, user=actor
    )
    return std


def replaced_standards(std: ExternalStandard) -> list[ExternalStandard]:
    """Return the older standards that ``std`` replaced."""
    return list(
        db.session.scalars(
            select(ExternalStandard)
            .where(ExternalStandard.replaced_by_id == std.id)
            .order_by(ExternalStandard.number)
        )
    )


def citing_documents(std: ExternalStandard) -> list[Document]:
    """Return the register documents recorded as citing ``std``, by code."""
    return list(
        db.session.scalars(
            select(Document)
            .join(StandardCitation, StandardCitation.document_id == Document.id)
            .where(StandardCitation.standard_id == std.id)
            .order_by(Document.code)
        )
    )


def _source_ref(std: ExternalStandard) -> str:
    return std.number[:40]


def open_change_requests(std: ExternalStandard) -> list[ChangeRequest]:
    """Return the open change requests this standard raised."""
    return list(
        db.session.scalars(
            select(ChangeRequest).where(
                ChangeRequest.source_ref == _source_ref(std), ChangeRequest.status == "open"
            )
        )
    )


def _raise_change_request(actor: User, std: ExternalStandard, why: str) -> str | None:
    docs = [d for d in citing_documents(std) if d.status != "obsolete"]
    if not docs or open_change_requests(std):
        return None
    if std.status == "replaced":
        successor = std.replaced_by
        title = _(
            "%(number)s replaced by %(successor)s", number=std.number, successor=successor.number
        )
        reason = _(
            "The external standard %(number)s %(title)s that these documents cite has been "
            "replaced by %(successor)s %(successor_title)s. Check each document against the "
            "new edition and update its references.",
            number=std.number,
            title=std.title,
            successor=successor.number,
            successor_title=successor.title,
        )
    else:
        title = _("%(number)s withdrawn", number=std.number)
        reason = _(
            "The external standard %(number)s %(title)s that these documents cite has been "
            "withdrawn. Check each document and remove or replace the reference.",
            number=std.number,
            title=std.title,
        )
    if why:
        reason += f"\n\n{why}"
    cr = documents.raise_change_request(
        actor, title[:300], reason, [d.code for d in docs], source_ref=_source_ref(std)
    )
    db.session.flush()
    return cr.number


@transactional
def set_status(
    actor: User,
    std: ExternalStandard,
    status: str,
    replaced_by: str | None = None,
    successor_title: str | None = None,
    reason: str = "",
) -> str | None:
    """Mark a standard in force, replaced by ``replaced_by`` (a number) or withdrawn.

    A successor not yet registered is added at once when ``successor_title`` is given.
    Becoming replaced or withdrawn raises one change request on the documents citing the
    standard; return its number, or None when none was raised.
    """
    if not can_change_status(actor):
        raise PermissionDenied(_("Only the quality office may change a standard's status."))
    status = _status(status)
    before = _snapshot(std)
    successor = None
    if status == "replaced":
        if not normalise_number(replaced_by):
            raise ValidationFailed(
                _("Name the standard that replaces %(number)s.", number=std.number),
                field="replaced_by",
            )
        number = _number(replaced_by, field="replaced_by")
        successor = standard_by_number(number)
        if successor is None:
            if not str(successor_title or "").strip():
                raise ValidationFailed(
                    _(
                        "%(number)s is not in the register: give its title to add it now.",
                        number=number,
                    ),
                    field="successor_title",
                )
            successor = add_standard(
                actor,
                number,
                successor_title,
                issuing_body=std.issuing_body,
                category=std.category_id,
            )
        if successor.id == std.id:
            raise ValidationFailed(_("A standard cannot replace itself."), field="replaced_by")
        if successor.status != "in_force":
            raise ValidationFailed(
                _("%(number)s is not in force itself.", number=successor.number),
                field="replaced_by",
            )
    std.status = status
    std.replaced_by_id = successor.id if successor else None
    db.session.flush()
    db.session.refresh(std, ["replaced_by"])
    after = _snapshot(std)
    if after == before:
        return None  # set again as it was: nothing changes, nothing is raised
    raised = None
    if status in OUT_OF_DATE:
        raised = _raise_change_request(actor, std, str(reason or "").strip())
    trail.record(
        "standard.status_changed",
        "external_standard",
        std.number,
        before={"status": before["status"], "replaced_by": before["replaced_by"]},
        after={
            "status": after["status"],
            "replaced_by": after["replaced_by"],
            "change_request": raised,
            "reason": str(reason or "").strip() or None,
        },
        user=actor,
    )
    return raised


# -- citations --------------------------------------------------------------------------------


@transactional
def cite(actor: User, std: ExternalStandard, codes) -> list[str]:
    """Record that the documents ``codes`` cite ``std``; return the codes newly recorded."""
    if not can_manage(actor):
        raise PermissionDenied(_("Only the quality office may change the register of standards."))
    wanted = [str(c).strip() for c in codes or [] if str(c).strip()]
    if not wanted:
        raise ValidationFailed(_("Name at least one document by its code."), field="documents")
    have = {d.id for d in citing_documents(std)}
    added = []
    for code in dict.fromkeys(wanted):
        doc = _document(code, field="documents")
        if doc.id in have:
            continue
        db.session.add(StandardCitation(standard_id=std.id, document_id=doc.id))
        have.add(doc.id)
        added.append(doc.code)
    if not added:
        raise ValidationFailed(
            _("These documents are already recorded as citing %(number)s.", number=std.number),
            field="documents",
        )
    db.session.flush()
    trail.record(
        "standard.cited", "external_standard", std.number, after={"documents": added}, user=actor
    )
    return added


@transactional
def uncite(actor: User, std: ExternalStandard, code: str) -> None:
    """Record that a document no longer cites ``std``."""
    if not can_manage(actor):
        raise PermissionDenied(_("Only the quality office may change the register of standards."))
    doc = _document(code, field="documents")
    row = db.session.scalar(
        select(StandardCitation).filter_by(standard_id=std.id, document_id=doc.id if doc else 0)
    )
    if row is None:
        raise ValidationFailed(
            _("%(code)s is not recorded as citing %(number)s.", code=code, number=std.number),
            field="documents",
        )
    db.session.delete(row)
    db.session.flush()
    trail.record(
        "standard.uncited",
        "external_standard",
        std.number,
        before={"documents": [doc.code]},
        user=actor,
    )


def find_citing(std: ExternalStandard, limit: int = 100) -> list[Document]:
    """Propose the documents whose effective text mentions the number and that are not
    recorded as citing it yet (found through the search index)."""
    from qms.search import services as search

    results = search.search(std.number, types=["document"], per_page=limit)
    have = {d.code for d in citing_documents(std)}
    codes = [hit.key for hit in results.items if hit.key not in have]
    if not codes:
        return []
    found = db.session.scalars(select(Document).where(Document.code.in_(codes)))
    by_code = {d.code: d for d in found if d.id != std.document_id}
    return [by_code[c] for c in codes if c in by_code]


# -- placing documents ------------------------------------------------------------------------


def placements(scheme: str) -> dict[int, StandardCategory]:
    """Return the category of each placed document in ``scheme``, by document id."""
    rows = db.session.scalars(
        select(DocumentCategory)
        .join(StandardCategory, StandardCategory.id == DocumentCategory.category_id)
        .where(StandardCategory.scheme == scheme)
    )
    return {row.document_id: row.category for row in rows}


def unplaced(scheme: str) -> list[Document]:
    """Return the register documents (not obsolete) without a category in ``scheme``."""
    placed = placements(scheme)
    docs = db.session.scalars(documents.list_documents())
    return [d for d in docs if d.status != "obsolete" and d.id not in placed]


@transactional
def place(actor: User, scheme: str, choices: dict[str, object]) -> int:
    """Place documents in categories of ``scheme``: ``{code: category id}``; return how many.

    A document already placed in the scheme moves to the new category.
    """
    if not can_place(actor):
        raise PermissionDenied(_("Only the quality office may place documents in categories."))
    chosen = {str(code).strip(): c for code, c in (choices or {}).items() if c not in (None, "")}
    if not chosen:
        raise ValidationFailed(_("Choose a category for at least one document."), field="category")
    count = 0
    for code, ident in chosen.items():
        doc = _document(code, field="documents")
        category = _category(ident)
        if category.scheme != scheme:
            raise ValidationFailed(
                _("The category chosen for %(code)s belongs to another scheme.", code=doc.code),
                field="category",
            )
        existing = db.session.scalar(
            select(DocumentCategory)
            .join(StandardCategory, StandardCategory.id == DocumentCategory.category_id)
            .where(DocumentCategory.document_id == doc.id, StandardCategory.scheme == scheme)
        )
        before = _shown(existing.category) if existing else None
        if existing is not None and existing.category_id == category.id:
            continue
        if existing is not None:
            existing.category_id = category.id
        else:
            db.session.add(DocumentCategory(document_id=doc.id, category_id=category.id))
        trail.record(
            "document.placed",
            "document",
            doc.code,
            before={"category": before},
            after={"category": _shown(category)},
            user=actor,
        )
        count += 1
    db.session.flush()
    return count


# -- the standard-system table ------------------------------------------------------------


@dataclass
class TableNode:
    """One category of the table: what it holds itself, and the totals of its branch."""

    category: StandardCategory
    depth: int
    documents: list[Document] = field(default_factory=list)
    standards: list[ExternalStandard] = field(default_factory=list)
    total_documents: int = 0
    total_standards: int = 0

    @property
    def total(self) -> int:
        return self.total_documents + self.total_standards


def table(scheme: str) -> list[TableNode]:
    """Return the category tree of ``scheme`` with its documents and standards, in order."""
    ordered = categories(scheme)
    nodes = {c.id: TableNode(c, 0) for c in ordered}
    for c in ordered:
        if c.parent_id in nodes:
            nodes[c.id].depth = nodes[c.parent_id].depth + 1
    ids = list(nodes)
    if ids:
        rows = db.session.scalars(
            select(DocumentCategory)
            .where(DocumentCategory.category_id.in_(ids))
            .join(Document, Document.id == DocumentCategory.document_id)
            .where(Document.status != "obsolete")
            .order_by(Document.code)
        )
        for row in rows:
            nodes[row.category_id].documents.append(row.document)
        stds = db.session.scalars(
            select(ExternalStandard)
            .where(ExternalStandard.category_id.in_(ids))
            .order_by(ExternalStandard.number)
        )
        for std in stds:
            nodes[std.category_id].standards.append(std)
    # Children come after their parent: add each branch's totals from the bottom up.
    for c in reversed(ordered):
        node = nodes[c.id]
        node.total_documents += len(node.documents)
        node.total_standards += len(node.standards)
        if c.parent_id in nodes:
            nodes[c.parent_id].total_documents += node.total_documents
            nodes[c.parent_id].total_standards += node.total_standards
    return [nodes[c.id] for c in ordered]
