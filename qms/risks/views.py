"""Pages of the register of risks and opportunities: the register with its heat map and
trend, one entry with its treatment and actions, the settings, and the XLSX export."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from qms import clock, spreadsheets, trail
from qms.auth.models import Department, User
from qms.errors import ServiceError
from qms.extensions import db
from qms.forms import options, show_error
from qms.navigation import NavItem, register_nav, register_work
from qms.risks import charts, figures, labels, matrix, permissions, services
from qms.risks.forms import ActionForm, ResidualForm, RiskForm, SettingsForm, StatusForm
from qms.risks.models import KINDS, LEVELS, SCALE_SIZES, STATUSES, TRANSITIONS

bp = Blueprint("risks", __name__, url_prefix="/risks")
register_nav(NavItem("risks.index", _l("Risks"), ("risks.",), order=63))


def panels(user) -> list[dict]:
    """Home-page panel: the user's risks and opportunities due for review."""
    due = services.reviews_due(user)
    return [{"template": "risks/_work.html", "risks": due, "today": clock.today()}] if due else []


register_work(57, panels)


@bp.app_context_processor
def template_helpers():
    """Give this domain's templates its labels and rules."""
    return {
        "risk_kind_label": labels.kind_label,
        "risk_level_label": labels.level_label,
        "risk_status_label": labels.status_label,
        "risk_rules": permissions,
        "risks_of_audit": services.risks_of_audit,
    }


def _people():
    users = db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.username))
    return options((u.username, u.display_name) for u in users)


def _departments():
    return db.session.scalars(select(Department).order_by(Department.name)).all()


def _steps(names: list[str]):
    return options((str(n), f"{n} {name}") for n, name in enumerate(names, start=1))


def _risk_form(form: RiskForm, scales: matrix.Scales) -> RiskForm:
    form.kind.choices = options((k, labels.kind_label(k)) for k in KINDS)
    form.department.choices = options([("", "—")] + [(d.name, d.name) for d in _departments()])
    form.likelihood.choices = _steps(scales.likelihood_names)
    form.impact.choices = _steps(scales.impact_names)
    form.owner.choices = _people()
    return form


def _filters() -> services.RiskFilters:
    args = request.args
    return services.RiskFilters(
        kind=args.get("kind") if args.get("kind") in KINDS else None,
        level=args.get("level") if args.get("level") in LEVELS else None,
        status=args.get("status") if args.get("status") in STATUSES else None,
        department_id=args.get("department", type=int),
        process=args.get("process") or None,
        likelihood=args.get("likelihood", type=int),
        impact=args.get("impact", type=int),
        open_only=not args.get("status"),
    )


def _render(form=None, status=200):
    scales = matrix.current()
    f = _filters()
    return render_template(
        "risks/index.html",
        risks=services.list_risks(f),
        filters=f,
        scales=scales,
        heat_map=charts.heat_map_svg(figures.heat_map(_filters()), scales, request.args),
        trend=charts.trend_svg(figures.high_trend()),
        counts=figures.level_counts(),
        departments=_departments(),
        processes=services.processes(),
        form=form or _risk_form(RiskForm(), scales),
    ), status


@bp.get("/")
def index():
    """Show the register with its heat map and the trend of high risks."""
    return _render()


@bp.post("/")
def add():
    """Add a risk or an opportunity."""
    if not permissions.can_add(current_user):
        abort(403)
    form = _risk_form(RiskForm(), matrix.current())
    if not form.validate_on_submit():
        return _render(form, 422)
    try:
        risk = services.add_risk(
            current_user,
            form.kind.data,
            form.title.data,
            form.likelihood.data,
            form.impact.data,
            form.owner.data,
            form.review_date.data,
            cause=form.cause.data,
            effect=form.effect.data,
            department=form.department.data,
            process=form.process_name.data,
            treatment=form.treatment.data,
        )
    except ServiceError as exc:
        show_error(form, exc)
        return _render(form, exc.status)
    flash(_("%(number)s added.", number=risk.number), "success")
    return redirect(url_for("risks.detail", number=risk.number))


@bp.get("/register.xlsx")
def export():
    """Download the register as filtered as an XLSX workbook."""
    header = [
        _("Number"),
        _("Kind"),
        _("Title"),
        _("Department"),
        _("Process"),
        _("Cause"),
        _("Effect"),
        _("Likelihood"),
        _("Impact"),
        _("Score"),
        _("Level"),
        _("Treatment"),
        _("Residual score"),
        _("Residual level"),
        _("Actions"),
        _("Status"),
        _("Owner"),
        _("Review date"),
    ]
    rows = [
        [
            r.number,
            labels.kind_label(r.kind),
            r.title,
            r.department.name if r.department else "",
            r.process,
            r.cause,
            r.effect,
            r.likelihood,
            r.impact,
            r.score,
            labels.level_label(r.level),
            r.treatment,
            r.residual_score if r.residual_score is not None else "",
            labels.level_label(r.residual_level),
            ", ".join(a.number for a in services.actions_of(r)),
            labels.status_label(r.status),
            r.owner.display_name,
            r.review_date.isoformat(),
        ]
        for r in services.list_risks(_filters())
    ]
    return spreadsheets.download(
        "xlsx", header, rows, "risk-register", _("Risks and opportunities")
    )


def _detail(risk, status=200, **forms):
    scales = matrix.current()
    form = forms.get("form") or _risk_form(
        RiskForm(
            obj=risk,
            formdata=None,
            owner=risk.owner.username,
            department=risk.department.name if risk.department else "",
            process_name=risk.process,
            likelihood=str(risk.likelihood),
            impact=str(risk.impact),
        ),
        scales,
    )
    residual = forms.get("residual") or ResidualForm(
        formdata=None,
        residual_likelihood=str(risk.residual_likelihood or ""),
        residual_impact=str(risk.residual_impact or ""),
    )
    blank = [("", "—")]
    residual.residual_likelihood.choices = options(blank) + _steps(scales.likelihood_names)
    residual.residual_impact.choices = options(blank) + _steps(scales.impact_names)
    status_form = forms.get("status_form") or StatusForm(formdata=None)
    status_form.status.choices = options(
        (s, labels.status_label(s)) for s in TRANSITIONS[risk.status]
    )
    action_form = forms.get("action_form") or ActionForm(formdata=None, owner=risk.owner.username)
    action_form.owner.choices = _people()
    return render_template(
        "risks/detail.html",
        risk=risk,
        scales=scales,
        actions=services.actions_of(risk),
        history=services.level_history(risk),
        events=trail.events_for("risk", risk.number),
        form=form,
        residual_form=residual,
        status_form=status_form,
        action_form=action_form,
    ), status


@bp.get("/<number>")
def detail(number: str):
    """Show an entry with its scores, treatment, actions and history."""
    return _detail(services.get_risk(number))


@bp.post("/<number>")
def change(number: str):
    """Change an entry's description, scope, owner, review date or score."""
    risk = services.get_risk(number)
    if not permissions.can_change(current_user, risk):
        abort(403)
    form = _risk_form(RiskForm(), matrix.current())
    if not form.validate_on_submit():
        return _detail(risk, 422, form=form)
    try:
        services.update_risk(
            current_user,
            risk,
            kind=form.kind.data,
            title=form.title.data,
            cause=form.cause.data,
            effect=form.effect.data,
            department=form.department.data,
            process=form.process_name.data,
            likelihood=form.likelihood.data,
            impact=form.impact.data,
            treatment=form.treatment.data,
            owner=form.owner.data,
            review_date=form.review_date.data,
        )
    except ServiceError as exc:
        show_error(form, exc)
        return _detail(services.get_risk(number), exc.status, form=form)
    flash(_("Saved."), "success")
    return redirect(url_for("risks.detail", number=number))


@bp.post("/<number>/residual")
def residual(number: str):
    """Record the likelihood and impact after treatment."""
    risk = services.get_risk(number)
    if not permissions.can_change(current_user, risk):
        abort(403)
    form = ResidualForm()
    try:
        services.update_risk(
            current_user,
            risk,
            residual_likelihood=form.residual_likelihood.data or None,
            residual_impact=form.residual_impact.data or None,
        )
    except ServiceError as exc:
        flash(exc.message, "error")
        return redirect(url_for("risks.detail", number=number))
    flash(_("Saved."), "success")
    return redirect(url_for("risks.detail", number=number))


@bp.post("/<number>/status")
def status(number: str):
    """Move an entry to another status."""
    risk = services.get_risk(number)
    if not permissions.can_change(current_user, risk):
        abort(403)
    form = StatusForm()
    try:
        services.change_status(current_user, risk, form.status.data, form.note.data)
    except ServiceError as exc:
        flash(exc.message, "error")
    else:
        flash(
            _("%(number)s is %(status)s.", number=number, status=labels.status_label(risk.status))
        )
    return redirect(url_for("risks.detail", number=number))


@bp.post("/<number>/action")
def raise_action(number: str):
    """Raise a preventive action from the entry in one step."""
    risk = services.get_risk(number)
    if not permissions.can_change(current_user, risk):
        abort(403)
    form = ActionForm()
    form.owner.choices = _people()
    if not form.validate_on_submit():
        return _detail(risk, 422, action_form=form)
    try:
        action = services.raise_action(
            current_user,
            risk,
            form.title.data,
            form.owner.data,
            form.due_date.data,
            form.description.data,
            form.effectiveness_criteria.data,
        )
    except ServiceError as exc:
        show_error(form, exc)
        return _detail(services.get_risk(number), exc.status, action_form=form)
    flash(_("%(number)s raised.", number=action.number), "success")
    return redirect(url_for("risks.detail", number=number))


@bp.route("/settings", methods=["GET", "POST"])
def settings():
    """Show and set the scales and the level matrix (administrators)."""
    if not permissions.can_configure(current_user):
        abort(403)
    scales = matrix.current()
    form = SettingsForm(
        scale=str(scales.scale),
        likelihood_names=", ".join(scales.likelihood_names),
        impact_names=", ".join(scales.impact_names),
    )
    form.scale.choices = options((str(n), str(n)) for n in SCALE_SIZES)
    if form.validate_on_submit():
        size = int(form.scale.data)
        grid = None
        if size == scales.scale:
            grid = [
                [request.form.get(f"cell-{lk}-{im}", "") for im in range(1, size + 1)]
                for lk in range(1, size + 1)
            ]

        def names(text):
            return [n.strip() for n in (text or "").replace("，", ",").split(",")]

        try:
            matrix.save_settings(
                current_user,
                size,
                grid,
                names(form.likelihood_names.data) if size == scales.scale else None,
                names(form.impact_names.data) if size == scales.scale else None,
            )
        except ServiceError as exc:
            show_error(form, exc)
            return render_template(
                "risks/settings.html", form=form, scales=scales, levels=LEVELS
            ), exc.status
        flash(_("Saved."), "success")
        return redirect(url_for("risks.settings"))
    return render_template("risks/settings.html", form=form, scales=scales, levels=LEVELS)
