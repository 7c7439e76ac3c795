"""Pages of citizens' ratings: the list, a rating, the import, the figures, rectifications."""

from datetime import date, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from qms import clock, spreadsheets, trail
from qms.errors import NotFound, ServiceError
from qms.extensions import db
from qms.forms import options, show_error
from qms.navigation import NavItem, register_nav, register_work
from qms.ratings import (
    charts,
    evaluation_sources,  # noqa: F401 (registers the evaluation criteria of ratings)
    figures,
    imports,
    labels,
    permissions,
    services,
)
from qms.ratings.forms import CloseForm, FollowUpForm, ImportForm, RectifyForm, ReopenForm
from qms.ratings.models import FOLLOWUP_RESULTS, FOLLOWUP_WAYS, LEVELS, TRANSITIONS
from qms.ratings.services import STEP_TARGETS
from qms.standards import catalogue

bp = Blueprint("ratings", __name__, url_prefix="/ratings")
register_nav(NavItem("ratings.index", _l("Ratings"), ("ratings.",), order=66))


def panels(user) -> list[dict]:
    """Home-page panels: the rectifications the user's department has to put right, and
    for the quality office those waiting for the follow-up with the citizen."""
    found = []
    due = services.due_for(user)
    if due:
        found.append({"template": "ratings/_work.html", "rectifications": due})
    if permissions.in_quality_office(user):
        waiting = services.awaiting_follow_up()
        if waiting:
            found.append({"template": "ratings/_follow_up.html", "rectifications": waiting})
    return found


register_work(58, panels)


@bp.app_context_processor
def template_helpers():
    """Give templates this domain's labels and rules."""
    return {
        "rating_level_label": labels.level_label,
        "rating_level_badge": labels.level_badge,
        "rating_channel_label": labels.channel_label,
        "rating_indicator_label": labels.indicator_label,
        "rectification_state_label": labels.state_label,
        "rectification_state_badge": labels.state_badge,
        "rectification_overdue": services.is_overdue,
        "followup_way_label": labels.way_label,
        "followup_result_label": labels.result_label,
        "rectification_step_label": labels.step_label,
        "rating_group_label": labels.group_label,
        "rectification_view_label": labels.view_label,
        "rating_rules": permissions,
    }


def _day(name: str) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name) or "")
    except ValueError:
        return None


def _period() -> tuple[date, date]:
    """The period the page asks for; the last 30 days by default."""
    end = _day("end") or clock.today()
    start = _day("start") or end - timedelta(days=29)
    return (start, end) if start <= end else (end, start)


def _filters() -> services.RatingFilters:
    level = request.args.get("level", type=int)
    department = request.args.get("department", type=int)
    return services.RatingFilters(
        start=_day("start"),
        end=_day("end"),
        level=level if level in LEVELS else None,
        item=(request.args.get("item") or "").strip()[:40] or None,
        window=(request.args.get("window") or "").strip()[:40] or None,
        department_id=department if department and 0 < department < 2**31 else None,
        poor=request.args.get("poor") == "1",
    )


@bp.get("/")
def index():
    """List the ratings received, filtered by period, level, item, window and department;
    ``?format=csv`` or ``xlsx`` downloads them in the columns the import reads."""
    filters = _filters()
    fmt = spreadsheets.requested_format()
    if fmt:
        ratings = db.session.scalars(services.list_ratings(filters)).unique()
        header, rows = imports.export_rows(ratings)
        return spreadsheets.download(fmt, header, rows, "ratings", _("Ratings"))
    page = db.paginate(services.list_ratings(filters), per_page=50, error_out=False)
    return render_template(
        "ratings/index.html",
        page=page,
        filters=filters,
        levels=LEVELS,
        items=catalogue.active_items(),
        windows=catalogue.active_windows(),
        departments=services.departments(),
        args={k: v for k, v in request.args.items() if k != "page"},
    )


@bp.get("/cases/<case>")
def detail(case: str):
    """Show one rating as received, and its rectification."""
    try:
        rating = services.get_rating(case)
    except NotFound:
        abort(404)
    return render_template(
        "ratings/detail.html", rating=rating, events=trail.events_for("rating", rating.case_number)
    )


def _import_page(form=None, receipt=None, problems=None, status: int = 200):
    if not permissions.can_receive(current_user):
        abort(403)
    return render_template(
        "ratings/import.html",
        form=form or ImportForm(),
        receipt=receipt,
        problems=problems or [],
        headers=imports.HEADERS,
    ), status


@bp.get("/import")
def import_form():
    """Offer the import of a file of ratings."""
    return _import_page()


@bp.post("/import")
def import_file():
    """Import a file of ratings, all or none, and show what it did."""
    if not permissions.can_receive(current_user):
        abort(403)
    form = ImportForm()
    if not form.validate_on_submit():
        return _import_page(form, status=422)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        form.file.errors.append(_("Choose a CSV or XLSX file."))
        return _import_page(form, status=422)
    try:
        receipt = imports.import_file(current_user, upload.read(), upload.filename)
    except ServiceError as exc:  # the unit of work rolled everything back
        show_error(form, exc)
        rows = (exc.detail or {}).get("rows", []) if isinstance(exc.detail, dict) else []
        return _import_page(form, problems=rows, status=exc.status)
    flash(
        _(
            "%(created)d ratings stored, %(unchanged)d unchanged.",
            created=len(receipt.created),
            unchanged=len(receipt.unchanged),
        ),
        "success",
    )
    return _import_page(ImportForm(formdata=None), receipt=receipt)


@bp.get("/figures")
def dashboard():
    """Show the figures of a period per window, item or department, with a chart."""
    start, end = _period()
    group = request.args.get("group") if request.args.get("group") in figures.GROUPS else "window"
    rows, total = figures.figures(start, end, group)
    return render_template(
        "ratings/dashboard.html",
        rows=rows,
        total=total,
        start=start,
        end=end,
        group=group,
        groups=figures.GROUPS,
        chart=charts.rates_chart(rows),
    )


@bp.get("/rectifications")
def rectifications():
    """List the rectifications: open, overdue, closed or all."""
    view = (
        request.args.get("view")
        if request.args.get("view") in services.RECTIFICATION_VIEWS
        else "open"
    )
    department = request.args.get("department", type=int)
    department = department if department and 0 < department < 2**31 else None
    page = db.paginate(services.list_rectifications(view, department), per_page=50, error_out=False)
    return render_template(
        "ratings/rectifications.html",
        page=page,
        view=view,
        views=services.RECTIFICATION_VIEWS,
        department=department,
        departments=services.departments(),
    )


def _step_forms(forms: dict | None = None) -> dict:
    forms = dict(forms or {})
    forms.setdefault("rectify", RectifyForm(formdata=None))
    follow = forms.setdefault("follow_up", FollowUpForm(formdata=None, on=clock.today()))
    follow.way.choices = options((w, labels.way_label(w)) for w in FOLLOWUP_WAYS)
    follow.result.choices = options((r, labels.result_label(r)) for r in FOLLOWUP_RESULTS)
    forms.setdefault("close", CloseForm(formdata=None))
    forms.setdefault("reopen", ReopenForm(formdata=None))
    return forms


def _rectification_page(rect, forms=None, status: int = 200):
    return render_template(
        "ratings/rectification.html",
        rect=rect,
        forms=_step_forms(forms),
        steps=permissions.offered_steps(current_user, rect),
        on_time=services.on_time(rect),
        events=trail.events_for("rectification", rect.number),
    ), status


def _rectification(number: str):
    try:
        return services.get_rectification(number)
    except NotFound:
        abort(404)


@bp.get("/rectifications/<number>")
def rectification(number: str):
    """Show a rectification with its rating, its steps and the forms for the next one."""
    return _rectification_page(_rectification(number))


FORMS = {
    "rectify": RectifyForm,
    "follow_up": FollowUpForm,
    "close": CloseForm,
    "reopen": ReopenForm,
}


@bp.post("/rectifications/<number>/<step>")
def step(number: str, step: str):
    """Take a step of a rectification: put right, follow up, close or send back."""
    rect = _rectification(number)
    if step not in FORMS:
        abort(404)
    # Refuse whom the rule never allows this step; a step the state no longer allows (a
    # second tab, say) goes on to the service, which says why on the page.
    if (rect.state, STEP_TARGETS[step]) in TRANSITIONS and not permissions.can_step(
        current_user, rect, step
    ):
        abort(403)
    form = _step_forms({step: FORMS[step]()})[step]
    if not form.validate_on_submit():
        return _rectification_page(rect, {step: form}, 422)
    values = {name: f.data for name, f in form._fields.items() if name != "csrf_token"}
    try:
        services.take_step(current_user, rect, step, **values)
    except ServiceError as exc:  # the unit of work rolled the step back
        show_error(form, exc)
        return _rectification_page(services.get_rectification(number), {step: form}, exc.status)
    flash(
        _(
            "%(number)s is %(state)s.",
            number=rect.number,
            state=labels.state_label(rect.state),
        ),
        "success",
    )
    return redirect(url_for("ratings.rectification", number=rect.number))
