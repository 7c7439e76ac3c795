"""Data builders: documents in a given workflow state, made through the real services."""

from qms.documents import services
from tests.conftest import PASSWORD


def content(code: str, title: str = "Document control", body: str = "", doc_type="procedure"):
    body = body or f"# {title}\n\n## Purpose\n\nThis procedure controls documents.\n"
    return f"---\ncode: {code}\ntitle: {title}\ntype: {doc_type}\nclauses: ['7.5']\n---\n\n{body}"


def new_document(users, code="QP-07", title="Document control", doc_type="procedure", **kw):
    return services.create_document(users["author"], code, title, doc_type, **kw)


def in_review(users, code="QP-07", text=None, author="author", **kw):
    doc = services.get_document(code) if _exists(code) else new_document(users, code, **kw)
    services.save_draft(users[author], doc, text or content(code), "First issue")
    services.submit(users[author], doc)
    return doc


def approved(users, code="QP-07", text=None, approver="approver", **kw):
    doc = in_review(users, code, text, **kw)
    services.approve(users[approver], doc, PASSWORD)
    return doc


def effective(users, code="QP-07", text=None, approver="approver", **kw):
    doc = approved(users, code, text, approver=approver, **kw)
    services.release(users[approver], doc)
    return doc


def _exists(code: str) -> bool:
    from sqlalchemy import select

    from qms.documents.models import Document
    from qms.extensions import db

    return db.session.scalar(select(Document.id).where(Document.code == code)) is not None
