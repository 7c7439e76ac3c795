"""Pages of the service catalogue: items, windows, coverage and its work queue, import."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from qms import trail
from qms.adoption import services as adoption
from qms.errors import ServiceError, ValidationFailed
from qms.forms import codes, options, show_error
from qms.navigation import NavItem, register_nav, register_work
from qms.reviews.permissions import can_view_dashboard
from qms.standards import catalogue, catalogue_import, catalogue_labels, coverage
from qms.standards.catalogue_forms import ImportForm, ItemForm, WindowForm

bp = Blueprint("service_items", __name__)
register_nav(NavItem("service_items.index", _l("Service items"), ("service_items.",), order=65))


def panels(user) -> list[dict]:
    """Home-page panel for managers: standard coverage against its target, and the gaps."""
    if not can_view_dashboard(user):
        return []
    assessed = coverage.assess()
    if not assessed:
        return []
    return [{"template": "service_items/_dashboard.html", "figures": coverage.figures(assessed)}]


register_work(61, panels)


@bp.app_context_processor
def template_helpers():
    """Give templates the catalogue's labels and rules."""
    return {
        "service_state_label": catalogue_labels.state_label,
        "service_state_badge": catalogue_labels.state_badge,
        "service_reason_label": catalogue_labels.reason_label,
        "service_active_label": catalogue_labels.active_label,
        "service_standard_status_label": catalogue_labels.standard_status_label,
        "catalogue_rules": catalogue,
        "can_view_adoption": adoption.can_view,
    }


def _departments(blank: str) -> list:
    return options([("", blank)] + [(n, n) for n in catalogue.department_names()])


def _item_form(form: ItemForm | None = None, new: bool = True) -> ItemForm:
    form = form or ItemForm()
    form.department.choices = _departments(_("None"))
    form.windows.choices = options(
        (w.code, str(w))
        for w in catalogue.list_windows()
        if w.active or w.code in (form.windows.data or [])
    )
    if not new:
        del form.code  # an item keeps its code: ratings and complaints name it
    return form


def _item_values(form: ItemForm) -> dict:
    return {
        "name": form.name.data,
        "legal_basis": form.legal_basis.data,
        "statutory_days": form.statutory_days.data,
        "promised_days": form.promised_days.data,
        "department": form.department.data or None,
        "windows": form.windows.data or [],
        "documents": codes(form.documents.data),
        "standards": codes(form.standards.data),
    }


def _filters() -> dict:
    state = request.args.get("state") or None
    return {
        "department": (request.args.get("department") or "").strip()[:120] or None,
        "window": (request.args.get("window") or "").strip()[:40] or None,
        "state": state if state in coverage.STATES else None,
        "q": (request.args.get("q") or "").strip()[:100] or None,
        "inactive": request.args.get("inactive") == "1",
    }


# -- items ------------------------------------------------------------------------------


def _index(form: ItemForm | None = None, status: int = 200):
    filters = _filters()
    items = catalogue.list_items(
        filters["department"], filters["window"], filters["inactive"], filters["q"]
    )
    # An inactive item has no coverage state: it left the figures.
    assessed = [
        coverage.assess_item(i) if i.active else coverage.ItemCoverage(i, "inactive") for i in items
    ]
    if filters["state"]:
        assessed = [e for e in assessed if e.state == filters["state"]]
    return render_template(
        "service_items/index.html",
        assessed=assessed,
        filters=filters,
        states=coverage.STATES,
        departments=catalogue.department_names(),
        windows=catalogue.list_windows(),
        form=_item_form(form),
    ), status


@bp.get("/service-items/")
def index():
    """List the service items with their coverage state, filtered."""
    return _index()


@bp.post("/service-items/")
def add():
    """Add a service item to the catalogue."""
    if not catalogue.can_manage_catalogue(current_user):
        abort(403)
    form = _item_form()
    if not form.validate_on_submit():
        return _index(form, 422)
    try:
        item = catalogue.add_item(current_user, form.code.data, **_item_values(form))
    except ServiceError as exc:  # the unit of work rolled the changes back
        show_error(form, exc)
        return _index(form, exc.status)
    flash(_("%(code)s added.", code=item.code), "success")
    return redirect(url_for("service_items.detail", code=item.code))


def _detail(item, form: ItemForm | None = None, code: int = 200):
    if form is None:
        form = _item_form(
            ItemForm(
                obj=item,
                department=item.department.name if item.department else "",
                windows=[w.code for w in item.windows],
                documents=", ".join(r.document.code for r in item.document_rows),
                standards=", ".join(r.standard.number for r in item.standard_rows),
            ),
            new=False,
        )
    return render_template(
        "service_items/detail.html",
        item=item,
        assessed=coverage.assess_item(item),
        form=form,
        events=trail.events_for("service_item", item.code),
    ), code


@bp.get("/service-items/<code>")
def detail(code: str):
    """Show an item: legal basis, time limits, windows, what governs it and its state."""
    return _detail(catalogue.get_item(code))


@bp.post("/service-items/<code>")
def change(code: str):
    """Change an item's details, windows, documents and standards."""
    item = catalogue.get_item(code)
    if not catalogue.can_manage_catalogue(current_user):
        abort(403)
    form = _item_form(ItemForm(), new=False)
    if not form.validate_on_submit():
        return _detail(item, form, 422)
    try:
        catalogue.change_item(current_user, item, **_item_values(form))
    except ServiceError as exc:
        show_error(form, exc)
        return _detail(catalogue.get_item(code), form, exc.status)
    flash(_("Saved."), "success")
    return redirect(url_for("service_items.detail", code=code))


@bp.post("/service-items/<code>/active")
def set_active(code: str):
    """Deactivate an item (it leaves the figures and lists) or make it active again."""
    item = catalogue.get_item(code)
    if not catalogue.can_manage_catalogue(current_user):
        abort(403)
    active = request.form.get("active") == "1"
    try:
        catalogue.change_item(current_user, item, active=active)
    except ServiceError as exc:
        flash(exc.message, "error")
    else:
        state = catalogue_labels.active_label(active)
        flash(_("%(code)s is now %(state)s.", code=code, state=state), "success")
    return redirect(url_for("service_items.detail", code=code))


@bp.post("/service-items/<code>/replacement")
def take_replacement(code: str):
    """Govern the item by the standards that replace its replaced or withdrawn ones."""
    item = catalogue.get_item(code)
    if not catalogue.can_manage_catalogue(current_user):
        abort(403)
    try:
        taken = catalogue.take_replacements(current_user, item)
    except ServiceError as exc:
        flash(exc.message, "error")
    else:
        numbers = ", ".join(taken)
        flash(_("%(code)s is now governed by %(numbers)s.", code=code, numbers=numbers), "success")
    if request.form.get("back") == "coverage":
        return redirect(url_for("service_items.gaps"))
    return redirect(url_for("service_items.detail", code=code))


# -- coverage and the work queue ------------------------------------------------------------


@bp.get("/service-items/coverage")
def gaps():
    """Show standard coverage against its target, and the work queue of gaps."""
    assessed = coverage.assess()
    result = coverage.figures(assessed)
    return render_template(
        "service_items/coverage.html",
        figures=result,
        chart=coverage.chart(result),
        gaps=coverage.gaps(assessed),
    )


# -- import ---------------------------------------------------------------------------------


@bp.route("/service-items/import", methods=["GET", "POST"])
def import_file():
    """Import the catalogue from an XLSX or CSV file: every row, or none."""
    if not catalogue.can_manage_catalogue(current_user):
        abort(403)
    form = ImportForm()
    errors: list[dict] = []
    if request.method == "POST":
        upload = form.file.data
        try:
            if upload is None or not getattr(upload, "filename", ""):
                raise ValidationFailed(_("Choose a file to import."), field="file")
            rows = catalogue_import.read_table(upload.filename, upload.read())
            result = catalogue_import.import_catalogue(current_user, rows)
        except ServiceError as exc:
            show_error(form, exc)
            errors = (exc.detail or {}).get("rows", []) if isinstance(exc.detail, dict) else []
            return render_template(
                "service_items/import.html", form=form, errors=errors
            ), exc.status
        flash(
            _(
                "Imported: %(added)s added, %(changed)s changed, %(unchanged)s unchanged.",
                added=len(result.added),
                changed=len(result.changed),
                unchanged=len(result.unchanged),
            ),
            "success",
        )
        return redirect(url_for("service_items.index"))
    return render_template("service_items/import.html", form=form, errors=errors)


# -- windows ----------------------------------------------------------------------------------


def _window_form(form: WindowForm | None = None, new: bool = True) -> WindowForm:
    form = form or WindowForm()
    form.department.choices = _departments(_("None"))
    if not new:
        del form.code
    return form


def _windows(form: WindowForm | None = None, status: int = 200):
    windows = catalogue.list_windows()
    return render_template(
        "service_items/windows.html",
        windows=windows,
        counts={w.id: len(catalogue.items_of_window(w)) for w in windows},
        form=_window_form(form),
    ), status


@bp.get("/windows/")
def windows():
    """List the windows of the service hall and how many items each handles."""
    return _windows()


@bp.post("/windows/")
def add_window():
    """Add a window."""
    if not catalogue.can_manage_catalogue(current_user):
        abort(403)
    form = _window_form()
    if not form.validate_on_submit():
        return _windows(form, 422)
    try:
        window = catalogue.add_window(
            current_user, form.code.data, form.name.data, form.department.data or None
        )
    except ServiceError as exc:
        show_error(form, exc)
        return _windows(form, exc.status)
    flash(_("%(code)s added.", code=window.code), "success")
    return redirect(url_for("service_items.window", code=window.code))


def _window(window, form: WindowForm | None = None, status: int = 200):
    if form is None:
        form = _window_form(
            WindowForm(obj=window, department=window.department.name if window.department else ""),
            new=False,
        )
    items = catalogue.items_of_window(window)
    return render_template(
        "service_items/window.html",
        window=window,
        assessed=[coverage.assess_item(i) for i in items],
        form=form,
        events=trail.events_for("service_window", window.code),
    ), status


@bp.get("/windows/<code>")
def window(code: str):
    """Show a window and the items it handles."""
    return _window(catalogue.get_window(code))


@bp.post("/windows/<code>")
def change_window(code: str):
    """Change a window's name or department, or deactivate it."""
    window = catalogue.get_window(code)
    if not catalogue.can_manage_catalogue(current_user):
        abort(403)
    if "active" in request.form and "name" not in request.form:
        try:
            catalogue.change_window(current_user, window, active=request.form["active"] == "1")
        except ServiceError as exc:
            flash(exc.message, "error")
        else:
            flash(_("Saved."), "success")
        return redirect(url_for("service_items.window", code=code))
    form = _window_form(WindowForm(), new=False)
    if not form.validate_on_submit():
        return _window(window, form, 422)
    try:
        catalogue.change_window(
            current_user, window, name=form.name.data, department=form.department.data or None
        )
    except ServiceError as exc:
        show_error(form, exc)
        return _window(catalogue.get_window(code), form, exc.status)
    flash(_("Saved."), "success")
    return redirect(url_for("service_items.window", code=code))
