"""Pages for the document register, drafts, review, release, history and redline."""

import io
import mimetypes
from types import SimpleNamespace

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from qms import clock, render, spreadsheets, trail
from qms.audits.checklists import clause_titles
from qms.auth.models import Department
from qms.clauses import in_order
from qms.documents import formatted_redline as formatted
from qms.documents import history_views, rendering, services, word
from qms.documents.forms import (
    AcknowledgeSelectedForm,
    ActionForm,
    ChangeRequestForm,
    CommentForm,
    DecideForm,
    DocumentForm,
    DraftForm,
    FilterForm,
    OpenDraftForm,
    ReasonForm,
    ReleaseForm,
    SignForm,
    StructuredDraftForm,
    type_choices,
)
from qms.documents.models import (
    DOC_STATUSES,
    DOC_TYPES,
    ChangeRequest,
    ChangeRequestDocument,
    Document,
    Revision,
)
from qms.documents.redline import redline
from qms.errors import ServiceError
from qms.extensions import db
from qms.forms import options, show_error
from qms.navigation import NavItem, register_nav, register_work
from qms.uow import unit_of_work

bp = Blueprint("documents", __name__, url_prefix="/documents")
register_nav(NavItem("documents.register", _l("Documents"), ("documents.",), order=10))


#: How many documents to read the home page lists at once (and acknowledges at once).
HOME_READING = 20


def work_panels(user) -> list[dict]:
    """Home-page panels: drafts and what waits on an approver."""
    return [{"template": "documents/_work.html", "work": services.work_for(user)}]


def reading_panel(user) -> list[dict]:
    """Home-page panel: the first documents to read and acknowledge, and how many in all."""
    return [
        {
            "template": "documents/_reading.html",
            "reading": services.reading_list(user, limit=HOME_READING),
            "count": services.reading_count(user),
            "form": AcknowledgeSelectedForm(),
        }
    ]


register_work(10, work_panels)
# Last: the list can be long, and what waits on the user for a decision comes first.
register_work(90, reading_panel)

#: The permission rules, as templates call them: ``document_rules.can_release(user, doc)``.
#: One name for them all, since other domains have rules of the same names.
RULES = SimpleNamespace(**services.RULES)


@bp.app_context_processor
def labels():
    """Give every template the localised labels of documents and who may do what to them."""
    return {
        "type_label": services.type_label,
        "status_label": services.status_label,
        "meaning_label": services.meaning_label,
        "document_route": lambda doc: services.route_for(doc.doc_type),
        "document_route_progress": services.progress,
        "document_who_signs": services.who_signs,
        "cr_status_label": services.cr_status_label,
        "document_rules": RULES,
        "today": clock.today(),
    }


def department_choices(blank: str | None = None):
    depts = db.session.scalars(select(Department).order_by(Department.name)).all()
    choices = [(d.name, d.name) for d in depts]
    return [("", blank)] + choices if blank is not None else choices


def accepted_change_requests(doc: Document):
    # Those naming the document, in SQL: not every accepted request with its documents.
    crs = db.session.execute(
        select(ChangeRequest.number, ChangeRequest.title)
        .where(
            ChangeRequest.status == "accepted",
            ChangeRequest.document_rows.any(ChangeRequestDocument.document_id == doc.id),
        )
        .order_by(ChangeRequest.number.desc())
    ).all()
    return [("", _("None"))] + [(number, f"{number} {title}") for number, title in crs]


# -- the register ----------------------------------------------------------------------


@bp.get("/")
def register():
    """List the documents with filters, sorting and search; export CSV."""
    if asked := history_views.requested_day():
        return history_views.register_page(*asked)
    form = FilterForm(request.args)
    form.doc_type.choices = options([("", _("All types"))] + type_choices())
    form.department.choices = options(
        [("", _("All departments"))]
        + [
            (str(d.id), d.name)
            for d in db.session.scalars(select(Department).order_by(Department.name))
        ]
    )
    form.status.choices = options(
        [("", _("All statuses"))] + [(s, services.status_label(s)) for s in DOC_STATUSES]
    )
    sort = request.args.get("sort", "code")
    due = bool(form.due.data)
    stmt = services.list_documents(
        doc_type=form.doc_type.data or None,
        department_id=int(form.department.data) if (form.department.data or "").isdigit() else None,
        status=form.status.data or None,
        clause=(form.clause.data or "").strip() or None,
        due_for_review=due,
        q=form.q.data or None,
        sort=sort,
    )
    fmt = spreadsheets.requested_format()
    if fmt:
        return register_csv(db.session.scalars(stmt).all(), fmt)
    page = db.paginate(stmt, per_page=50, error_out=False)
    return render_template(
        "documents/register.html",
        form=form,
        page=page,
        sort=sort,
        due=due,
        args={k: v for k, v in request.args.items() if k not in ("page", "sort", "format")},
    )


def register_csv(docs: list[Document], fmt: str = "csv") -> Response:
    return spreadsheets.download(
        fmt, services.REGISTER_COLUMNS, services.register_rows(docs), "register"
    )


@bp.get("/tree")
def tree():
    """Show the hierarchy: manual, procedures, work specifications, record forms."""
    if asked := history_views.requested_day():
        return history_views.tree_page(*asked)
    # Collapsed below the procedures: thousands of work instructions and forms would make
    # one page of hundreds of kB. ``?open=CODE`` opens a subtree without JavaScript; with
    # it, qms.js fetches the subtree fragment below.
    opened = [c for c in request.args.getlist("open") if c][:50]
    nodes = services.collapsed_tree(opened)
    return render_template("documents/tree.html", nodes=nodes, opened=opened, **_tree_labels())


def _tree_labels() -> dict:
    # Looked up once, not once per row.
    return {
        "types": {t: services.type_label(t) for t in DOC_TYPES},
        "statuses": {s: services.status_label(s) for s in DOC_STATUSES},
    }


@bp.get("/tree/<code>")
def subtree(code: str):
    """Return one document's children as a fragment of the hierarchy (opened on demand)."""
    row, children = services.subtree(code)
    return render_template(
        "documents/_tree_nodes.html", nodes=children, opened=[], **_tree_labels()
    )


@bp.get("/review-due")
def review_due():
    """List effective documents due or overdue for periodic review."""
    docs = db.session.scalars(
        services.list_documents(status="effective", sort="next_review_due").where(
            Document.next_review_due <= services.next_review_window()
        )
    ).all()
    return render_template("documents/review_due.html", docs=docs, today=clock.today())


@bp.route("/new", methods=["GET", "POST"])
def create():
    """Add a document to the register."""
    if not services.can_author(current_user):
        abort(403)
    form = DocumentForm()
    form.doc_type.choices = options(type_choices())
    form.parent.choices = options(
        [("", _("None"))]
        + [
            (d.code, f"{d.code} {d.title}")
            for d in db.session.scalars(
                select(Document).where(Document.doc_type != "record_form").order_by(Document.code)
            )
        ]
    )
    form.department.choices = options(department_choices())
    form.distribution.choices = options([("all", _("All departments"))] + department_choices())
    if request.method == "GET":
        form.department.data = current_user.department.name
    if form.validate_on_submit():
        try:
            doc = services.create_document(
                current_user,
                form.code.data,
                form.title.data,
                form.doc_type.data,
                parent=form.parent.data or None,
                department=form.department.data or None,
                clauses=form.clauses.data or "",
                review_interval_months=form.review_interval_months.data,
                distribution=form.distribution.data,
            )
        except ServiceError as exc:
            show_error(form, exc)
        else:
            flash(
                _("%(code)s is in the register. Write its first revision.", code=doc.code),
                "success",
            )
            return redirect(url_for("documents.edit", code=doc.code))
    return render_template("documents/new.html", form=form)


# -- one document ----------------------------------------------------------------------


@bp.get("/<code>")
def detail(code: str):
    """Show the effective revision, the open draft's state and the history."""
    if asked := history_views.requested_day():
        return history_views.detail_page(code, *asked)
    doc = services.get_document(code)
    current = services.effective_revision(doc)
    pending = services.open_revision(doc)
    return render_template(
        "documents/detail.html",
        doc=doc,
        current=current,
        pending=pending,
        html=rendering.html_for(current) if current else None,
        revisions=list(reversed(doc.revisions)),
        acks=services.acknowledgement_counts(current) if current else None,
        acknowledged=current is not None and rendering.has_acknowledged(current, current_user),
        concerns=services.concerns(doc, current_user),
        events=trail.events_for("document", doc.code),
        forms=_action_forms(doc),
    )


def _action_forms(doc: Document) -> dict:
    release = ReleaseForm(prefix="release")
    if release.effective_date.data is None:
        release.effective_date.data = clock.today()
    return {
        "sign": SignForm(prefix="sign"),
        "review": SignForm(prefix="review"),
        "reject": ReasonForm(prefix="reject"),
        "obsolete": ReasonForm(prefix="obsolete"),
        "release": release,
        "comment": CommentForm(prefix="comment"),
        "periodic": SignForm(prefix="periodic"),
        "action": ActionForm(),
        "open": _open_form(doc),
    }


def _open_form(doc: Document) -> OpenDraftForm:
    form = OpenDraftForm(prefix="open")
    form.change_request.choices = options(accepted_change_requests(doc))
    return form


@bp.get("/<code>/revisions/<label>")
def revision(code: str, label: str):
    """Show one revision as it was, with its signatures, comments and trail."""
    doc = services.get_document(code)
    rev = services.get_revision(doc, label)
    return render_template(
        "documents/revision.html",
        doc=doc,
        rev=rev,
        html=rendering.html_for(rev),
        acks=services.acknowledgement_counts(rev) if rev.status != "draft" else None,
        events=trail.events_for("revision", f"{doc.code}/{rev.label}"),
    )


@bp.get("/<code>/content")
def content(code: str):
    """Download a revision as Markdown, HTML, DOCX or PDF (a controlled copy)."""
    fmt = request.args.get("format", "pdf")
    if fmt not in rendering.FORMATS:
        abort(400)
    doc = services.get_document(code)
    label = request.args.get("revision")
    rev = services.get_revision(doc, label) if label else services.effective_revision(doc)
    if rev is None:
        abort(404)
    data, mimetype, filename = rendering.download(rev, fmt)
    return send_file(
        io.BytesIO(data),
        mimetype=mimetype,
        download_name=filename,
        as_attachment=fmt in ("docx", "pdf", "md"),
    )


@bp.get("/<code>/media/<path:name>")
def media(code: str, name: str):
    """Serve an image stored beside the document in the repository, at a revision."""
    doc = services.get_document(code)
    label = request.args.get("revision")
    rev = services.get_revision(doc, label) if label else services.effective_revision(doc)
    data = services.document_file(rev, f"media/{name}") if rev is not None else None
    if data is None:
        abort(404)
    mimetype = mimetypes.guess_type(name)[0] or "application/octet-stream"
    response = send_file(io.BytesIO(data), mimetype=mimetype, download_name=name.rsplit("/")[-1])
    # An SVG or HTML file in a repository must not run as a page of this site.
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/<code>/diff")
def diff(code: str):
    """Show the redline between two revisions, word by word."""
    doc = services.get_document(code)
    labels = [r.label for r in doc.revisions]
    if len(labels) < 1:
        abort(404)
    to_label = request.args.get("to") or labels[-1]
    from_label = request.args.get("from") or (labels[-2] if len(labels) > 1 else labels[-1])
    old = services.get_revision(doc, from_label)
    new = services.get_revision(doc, to_label)
    result = redline(services.revision_content(old), services.revision_content(new))
    return render_template(
        "documents/diff.html", doc=doc, old=old, new=new, labels=labels, result=result
    )


@bp.get("/<code>/redline")
def formatted_redline(code: str):
    """The redline on the formatted document, full width; as DOCX with tracked changes."""
    doc = services.get_document(code)
    labels = [r.label for r in doc.revisions]
    if not labels:
        abort(404)
    to_label = request.args.get("to") or labels[-1]
    from_label = request.args.get("from") or (labels[-2] if len(labels) > 1 else labels[-1])
    if from_label not in labels or to_label not in labels:
        abort(404)
    old = services.get_revision(doc, from_label)
    new = services.get_revision(doc, to_label)
    result = formatted.between(old, new)
    fmt = request.args.get("format")
    if fmt == "docx":
        data = formatted.tracked_docx(result, new.author.display_name, new.created_at)
        return send_file(
            io.BytesIO(data),
            mimetype=rendering.FORMATS["docx"],
            download_name=f"{doc.code}-{old.label}-{new.label}-redline.docx",
            as_attachment=True,
        )
    if fmt == "pdf":
        data = formatted.redline_pdf(result, new)
        return send_file(
            io.BytesIO(data),
            mimetype=rendering.FORMATS["pdf"],
            download_name=f"{doc.code}-{old.label}-{new.label}-redline.pdf",
            as_attachment=True,
        )
    if fmt is not None:
        abort(400)
    return render_template(
        "documents/formatted_redline.html",
        doc=doc,
        old=old,
        new=new,
        labels=labels,
        result=result,
    )


# -- drafting --------------------------------------------------------------------------


@bp.post("/<code>/draft/open")
def open_draft(code: str):
    """Start a new revision from the effective one or from blank."""
    doc = services.get_document(code)
    form = _open_form(doc)
    if form.validate_on_submit():
        try:
            services.open_draft(
                current_user,
                doc,
                from_blank=form.source.data == "blank",
                change_request=form.change_request.data or None,
            )
        except ServiceError as exc:
            flash(exc.message, "error")
            return redirect(url_for("documents.detail", code=code))
        return redirect(url_for("documents.edit", code=code))
    flash(_("The request was not valid; please try again."), "error")
    return redirect(url_for("documents.detail", code=code))


@bp.route("/<code>/edit", methods=["GET", "POST"])
def edit(code: str):
    """Edit the open draft's Markdown with a preview; each save is a commit."""
    doc = services.get_document(code)
    if not services.can_author(current_user, doc):
        abort(403)
    rev = services.open_revision(doc)
    if rev is not None and rev.status != "draft":
        flash(
            _(
                "Revision %(rev)s is %(status)s; it can no longer be edited.",
                rev=rev.label,
                status=services.status_label(rev.status),
            ),
            "warning",
        )
        return redirect(url_for("documents.detail", code=code))
    if request.args.get("mode") != "source" and "content" not in request.form:
        return _edit_structured(doc, rev)
    form = DraftForm()
    form.change_request.choices = options(accepted_change_requests(doc))
    preview = None
    if request.method == "GET":
        form.content.data = _draft_text(doc, rev)
        if rev is not None:
            form.summary.data = rev.summary
            form.base_commit.data = rev.head_commit
            form.change_request.data = rev.change_request.number if rev.change_request else ""
    elif form.validate_on_submit():
        if form.preview.data:
            preview = rendering.preview(form.content.data, doc.doc_type)
        else:
            try:
                rev = services.save_draft(
                    current_user,
                    doc,
                    form.content.data,
                    form.summary.data or "",
                    base_commit=form.base_commit.data or None,
                    change_request=form.change_request.data or None,
                )
            except ServiceError as exc:
                show_error(form, exc)
            else:
                flash(_("Draft saved as revision %(rev)s.", rev=rev.label), "success")
                return redirect(url_for("documents.edit", code=code))
    if preview is None and doc.doc_type in rendering.PREVIEW_PROVIDERS:
        # Drawn by the server too, so the form preview shows without JavaScript.
        preview = rendering.preview(form.content.data or "", doc.doc_type)
    return render_template(
        "documents/edit.html", doc=doc, rev=rev, form=form, preview=preview, action=ActionForm()
    )


def _draft_text(doc: Document, rev: Revision | None) -> str:
    """The text a draft is edited from: its last save, else the effective revision, else blank."""
    if rev is not None:
        return services.revision_content(rev)
    current = services.effective_revision(doc)
    return services.revision_content(current) if current else services.blank_content(doc)


def _structured_form(doc: Document) -> StructuredDraftForm:
    form = StructuredDraftForm()
    form.change_request.choices = options(accepted_change_requests(doc))
    form.parent.choices = options(
        [("", _("None"))]
        + [
            (d.code, f"{d.code} {d.title}")
            for d in db.session.scalars(
                select(Document)
                .where(Document.doc_type != "record_form", Document.id != doc.id)
                .order_by(Document.code)
            )
        ]
    )
    form.department.choices = options([("", _("None"))] + department_choices())
    form.distribution.choices = options([("all", _("All departments"))] + department_choices())
    titles = clause_titles(str(get_locale() or "en"))
    form.clauses.choices = options((c, f"{c} {t}") for c, t in titles.items())
    return form


def _edit_structured(doc: Document, rev: Revision | None):
    """Edit a draft as properties and a body in the Markdown editor; each save is a commit.

    The front matter is written by the application from the properties; keys it does not
    show (a record form's fields) are kept as they are.
    """
    form = _structured_form(doc)
    meta, body = render.split_front_matter(_draft_text(doc, rev))
    if request.method == "GET":
        form.title.data = meta.get("title") or doc.title
        form.parent.data = doc.parent.code if doc.parent else ""
        form.department.data = doc.department.name if doc.department else ""
        form.distribution.data = (
            ["all"] if doc.distribute_to_all else [d.department.name for d in doc.distribution]
        )
        form.clauses.data = [str(c) for c in (meta.get("clauses") or doc.clauses)]
        form.review_interval_months.data = doc.review_interval_months
        form.retention_years.data = meta.get("retention_years")
        form.body.data = body
        if rev is not None:
            form.summary.data = rev.summary
            form.base_commit.data = rev.head_commit
            form.change_request.data = rev.change_request.number if rev.change_request else ""
    elif form.validate_on_submit():
        meta |= {
            "code": doc.code,
            "title": form.title.data.strip(),
            "type": doc.doc_type,
            "parent": form.parent.data or None,
            "department": form.department.data or None,
            "distribution": [d for d in form.distribution.data if d] or None,
            "clauses": in_order(services.validate_clauses(form.clauses.data)) or None,
            "review_interval_months": form.review_interval_months.data,
            "retention_years": form.retention_years.data,
            "summary": (form.summary.data or "").strip() or None,
        }
        content = services.compose_content(meta, form.body.data.replace("\r\n", "\n"))
        try:
            with unit_of_work():
                services.change_properties(
                    current_user,
                    doc,
                    form.parent.data or None,
                    form.department.data or None,
                    form.distribution.data,
                    form.review_interval_months.data,
                )
                rev = services.save_draft(
                    current_user,
                    doc,
                    content,
                    form.summary.data or "",
                    base_commit=form.base_commit.data or None,
                    change_request=form.change_request.data or None,
                )
        except ServiceError as exc:
            show_error(form, exc)
        else:
            flash(_("Draft saved as revision %(rev)s.", rev=rev.label), "success")
            return redirect(url_for("documents.edit", code=doc.code))
    status = 422 if form.errors or request.method == "POST" else 200
    # What the front matter makes of the page besides its text (a record form's fields).
    provider = rendering.PREVIEW_PROVIDERS.get(doc.doc_type)
    preview = provider(meta) if provider else None
    return render_template(
        "documents/edit_structured.html",
        doc=doc,
        rev=rev,
        form=form,
        preview=preview,
        editor_language=EDITOR_LANGUAGES.get(str(get_locale() or "en"), "en-US"),
    ), status


# -- Word round trip ----------------------------------------------------------------------


def _open_draft_or_404(doc: Document) -> Revision:
    rev = services.open_revision(doc)
    if rev is None or rev.status != "draft":
        abort(404)
    return rev


@bp.get("/<code>/draft/word")
def draft_word(code: str):
    """ "Edit in Word": the draft's text and pictures as a DOCX."""
    doc = services.get_document(code)
    rev = _open_draft_or_404(doc)
    if not services.can_author(current_user, doc):
        abort(403)
    return send_file(
        io.BytesIO(word.draft_docx(rev)),
        mimetype=rendering.FORMATS["docx"],
        download_name=f"{doc.code}-{rev.label}-draft.docx",
        as_attachment=True,
    )


@bp.post("/<code>/draft/word")
def upload_word(code: str):
    """Read a revised Word file and show its redline against the last save, to keep or not."""
    doc = services.get_document(code)
    if not services.can_author(current_user, doc):
        abort(403)
    rev = _open_draft_or_404(doc)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(_("Choose the revised Word file."), "error")
        return redirect(url_for("documents.edit", code=code))
    data = upload.read()
    try:
        found = word.read_word(current_user, doc, rev, data, upload.filename)
    except ServiceError as exc:
        flash(exc.message, "error")
        return redirect(url_for("documents.edit", code=code))
    return render_template(
        "documents/word_preview.html",
        doc=doc,
        rev=rev,
        result=found.redline,
        images=sorted(found.images),
        token=word.stash(data, upload.filename),
        filename=upload.filename,
        form=ActionForm(),
    )


@bp.post("/<code>/draft/word/keep")
def keep_word(code: str):
    """Keep the uploaded Word file as the draft's next save."""
    doc = services.get_document(code)
    rev = _open_draft_or_404(doc)
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        rev = word.keep_word(
            current_user,
            doc,
            rev,
            request.form.get("token", ""),
            request.form.get("summary", ""),
            request.form.get("base_commit") or None,
        )
    except ServiceError as exc:
        flash(exc.message, "error")
    else:
        flash(
            _("The Word file is saved as the next save of revision %(rev)s.", rev=rev.label),
            "success",
        )
    return redirect(url_for("documents.edit", code=code))


#: TOAST UI Editor's names of the interface languages.
EDITOR_LANGUAGES = {"en": "en-US", "zh_Hans": "zh-CN", "zh_Hant": "zh-TW"}


@bp.post("/preview")
def preview():
    """Return the sanitised HTML of posted Markdown, for the editor's live preview."""
    return rendering.preview(request.form.get("content", ""))


def _act(code: str, form_class, prefix: str | None, action, success: str):
    """Run a one-form workflow step: validate, call the service, flash, redirect."""
    doc = services.get_document(code)
    form = form_class(prefix=prefix) if prefix else form_class()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(error, "error")
        return redirect(url_for("documents.detail", code=code))
    try:
        action(doc, form)
    except ServiceError as exc:
        flash(exc.message, "error")
    else:
        flash(success, "success")
    return redirect(url_for("documents.detail", code=code))


@bp.post("/<code>/submit")
def submit(code: str):
    """Send the draft for review."""
    return _act(
        code,
        ActionForm,
        None,
        lambda d, f: services.submit(current_user, d),
        _("Submitted for review."),
    )


@bp.post("/<code>/comment")
def comment(code: str):
    """Comment on the open revision."""
    return _act(
        code,
        CommentForm,
        "comment",
        lambda d, f: services.add_comment(current_user, d, f.body.data),
        _("Comment added."),
    )


@bp.post("/<code>/sign-review")
def sign_review(code: str):
    """Sign the revision in review as reviewed."""
    return _act(
        code,
        SignForm,
        "review",
        lambda d, f: services.sign_review(current_user, d, f.password.data, f.comment.data),
        _("Signed as reviewed."),
    )


@bp.post("/<code>/approve")
def approve(code: str):
    """Approve the revision in review with a signature."""
    return _act(
        code,
        SignForm,
        "sign",
        lambda d, f: services.approve(current_user, d, f.password.data, f.comment.data),
        _("Approved and signed. It can now be released."),
    )


@bp.post("/<code>/reject")
def reject(code: str):
    """Send the revision back to its author with a reason."""
    return _act(
        code,
        ReasonForm,
        "reject",
        lambda d, f: services.reject(current_user, d, f.reason.data),
        _("Sent back to draft; the author sees your reason."),
    )


@bp.post("/<code>/release")
def release(code: str):
    """Release the approved revision on an effective date."""
    return _act(
        code,
        ReleaseForm,
        "release",
        lambda d, f: services.release(current_user, d, f.effective_date.data),
        _("Released."),
    )


@bp.post("/<code>/obsolete")
def obsolete(code: str):
    """Withdraw the document."""
    return _act(
        code,
        ReasonForm,
        "obsolete",
        lambda d, f: services.obsolete(current_user, d, f.reason.data),
        _("The document is obsolete. It stays retrievable, marked as such."),
    )


@bp.post("/<code>/periodic-review")
def periodic_review(code: str):
    """Record the periodic review: reviewed, no change."""
    return _act(
        code,
        SignForm,
        "periodic",
        lambda d, f: services.review_no_change(current_user, d, f.password.data, f.comment.data),
        _("Periodic review recorded; the next review date is reset."),
    )


@bp.post("/<code>/acknowledge")
def acknowledge(code: str):
    """Confirm having read the effective revision."""
    return _act(
        code,
        ActionForm,
        None,
        lambda d, f: services.acknowledge(current_user, d),
        _("Thank you: your acknowledgement is recorded."),
    )


@bp.post("/acknowledge")
def acknowledge_selected():
    """Acknowledge the documents ticked on the home page's reading list."""
    form = AcknowledgeSelectedForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(error, "error")
        return redirect(url_for("main.index"))
    try:
        result = services.acknowledge_selected(current_user, form.code.data or [])
    except ServiceError as exc:
        flash(exc.message, "error")
        return redirect(url_for("main.index"))
    if result.done:
        flash(
            _(
                "Thank you: your acknowledgement of %(codes)s is recorded.",
                codes=", ".join(d.code for d in result.done),
            ),
            "success",
        )
    for message in result.refused:
        flash(message, "error")
    return redirect(url_for("main.index"))


# -- change requests -------------------------------------------------------------------


@bp.get("/change-requests")
def change_requests():
    """List change requests, newest first."""
    status = request.args.get("status") or None
    stmt = select(ChangeRequest).order_by(ChangeRequest.raised_at.desc())
    if status:
        stmt = stmt.where(ChangeRequest.status == status)
    page = db.paginate(stmt, per_page=50, error_out=False)
    return render_template("documents/change_requests.html", page=page, status=status)


@bp.route("/change-requests/new", methods=["GET", "POST"])
def new_change_request():
    """Raise a document change request."""
    form = ChangeRequestForm()
    form.documents.choices = options(
        [
            (d.code, f"{d.code} {d.title}")
            for d in db.session.scalars(select(Document).order_by(Document.code))
        ]
    )
    if request.method == "GET" and request.args.get("document"):
        form.documents.data = [request.args["document"]]
    if form.validate_on_submit():
        try:
            cr = services.raise_change_request(
                current_user,
                form.title.data,
                form.reason.data,
                form.documents.data,
                form.source_ref.data,
            )
        except ServiceError as exc:
            show_error(form, exc)
        else:
            flash(_("Change request %(number)s raised.", number=cr.number), "success")
            return redirect(url_for("documents.change_request", number=cr.number))
    return render_template("documents/change_request_new.html", form=form)


@bp.route("/change-requests/<number>", methods=["GET", "POST"])
def change_request(number: str):
    """Show a change request; approvers accept or decline it."""
    cr = services.get_change_request(number)
    form = DecideForm()
    if form.validate_on_submit():
        try:
            services.decide_change_request(
                current_user, cr, form.decision.data == "accept", form.note.data or ""
            )
        except ServiceError as exc:
            show_error(form, exc)
        else:
            flash(_("Decision recorded."), "success")
            return redirect(url_for("documents.change_request", number=number))
    revisions = db.session.scalars(
        select(Revision).where(Revision.change_request_id == cr.id)
    ).all()
    # An accepted request is carried out by a revision of each document it concerns.
    start = {}
    if cr.status == "accepted":
        for doc in cr.documents:
            if services.can_open_draft(current_user, doc):
                start[doc.code] = _open_form(doc)
                start[doc.code].change_request.data = cr.number
    return render_template(
        "documents/change_request.html",
        cr=cr,
        form=form,
        revisions=revisions,
        start=start,
        events=trail.events_for("change_request", cr.number),
    )
