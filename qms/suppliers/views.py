"""Pages of the register of external providers: the list, a provider, its evaluations."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from qms import spreadsheets, trail
from qms.auth.models import User
from qms.errors import ServiceError, ValidationFailed
from qms.extensions import db
from qms.forms import options, show_error
from qms.navigation import NavItem, register_nav, register_work
from qms.suppliers import labels, permissions, review, services
from qms.suppliers.forms import EvaluationForm, StatusForm, SupplierForm
from qms.suppliers.models import INITIAL_STATUSES, STATUSES

bp = Blueprint("suppliers", __name__, url_prefix="/suppliers")
register_nav(NavItem("suppliers.index", _l("Providers"), ("suppliers.",), order=64))


def panels(user) -> list[dict]:
    """Home-page panel: the evaluations of the user's providers that are due or late."""
    due = services.due_for(user)
    if not due:
        return []
    return [{"template": "suppliers/_work.html", "suppliers": due}]


register_work(57, panels)


@bp.app_context_processor
def template_helpers():
    """Give templates this domain's labels and rules, and an NC's provider."""
    return {
        "supplier_status_label": labels.status_label,
        "supplier_status_badge": labels.status_badge,
        "supplier_evaluation_state": services.evaluation_state,
        "supplier_of": services.supplier_by_id,
        "supplier_rules": permissions,
    }


def _people():
    users = db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.username))
    return options((u.username, u.display_name) for u in users)


def _form(form: SupplierForm | None = None, new: bool = True) -> SupplierForm:
    form = form or SupplierForm()
    form.owner.choices = _people()
    if new:
        form.status.choices = options((s, labels.status_label(s)) for s in INITIAL_STATUSES)
    else:
        del form.status  # the status changes on its own, with a reason
    return form


def _codes(text: str | None) -> list[str]:
    return [c.strip() for c in (text or "").replace(";", ",").split(",") if c.strip()]


def _criteria(text: str | None) -> list[dict]:
    """Read ``name: weight`` lines; a line without a whole-number weight is refused."""
    items = []
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        name, sep, weight = line.rpartition(":")
        if not sep or not weight.strip().isdigit():
            raise ValidationFailed(
                _("Write each criterion as name: weight, e.g. Quality: 50."), field="criteria"
            )
        items.append({"name": name.strip(), "weight": int(weight.strip())})
    return items


def _criteria_text(supplier) -> str:
    return "\n".join(f"{c.name}: {c.weight}" for c in supplier.criteria)


def _filters() -> dict:
    status = request.args.get("status") or None
    return {
        "status": status if status in STATUSES else None,
        "q": (request.args.get("q") or "").strip()[:100] or None,
        "due": request.args.get("due") == "1",
    }


def _index(form: SupplierForm | None = None, status: int = 200):
    filters = _filters()
    suppliers = services.list_suppliers(**filters)
    return render_template(
        "suppliers/index.html",
        suppliers=suppliers,
        proposals=services.proposals(suppliers),
        filters=filters,
        statuses=STATUSES,
        form=_form(form),
    ), status


@bp.get("/")
def index():
    """List the providers with their status, next evaluation and any suspension proposed."""
    return _index()


@bp.post("/")
def add():
    """Add a provider to the register."""
    if not permissions.can_manage(current_user):
        abort(403)
    form = _form()
    if not form.validate_on_submit():
        return _index(form, 422)
    try:
        supplier = services.add_supplier(
            current_user,
            form.name.data,
            form.supplies.data,
            form.owner.data,
            controls=form.controls.data,
            status=form.status.data,
            evaluation_months=form.evaluation_months.data,
            criteria=_criteria(form.criteria.data),
            documents=_codes(form.documents.data),
        )
    except ServiceError as exc:
        show_error(form, exc)
        return _index(form, exc.status)
    flash(_("%(number)s added.", number=supplier.number), "success")
    return redirect(url_for("suppliers.detail", number=supplier.number))


@bp.get("/register.xlsx")
def export():
    """Download the register as filtered, as an XLSX workbook."""
    header, rows = review.register_rows(services.list_suppliers(**_filters()))
    return spreadsheets.download("xlsx", header, rows, "providers", _("Providers"))


def _detail(supplier, form=None, status_form=None, evaluation_form=None, code: int = 200):
    if form is None:
        form = _form(
            SupplierForm(
                obj=supplier,
                owner=supplier.owner.username,
                criteria=_criteria_text(supplier),
                documents=", ".join(supplier.documents),
            ),
            new=False,
        )
    status_form = status_form or StatusForm()
    status_form.status.choices = options(
        (s, labels.status_label(s)) for s in services.allowed_statuses(supplier)
    )
    evaluation_form = evaluation_form or EvaluationForm(evaluated_on=services.clock.today())
    ncs = services.ncs_of(supplier)
    return render_template(
        "suppliers/detail.html",
        supplier=supplier,
        form=form,
        status_form=status_form,
        evaluation_form=evaluation_form,
        ncs=ncs,
        proposal=services.proposal(supplier, ncs),
        poor_score=services.poor_score(),
        events=trail.events_for("supplier", supplier.number),
    ), code


@bp.get("/<number>")
def detail(number: str):
    """Show a provider: its status and history, evaluations, NCs and governing documents."""
    return _detail(services.get_supplier(number))


@bp.post("/<number>")
def change(number: str):
    """Change a provider's details, criteria and documents."""
    supplier = services.get_supplier(number)
    if not permissions.can_manage(current_user):
        abort(403)
    form = _form(SupplierForm(), new=False)
    if not form.validate_on_submit():
        return _detail(supplier, form=form, code=422)
    try:
        services.change_supplier(
            current_user,
            supplier,
            name=form.name.data,
            supplies=form.supplies.data,
            controls=form.controls.data,
            owner=form.owner.data,
            evaluation_months=form.evaluation_months.data,
            criteria=_criteria(form.criteria.data),
            documents=_codes(form.documents.data),
        )
    except ServiceError as exc:  # the unit of work rolled the changes back
        show_error(form, exc)
        return _detail(services.get_supplier(number), form=form, code=exc.status)
    flash(_("Saved."), "success")
    return redirect(url_for("suppliers.detail", number=number))


@bp.post("/<number>/status")
def status(number: str):
    """Change a provider's approval status, with a reason (suspending it, say)."""
    supplier = services.get_supplier(number)
    if not permissions.can_change_status(current_user):
        abort(403)
    form = StatusForm()
    form.status.choices = options((s, labels.status_label(s)) for s in STATUSES)
    if not form.validate_on_submit():
        return _detail(supplier, status_form=form, code=422)
    try:
        services.change_status(current_user, supplier, form.status.data, form.reason.data)
    except ServiceError as exc:
        show_error(form, exc)
        return _detail(supplier, status_form=form, code=exc.status)
    flash(
        _(
            "%(number)s is now %(status)s.",
            number=number,
            status=labels.status_label(supplier.status),
        ),
        "success",
    )
    return redirect(url_for("suppliers.detail", number=number))


@bp.post("/<number>/evaluations")
def evaluate(number: str):
    """Record an evaluation: a score on each criterion of the provider."""
    supplier = services.get_supplier(number)
    if not permissions.can_evaluate(current_user, supplier):
        abort(403)
    form = EvaluationForm()
    if not form.validate_on_submit():
        return _detail(supplier, evaluation_form=form, code=422)
    scores = {
        c.name: (request.form.get(f"score_{i}") or "").strip()
        for i, c in enumerate(supplier.criteria)
    }
    try:
        evaluation = services.evaluate(
            current_user, supplier, scores, form.evaluated_on.data, form.comment.data
        )
    except ServiceError as exc:
        show_error(form, exc)
        return _detail(supplier, evaluation_form=form, code=exc.status)
    flash(
        _(
            "Evaluation recorded: %(total)s points; next due %(date)s.",
            total=f"{evaluation.total:g}",
            date=supplier.next_evaluation_due.isoformat(),
        ),
        "success",
    )
    return redirect(url_for("suppliers.detail", number=number))
