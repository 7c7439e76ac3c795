"""Showing revisions: cached HTML views and controlled copies in DOCX and PDF."""

import functools
import re
from pathlib import Path

from flask import current_app, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import select

from qms import render
from qms.documents import services
from qms.documents.models import Acknowledgement, Revision
from qms.extensions import db

FORMATS = {
    "md": "text/markdown; charset=utf-8",
    "html": "text/html; charset=utf-8",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pdf": "application/pdf",
}


def cache_dir() -> Path:
    return Path(current_app.config["QMS_CACHE_DIR"]) / "render"


def _body(text: str) -> str:
    try:
        return render.split_front_matter(text)[1]
    except render.FrontMatterError:
        return text


def html_for(rev: Revision) -> Markup:
    """Return a revision's sanitised HTML, rendered once per content."""
    if rev.release_commit and rev.blob_id:
        html = _released_html(rev.blob_id, str(cache_dir()))
    else:
        html = _html(services.revision_content(rev), str(cache_dir()))
    return Markup(_media_links(html, rev))


def _html(text: str, cache: str) -> str:
    return render.render(_body(text), "html", None, Path(cache)).decode("utf-8")


# A released revision's blob never changes and its id names its content, so its HTML is
# kept in the process: a document page then reads neither git (a cat-file process per
# request) nor the render cache's files.
@functools.lru_cache(maxsize=256)
def _released_html(blob_id: str, cache: str) -> str:
    return _html(services.store().read_blob(blob_id).decode("utf-8"), cache)


def _media_links(html: str, rev: Revision) -> str:
    """Point the relative image paths of a document (``QP-07/media/x.png``) at its revision.

    The Markdown names its images relative to its own file so that a clone shows them;
    in the browser they are served by ``documents.media`` from that revision's commit.
    """
    code = rev.document.code
    if f'src="{code}/media/' not in html:
        return html
    base = url_for("documents.detail", code=code)
    return re.sub(
        rf'src="{re.escape(code)}/media/([^"?#]+)"',
        lambda m: f'src="{base}/media/{m.group(1)}?revision={rev.label}"',
        html,
    )


# Extra previews a domain adds for one document type, e.g. records shows a record form
# as staff will fill it. Each provider takes the front matter and returns safe HTML.
PREVIEW_PROVIDERS: dict[str, object] = {}


def register_preview(doc_type: str, provider) -> None:
    """Append ``provider(meta)``'s HTML to the editor preview of ``doc_type`` drafts."""
    PREVIEW_PROVIDERS[doc_type] = provider


def preview(content: str, doc_type: str | None = None) -> Markup:
    """Render unsaved Markdown for the editor; unsafe parts are already stripped.

    ``doc_type`` defaults to the type named in the front matter; a registered provider
    for it adds its own preview (a record form's fields) after the body.
    """
    try:
        meta, body = render.split_front_matter(content)
    except render.FrontMatterError as exc:
        return Markup("<p class='field-error'>%s</p>") % str(exc)
    try:
        html = Markup(render.render(body, "html", None, cache_dir()).decode("utf-8"))
    except render.RenderError as exc:
        return Markup("<p class='field-error'>%s</p>") % str(exc)
    provider = PREVIEW_PROVIDERS.get(doc_type or str(meta.get("type") or ""))
    if provider is not None:
        html += provider(meta)
    return html


def controlled_copy(rev: Revision) -> render.ControlledCopy:
    """Describe a revision for the header, footer and signature block of a copy."""
    doc = rev.document
    status = services.status_label(rev.status)
    if rev.status in ("superseded", "obsolete"):
        status = f"{status} — {_('not for use')}"
    return render.ControlledCopy(
        code=doc.code,
        title=doc.title,
        revision=rev.label,
        status=status,
        effective_date=rev.effective_date.isoformat() if rev.effective_date else None,
        signatures=tuple(
            (
                services.meaning_label(s.meaning),
                s.user.display_name,
                s.signed_at.strftime("%Y-%m-%d %H:%M UTC"),
            )
            for s in rev.signatures
        ),
        labels={
            "revision": _("Revision"),
            "effective_date": _("Effective date"),
            "status": _("Status"),
            "page": _("Page"),
            "approved_by": _("Approved by"),
            "controlled_copy": _("Controlled copy"),
            "signatures": _("Signatures"),
            "meaning": _("Meaning"),
            "signer": _("Signed by"),
            "time": _("Time"),
            "code": _("Code"),
            "title": _("Title"),
        },
        lang=str(get_locale() or "en"),
    )


def download(rev: Revision, fmt: str) -> tuple[bytes, str, str]:
    """Return (bytes, mimetype, filename) of a revision in ``fmt``."""
    text = services.revision_content(rev)
    name = f"{rev.document.code}-{rev.label}.{fmt}"
    if fmt == "md":
        return text.encode("utf-8"), FORMATS[fmt], name
    copy = controlled_copy(rev) if fmt != "html" else None
    media = services.document_media(rev) if copy is not None else None
    data = render.render(_body(text), fmt, copy, cache_dir(), media)
    return data, FORMATS[fmt], name


def has_acknowledged(rev: Revision, user) -> bool:
    return (
        db.session.scalar(
            select(Acknowledgement.id).where(
                Acknowledgement.revision_id == rev.id, Acknowledgement.user_id == user.id
            )
        )
        is not None
    )
