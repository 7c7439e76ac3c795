"""Pages of the standard system: the list of standards, a standard, the table, categories."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user

from qms import trail
from qms.errors import ServiceError
from qms.forms import codes, options, show_error
from qms.navigation import NavItem, register_nav
from qms.standards import exports, labels, permissions, services
from qms.standards.forms import (
    CategoryChangeForm,
    CategoryForm,
    CitationForm,
    StandardForm,
    StatusForm,
)
from qms.standards.models import STANDARD_STATUSES

bp = Blueprint("standards", __name__, url_prefix="/standards")
register_nav(NavItem("standards.index", _l("Standards"), ("standards.",), order=61))


@bp.app_context_processor
def template_helpers():
    """Give templates this domain's labels and rules."""
    return {
        "standard_status_label": labels.status_label,
        "standard_status_badge": labels.status_badge,
        "standard_scheme_label": labels.scheme_label,
        "standard_rules": permissions,
    }


def _category_choices(scheme: str | None = None, blank=None) -> list:
    pairs = [("", blank if blank is not None else _("— none —"))]
    for c in services.categories(scheme):
        indent = "\u3000" * services.depth_of(c)
        prefix = "" if scheme else f"[{labels.scheme_label(c.scheme)}] "
        pairs.append((str(c.id), f"{prefix}{indent}{c.code} {c.name}"))
    return options(pairs)


def _standard_form(form: StandardForm | None = None) -> StandardForm:
    form = form or StandardForm()
    form.category.choices = _category_choices()
    return form


def _filters() -> dict:
    status = request.args.get("status") or None
    category = request.args.get("category") or ""
    return {
        "status": status if status in STANDARD_STATUSES else None,
        "category_id": int(category) if category.isdigit() and len(category) < 10 else None,
        "q": (request.args.get("q") or "").strip()[:100] or None,
    }


def _index(form: StandardForm | None = None, code: int = 200):
    filters = _filters()
    return render_template(
        "standards/index.html",
        standards=services.list_standards(**filters),
        filters=filters,
        statuses=STANDARD_STATUSES,
        category_choices=_category_choices(blank=_("All")),
        header=exports.list_header(),
        form=_standard_form(form),
    ), code


@bp.get("/")
def index():
    """List the external standards (明细表), filtered by category and status."""
    return _index()


@bp.post("/")
def add():
    """Register an external standard."""
    if not permissions.can_manage(current_user):
        abort(403)
    form = _standard_form()
    if not form.validate_on_submit():
        return _index(form, 422)
    try:
        std = services.add_standard(
            current_user,
            form.number.data,
            form.title.data,
            edition=form.edition.data,
            issuing_body=form.issuing_body.data,
            effective_on=form.effective_on.data,
            category=form.category.data or None,
            document=form.document.data,
        )
    except ServiceError as exc:
        show_error(form, exc)
        return _index(form, exc.status)
    flash(_("%(number)s added.", number=std.number), "success")
    return redirect(url_for("standards.detail", standard_id=std.id))


def _format(fmt: str) -> str:
    if fmt not in exports.MIMETYPES:
        abort(404)
    return fmt


@bp.get("/list.<fmt>")
def export_list(fmt: str):
    """Download the list of standards as filtered, as XLSX or DOCX."""
    return exports.download_list(_format(fmt), services.list_standards(**_filters()))


def _scheme() -> str | None:
    schemes = services.schemes()
    wanted = request.args.get("scheme")
    if wanted in schemes:
        return wanted
    return schemes[0] if schemes else None


@bp.get("/table")
def table():
    """Show the standard-system table (体系表) of a scheme, with counts per category."""
    scheme = _scheme()
    nodes = services.table(scheme) if scheme else []
    top = [n for n in nodes if n.depth == 0]
    return render_template(
        "standards/table.html",
        scheme=scheme,
        schemes=services.schemes(),
        nodes=nodes,
        biggest=max((n.total for n in top), default=0),
        top=top,
    )


@bp.get("/table.<fmt>")
def export_table(fmt: str):
    """Download the standard-system table of a scheme, grouped by category."""
    fmt = _format(fmt)
    scheme = _scheme()
    return exports.download_table(fmt, scheme or "", services.table(scheme) if scheme else [])


def _detail(std, form=None, status_form=None, citation_form=None, code: int = 200):
    if form is None:
        form = _standard_form(
            StandardForm(
                obj=std,
                category=str(std.category_id or ""),
                document=services.document_code(std.document_id) or "",
            )
        )
    status_form = status_form or StatusForm()
    status_form.status.choices = options((s, labels.status_label(s)) for s in STANDARD_STATUSES)
    if status_form.status.data is None:
        status_form.status.data = std.status
    citation_form = citation_form or CitationForm()
    proposals = services.find_citing(std) if request.args.get("find") == "1" else None
    return render_template(
        "standards/detail.html",
        std=std,
        form=form,
        status_form=status_form,
        citation_form=citation_form,
        citing=services.citing_documents(std),
        copy_code=services.document_code(std.document_id),
        proposals=proposals,
        replaces=services.replaced_standards(std),
        change_requests=services.open_change_requests(std),
        events=trail.events_for("external_standard", std.number),
    ), code


@bp.get("/<int:standard_id>")
def detail(standard_id: int):
    """Show a standard: its details, status, successor and the documents citing it."""
    return _detail(services.get_standard(standard_id))


@bp.post("/<int:standard_id>")
def change(standard_id: int):
    """Change a standard's details."""
    std = services.get_standard(standard_id)
    if not permissions.can_manage(current_user):
        abort(403)
    form = _standard_form()
    if not form.validate_on_submit():
        return _detail(std, form=form, code=422)
    try:
        services.change_standard(
            current_user,
            std,
            number=form.number.data,
            title=form.title.data,
            edition=form.edition.data,
            issuing_body=form.issuing_body.data,
            effective_on=form.effective_on.data,
            category=form.category.data or None,
            document=form.document.data,
        )
    except ServiceError as exc:  # the unit of work rolled the changes back
        show_error(form, exc)
        return _detail(services.get_standard(standard_id), form=form, code=exc.status)
    flash(_("Saved."), "success")
    return redirect(url_for("standards.detail", standard_id=standard_id))


@bp.post("/<int:standard_id>/status")
def status(standard_id: int):
    """Mark a standard in force, replaced (by its successor) or withdrawn."""
    std = services.get_standard(standard_id)
    if not permissions.can_change_status(current_user):
        abort(403)
    form = StatusForm()
    form.status.choices = options((s, labels.status_label(s)) for s in STANDARD_STATUSES)
    if not form.validate_on_submit():
        return _detail(std, status_form=form, code=422)
    try:
        raised = services.set_status(
            current_user,
            std,
            form.status.data,
            replaced_by=form.replaced_by.data,
            successor_title=form.successor_title.data,
            reason=form.reason.data,
        )
    except ServiceError as exc:
        show_error(form, exc)
        return _detail(services.get_standard(standard_id), status_form=form, code=exc.status)
    std = services.get_standard(standard_id)
    flash(
        _(
            "%(number)s is now %(status)s.",
            number=std.number,
            status=labels.status_label(std.status),
        ),
        "success",
    )
    if raised:
        flash(_("Change request %(number)s raised on the citing documents.", number=raised), "info")
    return redirect(url_for("standards.detail", standard_id=standard_id))


@bp.post("/<int:standard_id>/citations")
def cite(standard_id: int):
    """Record which register documents cite the standard (by code, or the proposals ticked)."""
    std = services.get_standard(standard_id)
    if not permissions.can_manage(current_user):
        abort(403)
    form = CitationForm()
    picked = request.form.getlist("pick")
    if picked:
        form.documents.data = ", ".join(picked)
    elif not form.validate_on_submit():
        return _detail(std, citation_form=form, code=422)
    try:
        added = services.cite(current_user, std, codes(form.documents.data))
    except ServiceError as exc:
        show_error(form, exc)
        return _detail(services.get_standard(standard_id), citation_form=form, code=exc.status)
    flash(_("Recorded as citing: %(codes)s.", codes=", ".join(added)), "success")
    return redirect(url_for("standards.detail", standard_id=standard_id))


@bp.post("/<int:standard_id>/citations/remove")
def uncite(standard_id: int):
    """Record that a document no longer cites the standard."""
    std = services.get_standard(standard_id)
    if not permissions.can_manage(current_user):
        abort(403)
    try:
        services.uncite(current_user, std, request.form.get("code", ""))
    except ServiceError as exc:
        flash(exc.message, "error")
        return _detail(services.get_standard(standard_id), code=exc.status)
    flash(_("Saved."), "success")
    return redirect(url_for("standards.detail", standard_id=standard_id))


# -- categories -----------------------------------------------------------------------------


def _categories(form=None, code: int = 200, change_forms=None):
    if not permissions.can_configure(current_user):
        abort(403)
    scheme = _scheme()
    form = form or CategoryForm(scheme=scheme or "")
    form.parent.choices = _category_choices(blank=_("— top level —"))
    rows = []
    for c in services.categories(scheme) if scheme else []:
        change_form = (change_forms or {}).get(c.id) or CategoryChangeForm(
            obj=c, parent=str(c.parent_id or ""), prefix=f"c{c.id}"
        )
        change_form.parent.choices = _category_choices(scheme, blank=_("— top level —"))
        rows.append((c, services.depth_of(c), services.category_contents(c), change_form))
    return render_template(
        "standards/categories.html",
        scheme=scheme,
        schemes=services.schemes(),
        presets=[p for p in labels.PRESETS if p not in services.schemes()],
        rows=rows,
        form=form,
    ), code


@bp.get("/categories")
def categories():
    """Configure the categories of each scheme, or apply a preset."""
    return _categories()


@bp.post("/categories")
def add_category():
    """Add a category (a new scheme starts with its first one)."""
    if not permissions.can_configure(current_user):
        abort(403)
    form = CategoryForm()
    form.parent.choices = _category_choices(blank="")
    if not form.validate_on_submit():
        return _categories(form, 422)
    try:
        category = services.add_category(
            current_user, form.scheme.data, form.code.data, form.name.data, form.parent.data or None
        )
    except ServiceError as exc:
        show_error(form, exc)
        return _categories(form, exc.status)
    flash(_("%(category)s added.", category=str(category)), "success")
    return redirect(url_for("standards.categories", scheme=category.scheme))


@bp.post("/categories/preset")
def apply_preset():
    """Apply a preset scheme: its categories, named in the user's language."""
    if not permissions.can_configure(current_user):
        abort(403)
    preset = request.form.get("preset", "")
    try:
        made = services.apply_preset(current_user, preset)
    except ServiceError as exc:
        flash(exc.message, "error")
        return _categories(code=exc.status)
    flash(
        _(
            "%(scheme)s applied: %(n)d categories.",
            scheme=labels.scheme_label(preset),
            n=len(made),
        ),
        "success",
    )
    return redirect(url_for("standards.categories", scheme=preset))


@bp.post("/categories/<int:category_id>")
def change_category(category_id: int):
    """Rename, recode or move a category."""
    if not permissions.can_configure(current_user):
        abort(403)
    category = services.get_category(category_id)
    scheme = category.scheme
    form = CategoryChangeForm(prefix=f"c{category.id}")
    form.parent.choices = _category_choices(scheme, blank="")
    if not form.validate_on_submit():
        return _categories(code=422, change_forms={category.id: form})
    try:
        services.change_category(
            current_user,
            category,
            code=form.code.data,
            name=form.name.data,
            parent=form.parent.data or None,
            position=form.position.data,
        )
    except ServiceError as exc:
        show_error(form, exc)
        return _categories(code=exc.status, change_forms={category.id: form})
    flash(_("Saved."), "success")
    return redirect(url_for("standards.categories", scheme=scheme))


@bp.post("/categories/<int:category_id>/remove")
def remove_category(category_id: int):
    """Remove an empty category."""
    if not permissions.can_configure(current_user):
        abort(403)
    category = services.get_category(category_id)
    scheme = category.scheme
    try:
        services.remove_category(current_user, category)
    except ServiceError as exc:
        flash(exc.message, "error")
        return _categories(code=exc.status)
    flash(_("Category removed."), "success")
    return redirect(url_for("standards.categories", scheme=scheme))


# -- placing documents ----------------------------------------------------------------------


def _placement(code: int = 200, chosen: dict | None = None):
    if not permissions.can_place(current_user):
        abort(403)
    scheme = _scheme()
    return render_template(
        "standards/placement.html",
        scheme=scheme,
        schemes=services.schemes(),
        documents=services.unplaced(scheme) if scheme else [],
        choices=_category_choices(scheme, blank=_("— choose —")) if scheme else [],
        chosen=chosen or {},
    ), code


@bp.get("/placement")
def placement():
    """List the register documents not yet placed in a category of the scheme."""
    return _placement()


@bp.post("/placement")
def place():
    """Place the documents in the categories chosen, row by row."""
    if not permissions.can_place(current_user):
        abort(403)
    scheme = _scheme()
    chosen = {
        key[len("doc-") :]: value
        for key, value in request.form.items()
        if key.startswith("doc-") and value
    }
    if scheme is None:
        abort(404)
    try:
        count = services.place(current_user, scheme, chosen)
    except ServiceError as exc:
        flash(exc.message, "error")
        return _placement(exc.status, chosen)
    flash(ngettext("%(num)d document placed.", "%(num)d documents placed.", count), "success")
    return redirect(url_for("standards.placement", scheme=scheme))
