"""What each domain contributes to the index, and the hooks that keep it up to date.

Documents are indexed at every release (each released revision stays in the index; the
effective one is current) through the documents' revision hook, so documents never
import search. Records, nonconformities and actions join when their packages exist.
"""

from collections.abc import Iterator

from qms import render
from qms.documents import services as documents
from qms.extensions import db
from qms.search import domains
from qms.search.services import Entry, index, register_provider
from qms.search.text import markdown_to_text

RELEASED = ("effective", "superseded", "obsolete")


def document_entry(rev) -> Entry:
    """Return the index entry of a released document revision."""
    doc = rev.document
    meta, body = _split(documents.revision_content(rev))
    title = str(meta.get("title") or doc.title)
    current = rev.status == "effective"
    return Entry(
        type="document",
        key=doc.code,
        title=title,
        text=markdown_to_text(body),
        version=rev.label,
        current=current,
        endpoint="documents.detail" if current else "documents.revision",
        params={"code": doc.code} if current else {"code": doc.code, "label": rev.label},
        updated_at=rev.released_at,
    )


def _split(content: str) -> tuple[dict, str]:
    try:
        return render.split_front_matter(content)
    except render.FrontMatterError:
        return {}, content


def all_documents() -> Iterator[Entry]:
    """Yield every released revision of every document."""
    for doc in db.session.scalars(documents.list_documents()):
        for rev in doc.revisions:
            if rev.status in RELEASED and rev.release_commit:
                yield document_entry(rev)


def on_document_revision(event: str, rev) -> None:
    """Index a revision as it becomes effective; an obsolete one stays, not current."""
    entry = document_entry(rev)
    if event == "obsolete":
        entry.current = False
        entry.endpoint, entry.params = (
            "documents.revision",
            {"code": rev.document.code, "label": rev.label},
        )
    index(**entry.__dict__)


def install() -> None:
    """Register the providers and hooks of every domain."""
    register_provider("document", all_documents)
    documents.on_revision(on_document_revision)
    domains.install()
