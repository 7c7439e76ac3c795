"""Importing an existing system: a whole batch released as first revisions, all or nothing."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

import yaml
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select

from qms import anchors, clock, render, trail
from qms.auth.models import User
from qms.documents.approval import _sign
from qms.documents.drafting import CONTENT_VALIDATORS, revision_label
from qms.documents.models import (
    DOC_TYPES,
    PARENT_TYPES,
    TYPE_FOLDERS,
    Document,
    DocumentClause,
    Revision,
)
from qms.documents.permissions import IMPORTING_ROLES, can_import, needs_role
from qms.documents.register import (
    _department,
    attachment_dir,
    person,
    validate_clauses,
    validate_code,
)
from qms.documents.release import _apply_effective, tag_message
from qms.errors import ValidationFailed
from qms.extensions import db
from qms.gitstore import format_message, tag_name
from qms.models import utcnow
from qms.uow import store, transactional


@dataclass
class ImportItem:
    """One document of an import batch, already converted to Markdown."""

    code: str
    title: str
    doc_type: str
    body: str
    #: Files stored in the document's own folder beside its Markdown, by path relative to
    #: that folder: ``media/image1.png``, ``original/QP-07 Document control.docx``.
    files: dict[str, bytes] = field(default_factory=dict)
    parent: str | None = None
    department: str | None = None
    #: Front matter the source file carried (clauses, a record form's fields…).
    meta: dict = field(default_factory=dict)
    #: Where it came from, for messages and the trail: the file name.
    source: str = ""


# What a domain adds to the front matter of an imported document of one type, e.g. records
# proposes a record form's fields; each is ``prepare(meta, body) -> meta``.
IMPORT_PREPARERS: dict[str, object] = {}


def register_import_preparer(doc_type: str, prepare) -> None:
    IMPORT_PREPARERS[doc_type] = prepare


def _prepared(item: ImportItem) -> dict:
    """The item's front matter with what its type's domain adds on import."""
    meta = {**item.meta, "title": item.title, "type": item.doc_type}
    prepare = IMPORT_PREPARERS.get(item.doc_type)
    return prepare(meta, item.body) if prepare is not None else meta


def import_content(item: ImportItem, department: str | None = None) -> str:
    """Return the Markdown file an imported document is stored as: front matter + body."""
    meta = {
        k: v for k, v in _prepared(item).items() if k not in ("code", "title", "type", "parent")
    }
    head = {"code": item.code, "title": item.title, "type": item.doc_type}
    if item.parent:
        head["parent"] = item.parent
    if department:
        head["department"] = department
    meta = {**head, **{k: v for k, v in meta.items() if k not in head}}
    front = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, default_flow_style=None)
    return f"---\n{front}---\n\n{item.body.strip()}\n"


def check_import(items: list[ImportItem], progress: Callable | None = None) -> list[list[str]]:
    """Return, for each item, the problems that stop it being imported (empty lists: none).

    The same rules as creating and releasing a document by hand: a valid and new code
    (also within the batch), a title, a known type, a parent of the right type (in the
    register or the batch), a known department, safe content within the size limit, and
    the checks other domains add for the type. ``progress(done, total)`` is called as the
    content is checked, the slow part.
    """
    problems: list[list[str]] = [[] for _ in items]
    existing = {c.lower() for c in db.session.scalars(select(Document.code)) if c is not None}
    batch: dict[str, int] = {}
    for index, item in enumerate(items):
        found = problems[index]
        try:
            code = validate_code(item.code)
        except ValidationFailed as exc:
            found.append(exc.message)
            continue
        if code.lower() in existing:
            found.append(_("Document %(code)s already exists.", code=code))
        elif code.lower() in batch:
            other = items[batch[code.lower()]].source
            found.append(_("The code %(code)s is also given to %(other)s.", code=code, other=other))
        else:
            batch[code.lower()] = index
        if not (item.title or "").strip() or len(item.title) > 300:
            found.append(_("A title of up to 300 characters is required."))
        if item.doc_type not in DOC_TYPES:
            found.append(
                _(
                    "The type %(type)s is unknown; it must be one of: %(types)s.",
                    type=item.doc_type,
                    types=", ".join(DOC_TYPES),
                )
            )
        if item.department:
            try:
                _department(item.department)
            except ValidationFailed as exc:
                found.append(exc.message)
    for index, item in enumerate(items):
        if not item.parent or item.doc_type not in DOC_TYPES:
            continue
        if item.parent.lower() in batch:
            parent_type = items[batch[item.parent.lower()]].doc_type
        else:
            parent_type = db.session.scalar(
                select(Document.doc_type).where(func.lower(Document.code) == item.parent.lower())
            )
            if parent_type is None:
                problems[index].append(_("There is no document %(code)s.", code=item.parent))
                continue
        if parent_type not in PARENT_TYPES[item.doc_type]:
            problems[index].append(
                _(
                    "A %(type)s cannot sit under a %(parent)s.",
                    type=item.doc_type,
                    parent=parent_type,
                )
            )

    limit = current_app.config["QMS_MAX_CONTENT_BYTES"]

    def content_problems(item: ImportItem) -> list[str]:
        # Run in worker threads: pandoc does the work, so the checks overlap.
        text = import_content(item)
        if len(text.encode("utf-8")) > limit:
            return [
                _(
                    "The document is %(size)s KB; the limit is %(limit)s KB.",
                    size=len(text.encode("utf-8")) // 1024,
                    limit=limit // 1024,
                )
            ]
        try:
            return [detail for _kind, detail in render.check_markdown(item.body)]
        except render.RenderError as exc:
            return [str(exc)]

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(8, (os.cpu_count() or 2) * 2)) as pool:
        for done, (index, found) in enumerate(
            zip(range(len(items)), pool.map(content_problems, items), strict=True), start=1
        ):
            if found:
                problems[index].append(
                    _("The content is not safe to publish: %(detail)s", detail="; ".join(found))
                )
            if progress is not None:
                progress(done, len(items))
    for index, item in enumerate(items):
        for check in CONTENT_VALIDATORS.get(item.doc_type, ()):
            try:
                check(_prepared(item), item.body)
            except ValidationFailed as exc:
                problems[index].append(exc.message)
    return problems


@transactional
def import_documents(
    actor: User,
    items: list[ImportItem],
    progress: Callable[[str, int, int], None] | None = None,
    summary: str = "",
) -> str:
    """Release a whole batch of existing documents as their first revisions; return the commit.

    All or nothing: one commit on main for the batch and one tag per document, published
    together by a single compare-and-swap of the refs once every register row is ready;
    each revision is effective at once with an "imported" signature by ``actor``. If
    anything fails before the database commits, nothing is left in the database and the
    refs are put back where they were (again by compare-and-swap), so no half batch shows.

    ``progress(stage, done, total)`` reports "checking", "writing" and then "recording"
    document by document. While it reports "recording" the transaction is writing: the
    callback must not write through another database connection then (on SQLite that
    write would wait for this transaction to end).

    :raises ValidationFailed: with ``detail`` = {source file: [problems]} when any item
        breaks a rule; nothing is written then.
    """
    if not can_import(actor, items):
        raise needs_role(*IMPORTING_ROLES)
    if not items:
        raise ValidationFailed(_("There is nothing to import."), field="files")
    report = progress or (lambda stage, done, total: None)
    problems = check_import(items, lambda done, total: report("checking", done, total))
    failed = {
        item.source or item.code: found
        for item, found in zip(items, problems, strict=True)
        if found
    }
    if failed:
        raise ValidationFailed(
            _("Nothing was imported: %(count)s files have problems.", count=len(failed)),
            field="files",
            detail=failed,
        )

    gitstore = store()
    changes: dict[str, str] = {}
    contents: dict[str, str] = {}
    departments = {}
    for done, item in enumerate(items, start=1):
        dept = _department(item.department) if item.department else actor.department
        departments[item.code] = dept
        text = import_content(item, dept.name if dept else None)
        path = f"{TYPE_FOLDERS[item.doc_type]}/{item.code}.md"
        contents[item.code] = changes[path] = gitstore.write_blob(text.encode("utf-8"))
        folder = attachment_dir(item.doc_type, item.code)
        for name, data in item.files.items():
            changes[f"{folder}/{name}"] = gitstore.write_blob(data)
        report("writing", done, len(items))

    me = person(actor)
    message = format_message(
        f"Import {len(items)} documents",
        summary,
        [("Imported-by", f"{actor.display_name} <{me.email}>")]
        + [("Document", item.code) for item in items],
    )
    # Main and every tag move with the unit of work, after every register row is ready:
    # a failure up to then leaves main and the tags exactly as they were.
    commit = gitstore.commit_on_main(changes, message, me)
    anchors.request()

    report("recording", 0, len(items))
    docs: dict[str, Document] = {}
    revs: list[Revision] = []
    today = clock.today()
    for item in items:
        docs[item.code.lower()] = Document(
            code=item.code,
            title=item.title.strip(),
            doc_type=item.doc_type,
            department=departments[item.code],
            clause_rows=[
                DocumentClause(clause=c) for c in validate_clauses(item.meta.get("clauses") or [])
            ],
        )
    for item in items:
        doc = docs[item.code.lower()]
        if item.parent:
            doc.parent = docs.get(item.parent.lower()) or db.session.scalar(
                select(Document).where(func.lower(Document.code) == item.parent.lower())
            )
        db.session.add(doc)
        rev = Revision(
            document=doc,
            label=revision_label(0),
            status="approved",
            summary=(f"Imported from {item.source}" if item.source else "Imported"),
            author_id=actor.id,
            blob_id=contents[item.code],
            effective_date=today,
            released_at=utcnow(),
            released_by_id=actor.id,
        )
        db.session.add(rev)
        revs.append(rev)
        gitstore.create_tag(
            tag_name(item.code, rev.label),
            commit,
            tag_message(
                f"{item.code} revision {rev.label} (imported)",
                item.code,
                rev.label,
                doc.path,
                contents[item.code],
            ),
            me,
        )
    db.session.flush()

    for done, (item, rev) in enumerate(zip(items, revs, strict=True), start=1):
        doc = rev.document
        trail.record(
            "document.created",
            "document",
            doc.code,
            after={
                "title": doc.title,
                "type": doc.doc_type,
                "parent": item.parent,
                "department": departments[item.code].name if departments[item.code] else None,
                "imported_from": item.source,
            },
            user=actor,
        )
        _sign(actor, rev, "imported", rev.blob_id, item.source or None)
        _apply_effective(rev, None, commit)
        report("recording", done, len(items))
    return commit
