"""The register: documents, their codes, clauses, departments, lookups and listings."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import gettext as _
from sqlalchemy import func, or_, select
from sqlalchemy.orm import aliased

from qms import clock, trail
from qms.auth.models import Department, User
from qms.documents.labels import status_label
from qms.documents.models import (
    DOC_TYPES,
    PARENT_TYPES,
    TYPE_FOLDERS,
    Distribution,
    Document,
    DocumentClause,
    Revision,
)
from qms.documents.permissions import AUTHORING_ROLES, can_author, needs_role
from qms.errors import Conflict, NotFound, ValidationFailed
from qms.extensions import db
from qms.gitstore import Person
from qms.uow import transactional

CODE_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,38}[A-Za-z0-9])?$")


CLAUSE_RE = re.compile(r"^(?:[4-9]|10)(?:\.\d{1,2}){0,3}$")
# Codes that would shadow pages under /documents/.
RESERVED_CODES = {"new", "tree", "preview", "review-due", "change-requests", "changes", "export"}


def person(user: User) -> Person:
    """Return the git identity of ``user``."""
    return Person(user.display_name, user.email or f"{user.username}@users.qms.invalid")


# -- lookups ---------------------------------------------------------------------------


def get_document(code: str) -> Document:
    """Return the document with ``code`` or raise :class:`NotFound`."""
    doc = db.session.scalar(select(Document).where(Document.code == code))
    if doc is None:
        raise NotFound(_("There is no document %(code)s.", code=code))
    return doc


def get_revision(doc: Document, label: str) -> Revision:
    """Return revision ``label`` of ``doc`` or raise :class:`NotFound`."""
    rev = db.session.scalar(
        select(Revision).where(Revision.document_id == doc.id, Revision.label == label)
    )
    if rev is None:
        raise NotFound(_("%(code)s has no revision %(rev)s.", code=doc.code, rev=label))
    return rev


def open_revision(doc: Document) -> Revision | None:
    """Return the document's open draft (draft, in review or approved), if any."""
    return db.session.scalar(
        select(Revision).where(
            Revision.document_id == doc.id,
            Revision.status.in_(("draft", "in_review", "approved", "scheduled")),
        )
    )


def effective_revision(doc: Document) -> Revision | None:
    """Return the revision in force (effective, or the last one of an obsolete document)."""
    return db.session.scalar(
        select(Revision).where(
            Revision.document_id == doc.id, Revision.status.in_(("effective", "obsolete"))
        )
    )


def released_commit(rev: Revision) -> str | None:
    """Return the commit on main that released ``rev`` (None before release)."""
    return rev.release_commit


def _revision_in(doc: Document, *statuses: str) -> Revision:
    """Return the open revision if it is in one of ``statuses``; raise :class:`Conflict`."""
    rev = open_revision(doc)
    if rev is None:
        raise Conflict(_("%(code)s has no open draft.", code=doc.code))
    if rev.status not in statuses:
        raise Conflict(
            _(
                "Revision %(rev)s is %(status)s; this step needs it to be %(needed)s.",
                rev=rev.label,
                status=status_label(rev.status),
                needed=" / ".join(status_label(s) for s in statuses),
            )
        )
    return rev


REGISTER_COLUMNS = [
    "code",
    "title",
    "type",
    "parent",
    "department",
    "clauses",
    "status",
    "revision",
    "effective_date",
    "review_interval_months",
    "next_review_due",
]


def register_rows(docs: Iterable[Document]) -> list[list]:
    """Return the register's rows (see REGISTER_COLUMNS) for ``docs``, as data."""
    return [
        [
            d.code,
            d.title,
            d.doc_type,
            d.parent.code if d.parent else "",
            d.department.name if d.department else "",
            " ".join(d.clauses),
            d.status,
            d.current_revision or "",
            d.effective_date or "",
            d.review_interval_months,
            d.next_review_due or "",
        ]
        for d in docs
    ]


def list_documents(
    doc_type: str | None = None,
    department_id: int | None = None,
    status: str | None = None,
    clause: str | None = None,
    due_for_review: bool = False,
    q: str | None = None,
    sort: str = "code",
):
    """Return a select() over the register with the given filters, for listing or paging."""
    stmt = select(Document)
    if doc_type:
        stmt = stmt.where(Document.doc_type == doc_type)
    if department_id:
        stmt = stmt.where(Document.department_id == department_id)
    if status:
        stmt = stmt.where(Document.status == status)
    if clause:
        # "7.5" matches documents serving 7.5 and any of its sub-clauses.
        stmt = stmt.where(
            Document.clause_rows.any(
                or_(DocumentClause.clause == clause, DocumentClause.clause.like(f"{clause}.%"))
            )
        )
    if due_for_review:
        stmt = stmt.where(Document.status == "effective", Document.next_review_due <= clock.today())
    if q:
        pattern = f"%{q.strip().lower()}%"
        stmt = stmt.where(
            or_(func.lower(Document.code).like(pattern), func.lower(Document.title).like(pattern))
        )
    order = {
        "code": Document.code,
        "title": Document.title,
        "type": Document.doc_type,
        "status": Document.status,
        "effective_date": Document.effective_date,
        "next_review_due": Document.next_review_due,
    }.get(sort.lstrip("-"), Document.code)
    return stmt.order_by(order.desc() if sort.startswith("-") else order, Document.code)


def tree() -> list[tuple[Document, int]]:
    """Return every document with its depth, in hierarchy order (the standard system table)."""
    # Only the columns the table shows: at thousands of documents, loading parents,
    # departments and clauses with each row would dominate the page.
    docs = db.session.execute(select(*TREE_COLUMNS).order_by(Document.code)).all()
    children: dict[int | None, list] = {}
    for doc in docs:
        children.setdefault(doc.parent_id, []).append(doc)
    out: list[tuple[Document, int]] = []

    def walk(parent_id, depth):
        for doc in children.get(parent_id, []):
            out.append((doc, depth))
            walk(doc.id, depth + 1)

    walk(None, 0)
    return out


@dataclass
class TreeNode:
    """One row of the hierarchy, its number of children, and them when they are shown."""

    doc: object  # a row of TREE_COLUMNS
    count: int
    children: list[TreeNode] | None = None  # None: collapsed, loaded on demand


TREE_COLUMNS = (
    Document.id,
    Document.code,
    Document.title,
    Document.doc_type,
    Document.parent_id,
    Document.status,
    Document.current_revision,
)


def tree_children(parent_ids: list[int | None]) -> dict[int | None, list[TreeNode]]:
    """Return, by parent id (None: the top), its children with their own child counts.

    Two queries whatever the number of parents: the rows, then their counts grouped.
    """
    found: dict[int | None, list[TreeNode]] = {p: [] for p in parent_ids}
    ids = [p for p in parent_ids if p is not None]
    where = Document.parent_id.in_(ids) if ids else None
    if None in parent_ids:
        top = Document.parent_id.is_(None)
        where = top if where is None else or_(where, top)
    if where is None:
        return found
    rows = db.session.execute(select(*TREE_COLUMNS).where(where).order_by(Document.code)).all()
    child = aliased(Document)
    counts = (
        dict(
            db.session.execute(
                select(child.parent_id, func.count(child.id))
                .where(child.parent_id.in_([r.id for r in rows]))
                .group_by(child.parent_id)
            ).all()
        )
        if rows
        else {}
    )
    for row in rows:
        found[row.parent_id].append(TreeNode(row, counts.get(row.id, 0)))
    return found


def collapsed_tree(open_codes: list[str] | tuple = ()) -> list[TreeNode]:
    """Return the hierarchy's top with one level open, and the subtrees of ``open_codes``.

    The rest stays collapsed (each node knows how many children it has), so the page's
    first answer does not grow with the thousands of work instructions and forms.
    """
    roots = tree_children([None])[None]
    _open(roots)
    wanted = set(open_codes)
    level = [n for root in roots for n in root.children or []]
    while wanted and level:
        opening = [n for n in level if n.doc.code in wanted and n.count]
        _open(opening)
        wanted -= {n.doc.code for n in opening}
        level = [c for n in opening for c in n.children or []]
    return roots


def _open(nodes: list[TreeNode]) -> None:
    children = tree_children([n.doc.id for n in nodes])
    for node in nodes:
        node.children = children[node.doc.id]


def subtree(code: str) -> tuple[object, list[TreeNode]]:
    """Return the row of document ``code`` and its children (collapsed), or raise NotFound."""
    row = db.session.execute(select(*TREE_COLUMNS).where(Document.code == code)).first()
    if row is None:
        raise NotFound(_("There is no document %(code)s.", code=code))
    return row, tree_children([row.id])[row.id]


# -- validation ------------------------------------------------------------------------


def validate_code(code: str) -> str:
    """Return the stripped code; raise :class:`ValidationFailed` unless it may name a document."""
    code = (code or "").strip()
    if not code:
        raise ValidationFailed(_("A document code is required."), field="code")
    if (
        not CODE_RE.match(code)
        or ".." in code
        or code.endswith(".lock")
        or code.lower() in RESERVED_CODES
    ):
        raise ValidationFailed(
            _(
                "The code %(code)s is not valid: use letters, digits, dots and dashes only, "
                "starting and ending with a letter or digit.",
                code=code,
            ),
            field="code",
        )
    return code


def validate_clauses(clauses) -> list[str]:
    """Return the ISO 9001 clauses of a list or a comma-separated string, without repeats."""
    if isinstance(clauses, str):
        clauses = [c for c in re.split(r"[,\s;，]+", clauses) if c]
    result = []
    for clause in clauses or []:
        clause = str(clause).strip()
        if not CLAUSE_RE.match(clause):
            raise ValidationFailed(
                _("%(clause)s is not an ISO 9001:2015 clause (4 to 10.3).", clause=clause),
                field="clauses",
            )
        if clause not in result:
            result.append(clause)
    return result


# -- the register ----------------------------------------------------------------------


def _department(name: str | None) -> Department | None:
    if not name:
        return None
    dept = db.session.scalar(select(Department).where(Department.name == name))
    if dept is None:
        raise ValidationFailed(_("There is no department %(name)s.", name=name), field="department")
    return dept


@transactional
def create_document(
    actor: User,
    code: str,
    title: str,
    doc_type: str,
    parent: str | None = None,
    department: str | None = None,
    clauses=(),
    review_interval_months: int = 12,
    distribution: list[str] | None = None,
) -> Document:
    """Add a document to the register; its first revision is then drafted."""
    if not can_author(actor):
        raise needs_role(*AUTHORING_ROLES)
    code = validate_code(code)
    title = (title or "").strip()
    if not title or len(title) > 300:
        raise ValidationFailed(_("A title of up to 300 characters is required."), field="title")
    if doc_type not in DOC_TYPES:
        raise ValidationFailed(
            _("The type must be one of: %(types)s.", types=", ".join(DOC_TYPES)), field="type"
        )
    if db.session.scalar(select(Document.id).where(func.lower(Document.code) == code.lower())):
        raise Conflict(_("Document %(code)s already exists.", code=code), field="code")
    parent_doc = None
    if parent:
        parent_doc = get_document(parent)
        if parent_doc.doc_type not in PARENT_TYPES[doc_type]:
            raise ValidationFailed(
                _(
                    "A %(type)s cannot sit under a %(parent)s.",
                    type=doc_type,
                    parent=parent_doc.doc_type,
                ),
                field="parent",
            )
    if not 1 <= int(review_interval_months) <= 120:
        raise ValidationFailed(
            _("The review interval must be 1 to 120 months."), field="review_interval_months"
        )
    doc = Document(
        code=code,
        title=title,
        doc_type=doc_type,
        parent=parent_doc,
        department=_department(department) or actor.department,
        review_interval_months=int(review_interval_months),
        clause_rows=[DocumentClause(clause=c) for c in validate_clauses(clauses)],
    )
    _set_distribution(doc, distribution)
    db.session.add(doc)
    db.session.flush()
    trail.record(
        "document.created",
        "document",
        code,
        after={"title": title, "type": doc_type, "parent": parent, "department": department},
        user=actor,
    )
    return doc


def set_clauses(doc: Document, clauses: list[str]) -> None:
    """Make the document serve exactly ``clauses``, touching only the rows that change."""
    for row in [r for r in doc.clause_rows if r.clause not in clauses]:
        doc.clause_rows.remove(row)
    have = set(doc.clauses)
    doc.clause_rows.extend(DocumentClause(clause=c) for c in clauses if c not in have)


@transactional
def change_properties(
    actor: User,
    doc: Document,
    parent: str | None,
    department: str | None,
    distribution: list[str] | None,
    review_interval_months: int,
) -> Document:
    """Change where a document sits in the register: parent, owner, readers, review interval."""
    if not can_author(actor, doc):
        raise needs_role(*AUTHORING_ROLES)
    before = _properties(doc)
    parent_doc = get_document(parent) if parent else None
    if parent_doc is not None and (parent_doc.id == doc.id or _descends(parent_doc, doc)):
        raise ValidationFailed(_("A document cannot sit under itself."), field="parent")
    if not 1 <= int(review_interval_months or 0) <= 120:
        raise ValidationFailed(
            _("The review interval must be 1 to 120 months."), field="review_interval_months"
        )
    doc.parent_id = parent_doc.id if parent_doc else None
    doc.department = _department(department)
    doc.review_interval_months = int(review_interval_months)
    _set_distribution(doc, distribution)
    after = _properties(doc)
    if after != before:
        trail.record(
            "document.changed", "document", doc.code, before=before, after=after, user=actor
        )
    return doc


def _properties(doc: Document) -> dict:
    db.session.flush()
    return {
        "parent": doc.parent.code if doc.parent else None,
        "department": doc.department.name if doc.department else None,
        "distribution": ["all"]
        if doc.distribute_to_all
        else sorted(d.department.name for d in doc.distribution),
        "review_interval_months": doc.review_interval_months,
    }


def _descends(candidate: Document, ancestor: Document) -> bool:
    seen = set()
    node = candidate
    while node is not None and node.id not in seen:
        if node.id == ancestor.id:
            return True
        seen.add(node.id)
        node = node.parent
    return False


def _set_distribution(doc: Document, names: list[str] | None) -> None:
    names = list(names or [])
    doc.distribute_to_all = "all" in names
    depts = {d.id: d for d in (_department(n) for n in names if n != "all") if d}
    # Rows of departments still named stay: a new row beside the old one would break the
    # one-row-per-department rule before the old one is deleted.
    kept = [row for row in doc.distribution if row.department_id in depts]
    have = {row.department_id for row in kept}
    doc.distribution = kept + [
        Distribution(department=d) for i, d in depts.items() if i not in have
    ]


def attachment_dir(doc_type: str, code: str) -> str:
    """Return the repository folder a document's images and attachments live in.

    ``procedures/QP-07.md`` owns ``procedures/QP-07/``, so the Markdown references its
    images by a relative path (``QP-07/media/image1.png``) that a plain clone shows too.
    """
    return f"{TYPE_FOLDERS[doc_type]}/{code}"


def add_months(day: date, months: int) -> date:
    """Return ``day`` moved by ``months``, on the month's last day where it is shorter."""
    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    for dom in (day.day, 30, 29, 28):
        try:
            return date(year, month, min(dom, day.day))
        except ValueError:
            continue
    return date(year, month, 28)


def next_review_window(days: int = 30) -> date:
    """Return the last day a review due now or soon falls on, for the "due" lists."""
    return clock.today() + timedelta(days=days)
