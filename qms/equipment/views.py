"""Pages for the equipment register: the list, an instrument, its calibrations."""

from flask import (
    Blueprint,
    abort,
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
from sqlalchemy import select

from qms import clock, spreadsheets, trail
from qms.auth.models import Department, User
from qms.equipment import labels, permissions, services
from qms.equipment.forms import CalibrationForm, EquipmentForm, FilterForm, StatusForm
from qms.equipment.models import INTERVAL_UNITS, KINDS, RESULTS, STATUSES, TRANSITIONS
from qms.errors import ServiceError
from qms.extensions import db
from qms.forms import options, show_error
from qms.navigation import NavItem, register_nav, register_work

bp = Blueprint("equipment", __name__, url_prefix="/equipment")
register_nav(NavItem("equipment.index", _l("Equipment"), ("equipment.",), order=64))


def panels(user) -> list[dict]:
    """Home-page panel: the user's instruments due for calibration or overdue."""
    due = services.due_for(user)
    if not due:
        return []
    return [{"template": "equipment/_work.html", "equipment": due, "today": clock.today()}]


register_work(57, panels)


@bp.app_context_processor
def template_helpers():
    """Give this domain's templates its labels and rules."""
    return {
        "equipment_kind_label": labels.kind_label,
        "equipment_unit_label": labels.unit_label,
        "equipment_result_label": labels.result_label,
        "equipment_status_label": labels.status_label,
        "equipment_rules": permissions,
        "equipment_overdue": services.is_overdue,
    }


def _people():
    users = db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.username))
    return options((u.username, u.display_name) for u in users)


def _equipment_form(form: EquipmentForm | None = None, **data) -> EquipmentForm:
    form = form or EquipmentForm(**data)
    form.owner.choices = _people()
    depts = db.session.scalars(select(Department).order_by(Department.name))
    form.department.choices = options([("", _("The owner's"))] + [(d.name, d.name) for d in depts])
    form.kind.choices = options((k, labels.kind_label(k)) for k in KINDS)
    form.interval_unit.choices = options((u, labels.unit_label(u)) for u in INTERVAL_UNITS)
    return form


def _filters(form: FilterForm) -> services.EquipmentFilters:
    form.status.choices = options(
        [("", _("Any"))] + [(s, labels.status_label(s)) for s in STATUSES]
    )
    form.measurement.choices = options([("", _("Any"))] + [(m, m) for m in services.measurements()])
    form.due.choices = options([("", _("Any")), ("due", _("due soon")), ("overdue", _("overdue"))])
    return services.EquipmentFilters(
        status=request.args.get("status") or None,
        measurement=request.args.get("measurement") or None,
        due=request.args.get("due") or None,
        q=request.args.get("q") or None,
        owner=request.args.get("owner") or None,
    )


@bp.get("/")
def index():
    """List the register with filters, and add an instrument (quality office)."""
    return _index()


def _index(form: EquipmentForm | None = None, status: int = 200):
    filter_form = FilterForm(request.args)
    items = db.session.scalars(services.list_equipment(_filters(filter_form))).unique().all()
    return render_template(
        "equipment/index.html",
        items=items,
        filter_form=filter_form,
        form=_equipment_form(form),
        today=clock.today(),
    ), status


@bp.post("/")
def add():
    """Add an instrument to the register."""
    if not permissions.can_manage(current_user):
        abort(403)
    form = _equipment_form(EquipmentForm())
    if not form.validate_on_submit():
        return _index(form, 422)
    try:
        eq = services.register_equipment(
            current_user,
            form.name.data,
            form.owner.data,
            form.measurement.data,
            form.interval_value.data,
            form.interval_unit.data,
            form.kind.data,
            number=form.number.data,
            serial=form.serial.data,
            location=form.location.data,
            department=form.department.data,
            last_calibrated_on=form.last_calibrated_on.data,
            note=form.note.data,
        )
    except ServiceError as exc:
        show_error(form, exc)
        return _index(form, exc.status)
    flash(_("%(number)s added.", number=eq.number), "success")
    return redirect(url_for("equipment.detail", number=eq.number))


@bp.get("/export.xlsx")
def export():
    """Download the register, as filtered, as a spreadsheet."""
    items = db.session.scalars(services.list_equipment(_filters(FilterForm(request.args)))).all()
    header = [
        _("Identification number"),
        _("Name"),
        _("Serial number"),
        _("Location"),
        _("Department"),
        _("Owner"),
        _("Measurement it serves"),
        _("Calibration or verification"),
        _("Interval"),
        _("Last calibrated on"),
        _("Last result"),
        _("Next due"),
        _("Status"),
    ]
    rows = [
        [
            eq.number,
            eq.name,
            eq.serial,
            eq.location,
            eq.department.name,
            eq.owner.display_name,
            eq.measurement,
            labels.kind_label(eq.kind),
            f"{eq.interval_value} {labels.unit_label(eq.interval_unit)}",
            eq.last_calibrated_on.isoformat() if eq.last_calibrated_on else "",
            labels.result_label(eq.last_result),
            eq.next_due.isoformat() if eq.next_due else "",
            labels.status_label(eq.status),
        ]
        for eq in items
    ]
    return spreadsheets.download("xlsx", header, rows, "equipment", _("Equipment"))


def _calibration_form(form: CalibrationForm | None = None) -> CalibrationForm:
    form = form or CalibrationForm(formdata=None, performed_on=clock.today())
    form.result.choices = options((r, labels.result_label(r)) for r in RESULTS)
    return form


def _status_form(eq, form: StatusForm | None = None) -> StatusForm:
    form = form or StatusForm(formdata=None)
    form.status.choices = options(
        (to, labels.status_label(to)) for frm, to in sorted(TRANSITIONS) if frm == eq.status
    )
    return form


def _detail(eq, status: int = 200, **forms):
    edit = forms.get("edit") or _equipment_form(
        formdata=None,
        obj=eq,
        owner=eq.owner.username,
        department=eq.department.name,
    )
    return render_template(
        "equipment/detail.html",
        eq=eq,
        edit_form=edit,
        calibration_form=_calibration_form(forms.get("calibration")),
        status_form=_status_form(eq, forms.get("status")),
        events=trail.events_for("equipment", eq.number),
        today=clock.today(),
    ), status


@bp.get("/<number>")
def detail(number: str):
    """Show an instrument, its calibration history and what may be done with it."""
    return _detail(services.get_equipment(number))


@bp.post("/<number>")
def edit(number: str):
    """Change what the register says about an instrument."""
    eq = services.get_equipment(number)
    if not permissions.can_manage(current_user):
        abort(403)
    form = _equipment_form(EquipmentForm())
    if not form.validate_on_submit():
        return _detail(eq, 422, edit=form)
    try:
        services.update_equipment(
            current_user,
            eq,
            name=form.name.data,
            serial=form.serial.data,
            location=form.location.data,
            owner=form.owner.data,
            department=form.department.data,
            measurement=form.measurement.data,
            kind=form.kind.data,
            interval_value=form.interval_value.data,
            interval_unit=form.interval_unit.data,
            note=form.note.data,
        )
    except ServiceError as exc:
        show_error(form, exc)
        return _detail(services.get_equipment(number), exc.status, edit=form)
    flash(_("Saved."), "success")
    return redirect(url_for("equipment.detail", number=number))


@bp.post("/<number>/calibrations")
def calibrate(number: str):
    """Record a calibration or verification result, with its certificate."""
    eq = services.get_equipment(number)
    if not permissions.can_record_calibration(current_user, eq):
        abort(403)
    form = _calibration_form(CalibrationForm())
    if not form.validate_on_submit():
        return _detail(eq, 422, calibration=form)
    upload = form.certificate.data
    certificate = (upload.stream, upload.filename) if upload and upload.filename else None
    try:
        cal = services.record_calibration(
            current_user,
            eq,
            form.performed_on.data,
            form.result.data,
            form.performed_by.data,
            form.note.data,
            certificate=certificate,
        )
    except ServiceError as exc:
        show_error(form, exc)
        return _detail(services.get_equipment(number), exc.status, calibration=form)
    if cal.nc_number:
        flash(
            _(
                "Out of tolerance: %(nc)s raised to assess the measurements made with it.",
                nc=cal.nc_number,
            ),
            "warning",
        )
    else:
        flash(_("Calibration recorded; next due %(date)s.", date=cal.next_due), "success")
    return redirect(url_for("equipment.detail", number=number))


@bp.post("/<number>/status")
def status(number: str):
    """Take an instrument out of use, withdraw it, or put it back in use."""
    eq = services.get_equipment(number)
    if not permissions.can_change_status(current_user, eq):
        abort(403)
    form = _status_form(eq, StatusForm())
    if not form.validate_on_submit():
        return _detail(eq, 422, status=form)
    try:
        services.change_status(current_user, eq, form.status.data, form.reason.data)
    except ServiceError as exc:
        show_error(form, exc)
        return _detail(services.get_equipment(number), exc.status, status=form)
    flash(_("Saved."), "success")
    return redirect(url_for("equipment.detail", number=number))


@bp.get("/<number>/calibrations/<int:cal_id>/certificate")
def certificate(number: str, cal_id: int):
    """Download a calibration's certificate."""
    cal = services.get_calibration(services.get_equipment(number), cal_id)
    if not cal.certificate_sha256:
        abort(404)
    path = services.certificate_path(cal)
    if not path.exists():
        abort(404)
    return send_file(path, download_name=cal.certificate_name, as_attachment=True)
