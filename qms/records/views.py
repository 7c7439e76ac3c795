"""Pages for filling record forms, keeping drafts, and reading, amending and exporting records."""

import io

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select
from wtforms import TextAreaField

from qms import clock, render, spreadsheets, trail
from qms.attachments import clean_name
from qms.auth.models import Department
from qms.documents import rendering as doc_rendering
from qms.documents import services as documents_service
from qms.errors import ServiceError
from qms.extensions import db
from qms.forms import options
from qms.navigation import NavItem, register_nav, register_work
from qms.records import builder, exports, services
from qms.records.fields import (
    DefinitionError,
    add_row,
    build_form,
    form_data,
    kept_attachments,
    raw_values,
    uploads,
)
from qms.records.forms import ActionForm, FilterForm, ReasonForm
from qms.records.models import RECORD_STATUSES

bp = Blueprint("records", __name__, url_prefix="/records")
register_nav(NavItem("records.index", _l("Records"), ("records.",), order=20))


#: The record list counts its matches up to this many.
COUNT_CAP = 10_000
#: How many forms the home page lists; the rest are on the records page.
HOME_LIST = 20


def work_panels(user) -> list[dict]:
    """Home-page panel: the forms the user's department fills, and their record drafts."""
    return [
        {
            "template": "records/_work.html",
            "forms": services.forms(user, limit=HOME_LIST),
            "form_count": services.count_forms(user),
            "drafts": services.drafts_of(user),
        }
    ]


register_work(20, work_panels)


def form_preview(meta: dict) -> Markup:
    """Show a record form draft's fields as staff will see them (the documents editor hook)."""
    try:
        fields, _retention = services.parse_definition(meta)
    except DefinitionError as exc:
        return Markup(render_template("records/_form_preview.html", error=exc.message))
    # Prefixed: the preview sits inside the editor's form, whose field names it must not reuse.
    form = build_form(
        fields, services.choices(), posted=False, data=form_data(fields, {}), prefix="preview"
    )
    code = str(meta.get("code") or "")
    return Markup(
        render_template(
            "records/_form_preview.html",
            form=form,
            fields=fields,
            code=code,
            can_build=_can_build(code),
        )
    )


def _can_build(code: str) -> bool:
    """Return whether the previewed form's fields may be opened in the form builder."""
    try:
        doc = documents_service.get_document(code) if code else None
    except ServiceError:
        return False
    return doc is not None and builder.can_build(current_user, doc)


doc_rendering.register_preview(services.FORM_TYPE, form_preview)


@bp.app_context_processor
def labels():
    """Give templates the localised names of record states and link types."""
    return {
        "record_status_label": services.status_label,
        "record_link_label": services.link_label,
    }


def _instructions(defn: services.FormDefinition) -> Markup:
    try:
        html = render.render(defn.instructions, "html", None, doc_rendering.cache_dir())
    except render.RenderError:
        return Markup("")
    return Markup(html.decode("utf-8"))


# -- forms and drafts ----------------------------------------------------------------------


@bp.get("/")
def index():
    """List the record forms in force, the user's drafts and the latest records."""
    mine = {d.code for d in services.forms(current_user)}
    return render_template(
        "records/index.html",
        forms=services.forms(),
        mine=mine,
        drafts=services.drafts_of(current_user),
        recent=db.session.scalars(services.list_records(viewer=current_user).limit(10)).all(),
        can_review_retention=services.can_review_retention(current_user),
    )


@bp.route("/fill/<code>", methods=["GET", "POST"])
def fill(code: str):
    """Fill the effective revision of a record form; save it as a draft or submit it."""
    return _filling(services.fillable(code), None)


@bp.route("/drafts/<int:draft_id>", methods=["GET", "POST"])
def draft(draft_id: int):
    """Go on filling a saved draft, against the form revision in force now."""
    saved = services.get_draft(current_user, draft_id)
    return _filling(services.fillable(saved.form_code), saved)


@bp.post("/drafts/<int:draft_id>/delete")
def delete_draft(draft_id: int):
    """Discard one of your drafts."""
    if ActionForm().validate_on_submit():
        services.delete_draft(current_user, draft_id)
        flash(_("The draft was discarded."), "success")
    return redirect(url_for("records.index"))


def _filling(defn: services.FormDefinition, saved):
    """Fill a form anew or from a saved draft: keep it as a draft, or submit the record."""

    def save(action: str, raw: dict, files: dict, _form):
        draft_id = saved.id if saved is not None else None
        if action == "draft":
            kept = services.save_draft(current_user, defn.code, raw, draft_id, uploads=files)
            flash(_("Draft saved. Only you can see it."), "success")
            return redirect(url_for("records.draft", draft_id=kept.id))
        record = services.submit_record(current_user, defn.code, raw, draft_id, uploads=files)
        flash(_("Record %(number)s submitted.", number=record.number), "success")
        return redirect(url_for("records.detail", number=record.number))

    return _record_form(defn, saved.values if saved is not None else {}, save, saved=saved)


@bp.route("/<path:number>/amend", methods=["GET", "POST"])
def amend(number: str):
    """Amend a record: a new version with a reason; the earlier one stays as it was."""
    record = services.get_record(number, viewer=current_user)
    if not services.can_amend(current_user, record):
        abort(403)

    def save(_action: str, raw: dict, files: dict, form):
        reason = form.amend_reason.data or ""
        services.amend_record(current_user, record.number, raw, reason, uploads=files)
        flash(_("Record %(number)s amended.", number=record.number), "success")
        return redirect(url_for("records.detail", number=record.number))

    reason = TextAreaField(
        _l("Reason for the amendment"),
        description=_l("Shown with the new version, next to the earlier one."),
        render_kw={"required": False, "rows": 3},
    )
    return _record_form(
        services.record_definition(record),
        record.values,
        save,
        extra={"amend_reason": reason},
        record=record,
        saved=None,
    )


# A service's field that the page names otherwise (a form field may be keyed "reason").
PAGE_FIELDS = {"reason": "amend_reason"}


def _record_form(defn: services.FormDefinition, values: dict, save, extra=None, **page):
    """Show a record form, and take what was posted: a row added, a draft, a record, an amendment.

    ``save(action, raw values, uploads, form)`` makes the change and returns the page to go
    to; when the service refuses, the form comes back with what was typed and each
    problem beside its field, and nothing of the submission is kept.
    """
    posted = request.method == "POST"
    # An amendment may keep what the record names (a provider suspended since); a new one not.
    kept = values if page.get("record") is not None else None
    form = build_form(
        defn.fields,
        services.choices(kept),
        posted,
        data=form_data(defn.fields, values),
        extra=extra,
    )
    table_errors: dict[str, list[str]] = {}
    if posted:
        action = request.form.get("action", "submit")
        files = uploads(defn.fields, form)
        if not form.validate_on_submit():
            flash(_("The form expired; your values are kept. Please send it again."), "error")
        elif action.startswith("add_row:"):
            add_row(defn.fields, form, action.partition(":")[2])
            _choose_again(form, files)
        else:
            try:
                return save(action, raw_values(defn.fields, form), files, form)
            except ServiceError as exc:
                table_errors = _put_errors(form, exc, defn)
                _choose_again(form, files)
                flash(exc.message, "error")
    return render_template(
        "records/fill.html",
        defn=defn,
        form=form,
        table_errors=table_errors,
        instructions=_instructions(defn),
        action=ActionForm(),
        attachments=_attachment_names(defn, form),
        **page,
    )


def _put_errors(form, exc: ServiceError, defn) -> dict[str, list[str]]:
    """Put each problem beside its field; return those shown above the form instead."""
    errors = exc.detail if isinstance(exc.detail, dict) else {}
    name = PAGE_FIELDS.get(exc.field, exc.field)
    if not errors and name and name in form and defn.field(name) is None:
        errors = {name: [exc.message]}
    elsewhere: dict[str, list[str]] = {}
    for key, messages in errors.items():
        fd = defn.field(key)
        if key in form and (fd is None or fd.type != "table"):
            form[key].errors = list(form[key].errors) + list(messages)
        else:
            elsewhere[key] = list(messages)
    return elsewhere


def _choose_again(form, files: dict) -> None:
    """Say beside each chosen file that it was not kept: nothing is, until the form is saved."""
    for key, upload in files.items():
        if not form[key].errors:
            form[key].description = _(
                "%(name)s was not kept, as the form was not saved: choose the file again.",
                name=clean_name(upload.filename),
            )


def _attachment_names(defn, form) -> dict:
    """Return {field key: (id, name)} for files already attached to a form being filled."""
    out = {}
    for key, ident in kept_attachments(defn.fields, form).items():
        try:
            attachment = services.get_attachment(ident)
        except ServiceError:
            continue
        out[key] = (attachment.id, attachment.name)
    return out


# -- lists -----------------------------------------------------------------------------------


def _filters():
    form = FilterForm(request.args)
    code = (request.args.get("form") or "").strip() or None
    form.department.choices = options(
        [("", _("All departments"))]
        + [
            (str(d.id), d.name)
            for d in db.session.scalars(select(Department).order_by(Department.name))
        ]
    )
    form.status.choices = options(
        [("", _("All statuses"))] + [(s, services.status_label(s)) for s in RECORD_STATUSES]
    )
    form.field.choices = options([("", _("Any field"))] + services.search_filters(code))
    form.validate()  # only to turn bad dates into errors instead of filters
    department = form.department.data or ""
    stmt = services.list_records(
        form=code,
        date_from=form.date_from.data if not form.date_from.errors else None,
        date_to=form.date_to.data if not form.date_to.errors else None,
        department_id=int(department) if department.isdigit() else None,
        submitter=(form.submitter.data or "").strip() or None,
        status=form.status.data or None,
        revision=request.args.get("revision") or None,
        field=form.field.data or None,
        value=(form.value.data or "").strip() or None,
        sort=request.args.get("sort", "-submitted_at"),
        viewer=current_user,
    )
    return form, code, stmt


@bp.get("/all")
def records():
    """List records across forms or of one form: filter, sort, page, export CSV or XLSX."""
    form, code, stmt = _filters()
    fmt = spreadsheets.requested_format()
    if fmt:
        found = db.session.scalars(stmt).all()
        header, rows = exports.table(found, code)
        name = f"records-{code or 'all'}-{clock.today().isoformat()}.{fmt}"
        data = (
            spreadsheets.to_csv(header, rows)
            if fmt == "csv"
            else spreadsheets.to_xlsx(header, rows, code or _("Records"))
        )
        return send_file(
            io.BytesIO(data),
            mimetype=exports.MIMETYPES[fmt],
            download_name=name,
            as_attachment=True,
        )
    # The count is capped: counting every match of a filter would cost as much as listing
    # them all; past the cap the page says "more than" and the filters narrow it.
    page = db.paginate(stmt, per_page=50, error_out=False, count=False)
    page.total = services.count_up_to(stmt, COUNT_CAP)
    args = {k: v for k, v in request.args.items() if k not in ("page", "sort", "format") and v}
    return render_template(
        "records/list.html",
        form=form,
        code=code,
        page=page,
        cap=COUNT_CAP,
        sort=request.args.get("sort", "-submitted_at"),
        args=args,
    )


@bp.get("/retention")
def retention():
    """List records kept longer than their form's retention period, for a disposal decision."""
    if not services.can_review_retention(current_user):
        abort(403)
    return render_template("records/retention.html", groups=services.past_retention())


# -- one record ------------------------------------------------------------------------------


@bp.get("/attachments/<int:ident>")
def attachment(ident: int):
    """Download an attached file (never shown inline, so it cannot run in the page)."""
    found = services.get_attachment(ident)
    if not services.can_download(current_user, found):
        abort(404)  # as if it did not exist, like the record it belongs to
    return send_file(
        services.attachment_path(found),
        mimetype="application/octet-stream",
        download_name=found.name,
        as_attachment=True,
    )


@bp.get("/<path:number>")
def detail(number: str):
    """Show a record with its form revision's labels, every version, links and trail."""
    record = services.get_record(number, viewer=current_user)
    defn = services.record_definition(record)
    versions = [(v, services.shown(defn, v.values)) for v in reversed(record.versions)]
    raise_nc = "improvement.new" in current_app.view_functions and record.status != "void"
    events = trail.events_for("record", record.number)
    return render_template(
        "records/detail.html",
        record=record,
        defn=defn,
        shown=services.shown(defn, record.values),
        versions=versions,
        can_amend=services.can_amend(current_user, record),
        can_void=services.can_void(current_user, record),
        void_form=ReasonForm(),
        raise_nc=raise_nc,
        retention_ends=services.retention_ends(record, defn),
        events=events,
        trail_fields=services.trail_fields(defn, events),
    )


@bp.post("/<path:number>/void")
def void(number: str):
    """Void a record with a reason; it stays readable, marked void."""
    form = ReasonForm()
    if not form.validate_on_submit():
        flash(_("Give the reason for voiding the record."), "error")
        return redirect(url_for("records.detail", number=number))
    try:
        services.void_record(current_user, number, form.reason.data)
    except ServiceError as exc:
        flash(exc.message, "error")
    else:
        flash(_("Record %(number)s is void. It stays readable.", number=number), "success")
    return redirect(url_for("records.detail", number=number))


@bp.get("/<path:number>/copy")
def copy(number: str):
    """Download one record as a PDF or DOCX copy with its form's header."""
    fmt = request.args.get("format", "pdf")
    if fmt not in ("pdf", "docx"):
        abort(400)
    record = services.get_record(number, viewer=current_user)
    data, mimetype, name = exports.record_copy(record, fmt)
    return send_file(io.BytesIO(data), mimetype=mimetype, download_name=name, as_attachment=True)
