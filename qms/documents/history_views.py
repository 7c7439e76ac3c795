"""Pages of the system as in force on a date, and of what changed between two dates."""

from __future__ import annotations

import re
from datetime import date

from flask import Blueprint, Response, render_template, request, url_for
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import select

from qms import clock, render
from qms.documents import history
from qms.documents.models import DOC_TYPES, Document
from qms.documents.rendering import cache_dir
from qms.errors import NotFound
from qms.extensions import db

bp = Blueprint("history", __name__, url_prefix="/documents")


def requested_day() -> tuple[date, bool] | None:
    """Return the ``as_of`` day asked for (today when in the future, and whether it moved).

    None when no day is asked for; a day that is no date is refused with a 400.
    """
    day = history.parse_day(request.args.get("as_of"))
    return history.clamp(day) if day is not None else None


def _context(day: date, moved: bool) -> dict:
    return {
        "as_of": day,
        "as_of_moved": moved,
        "types": {t: _type_label(t) for t in DOC_TYPES},
    }


def _type_label(doc_type: str) -> str:
    from qms.documents.services import type_label

    return type_label(doc_type)


def register_page(day: date, moved: bool) -> str | Response:
    """Render the register as in force at the end of ``day``."""
    state = history.state_as_of(day)
    if request.args.get("format") == "csv":
        return Response(
            history.register_csv(state),
            mimetype="text/csv",
            headers={"Content-Disposition": f"attachment; filename=register-as-of-{day}.csv"},
        )
    q = (request.args.get("q") or "").strip().lower()
    doc_type = request.args.get("doc_type") or ""
    items = [
        d
        for d in state.sorted()
        if (not q or q in d.code.lower() or q in d.title.lower())
        and (not doc_type or d.doc_type == doc_type)
    ]
    return render_template(
        "documents/as_of_register.html", state=state, items=items, **_context(day, moved)
    )


def tree_page(day: date, moved: bool) -> str:
    """Render the hierarchy as in force at the end of ``day``."""
    state = history.state_as_of(day)
    return render_template(
        "documents/as_of_tree.html",
        state=state,
        rows=history.hierarchy(state),
        **_context(day, moved),
    )


def detail_page(code: str, day: date, moved: bool) -> str:
    """Render one document as in force at the end of ``day``: its revision and its text."""
    doc = db.session.scalar(select(Document).where(Document.code == code))
    item = history.document_as_of(code, day)
    if doc is None and item is None:
        raise NotFound(_("There is no document %(code)s.", code=code))
    return render_template(
        "documents/as_of_detail.html",
        code=code,
        doc=doc,
        item=item,
        html=_html(item) if item else None,
        released=history.releases_of(code, day),
        **_context(day, moved),
    )


def _html(item: history.InForce) -> Markup:
    """Return the sanitised HTML of a document file as it was in force."""
    text = item.text()
    try:
        body = render.split_front_matter(text)[1]
    except render.FrontMatterError:
        body = text
    html = render.render(body, "html", None, cache_dir()).decode("utf-8")
    if item.revision and f'src="{item.code}/media/' in html:
        base = url_for("documents.detail", code=item.code)
        html = re.sub(
            rf'src="{re.escape(item.code)}/media/([^"?#]+)"',
            lambda m: f'src="{base}/media/{m.group(1)}?revision={item.revision}"',
            html,
        )
    return Markup(html)


@bp.get("/export")
def export():
    """Download a controlled copy (ZIP) of every document as in force on a date."""
    asked = requested_day()
    day = asked[0] if asked else clock.today()
    data = history.export_zip(history.state_as_of(day))
    return Response(
        data,
        mimetype="application/zip",
        headers={"Content-Disposition": f"attachment; filename=qms-as-in-force-on-{day}.zip"},
    )


@bp.get("/changes")
def changes():
    """Show what changed in the whole system between two dates, with the redlines."""
    start, end, label, notes = history.changes_range(request.args)
    result = history.changes_between(start, end)
    return render_template(
        "documents/changes.html",
        result=result,
        label=label,
        notes=notes,
        types={t: _type_label(t) for t in DOC_TYPES},
    )
