"""Pages for quality objectives, customer feedback, management reviews and the trail."""

import json
from functools import wraps

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from qms import clock
from qms import trail as audit_trail
from qms.auth.models import Department, User
from qms.errors import ServiceError
from qms.extensions import db
from qms.forms import options, show_error
from qms.improvement import services as improvement
from qms.navigation import NavItem, register_nav, register_work
from qms.records import services as records
from qms.reviews import (
    chain,
    charts,
    dashboard,
    feedback,
    labels,
    minutes,
    objectives,
    periods,
    record_query,
    services,
    sources,
)
from qms.reviews import inputs as review_inputs
from qms.reviews.forms import (
    ActionForm,
    ApproveForm,
    ComplaintForm,
    DecisionForm,
    HoldForm,
    ImportForm,
    MeasurementForm,
    ObjectiveForm,
    ResponseForm,
    ReviewForm,
    SurveyForm,
    notes_form_class,
)
from qms.reviews.models import (
    CHANNELS,
    DECISION_KINDS,
    DIRECTIONS,
    FREQUENCIES,
    OBJECTIVE_SOURCES,
)

bp = Blueprint("reviews", __name__)
register_nav(
    NavItem(
        "reviews.objectives",
        _l("Objectives & reviews"),
        ("reviews.objective", "reviews.review", "reviews.trail"),
        order=60,
    )
)
register_nav(
    NavItem("reviews.complaints", _l("Feedback"), ("reviews.complaint", "reviews.survey"), order=65)
)
register_work(60, dashboard.panels)


@bp.app_context_processor
def template_helpers():
    """Give this domain's templates its labels and its rules of who may do what."""
    return {
        "review_state_label": labels.state_label,
        "decision_label": labels.decision_label,
        "channel_label": labels.channel_label,
        "section_title": labels.section_title,
        "trail_url": chain.trail_url,
        "objective_source_label": labels.source_label,
        "measurement_origin_label": labels.origin_label,
        "record_operator_label": labels.operator_label,
        "input_status_label": labels.input_status_label,
        "review_rules": services.RULES,
    }


def allowed(rule):
    """Refuse the view with 403 unless ``rule(current_user)`` lets the user take the step."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not rule(current_user):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def user_choices(blank: str | None = None, eligible=None):
    users = db.session.scalars(
        select(User).where(User.active.is_(True)).order_by(User.username)
    ).all()
    if eligible is not None:
        users = [u for u in users if eligible(u)]
    pairs = [(u.username, f"{u.display_name} ({u.username})") for u in users]
    return options([("", blank)] + pairs if blank is not None else pairs)


def department_choices():
    return options(
        [(d.name, d.name) for d in db.session.scalars(select(Department).order_by(Department.name))]
    )


# -- objectives ------------------------------------------------------------------------


@bp.get("/objectives/", endpoint="objectives")
def objectives_list():
    """List the quality objectives against their targets."""
    return render_template(
        "reviews/objectives.html",
        statuses=objectives.statuses(),
        sparkline=charts.sparkline,
    )


def _objective_form(obj=None) -> ObjectiveForm:
    form = ObjectiveForm(obj=obj)
    form.direction.choices = options([(d, labels.direction_label(d)) for d in DIRECTIONS])
    form.frequency.choices = options(
        [(f, f"{labels.frequency_label(f)} ({periods.EXAMPLES[f]})") for f in FREQUENCIES]
    )
    form.source.choices = options([(s, labels.source_label(s)) for s in OBJECTIVE_SOURCES])
    form.source_form.choices = options(
        [("", "—")] + [(d.code, f"{d.code} {d.title}") for d in records.forms()]
    )
    form.owner.choices = user_choices(_("Nobody yet"))
    return form


@bp.route("/objectives/new", methods=["GET", "POST"])
@allowed(services.can_set_objectives)
def objective_new():
    """Set a new quality objective."""
    form = _objective_form()
    if form.validate_on_submit():
        try:
            objective = objectives.create_objective(
                current_user,
                form.name.data,
                form.unit.data,
                form.target.data,
                form.direction.data,
                form.frequency.data,
                form.source.data,
                form.method.data,
                form.owner.data or None,
                form.source_form.data or None,
                form.query.data,
            )
        except ServiceError as exc:
            show_error(form, exc)
        else:
            flash(_("Objective %(name)s set.", name=objective.name), "success")
            return redirect(url_for("reviews.objective", ident=objective.id))
    return _render_objective_form(form, None)


@bp.route("/objectives/<int:ident>/edit", methods=["GET", "POST"])
@allowed(services.can_set_objectives)
def objective_edit(ident: int):
    """Change an objective's definition."""
    objective = objectives.get_objective(ident)
    form = _objective_form(objective)
    if request.method == "GET":
        form.target.data = f"{objective.target:g}"
        form.owner.data = objective.owner.username if objective.owner else ""
        if objective.source_query:
            form.query.data = json.dumps(objective.source_query, ensure_ascii=False)
    if form.validate_on_submit():
        try:
            objectives.update_objective(
                current_user,
                objective,
                name=form.name.data,
                unit=form.unit.data,
                target=form.target.data,
                direction=form.direction.data,
                frequency=form.frequency.data,
                source=form.source.data,
                source_form=form.source_form.data or None,
                query=form.query.data,
                method=form.method.data,
                owner=form.owner.data or None,
                active=form.active.data,
            )
        except ServiceError as exc:
            show_error(form, exc)
        else:
            flash(_("Objective saved."), "success")
            return redirect(url_for("reviews.objective", ident=objective.id))
    return _render_objective_form(form, objective)


def _render_objective_form(form, objective):
    builder = {
        "forms": [{"code": d.code, "title": d.title} for d in records.forms()],
        "measures": [{"value": m, "label": labels.measure_label(m)} for m in record_query.MEASURES],
        "submitted": record_query.SUBMITTED,
        "fields_url": url_for("reviews.query_fields"),
        "preview_url": url_for("reviews.query_preview"),
        "text": {
            "form": _("Record form"),
            "measure": _("Measure"),
            "factor": _("Factor"),
            "date": _("Date that places a record in a period"),
            "submitted": _("submission time"),
            "conditions": _("Records counted: all of these conditions"),
            "base": _("Base records (of the ratio): all of these conditions"),
            "add": _("Add a condition"),
            "remove": _("Remove"),
            "field": _("Field"),
            "operator": _("Operator"),
            "against": _("Compare with"),
            "value": _("a value"),
            "preview": _("Preview the current period"),
            "records": _("records"),
            "of": _("of"),
            "none": _("no value: no base record in the period"),
            "choose": _("Choose…"),
        },
    }
    return render_template(
        "reviews/objective_form.html", form=form, objective=objective, builder=builder
    )


@bp.get("/objectives/query/fields")
@allowed(services.can_set_objectives)
def query_fields():
    """Describe a record form's fields for the query builder, as JSON."""
    return jsonify({"fields": record_query.form_fields(request.args.get("form", ""))})


@bp.post("/objectives/query/preview")
@allowed(services.can_set_objectives)
def query_preview():
    """Compute a query over the current period without storing anything, as JSON."""
    data = request.get_json(silent=True) or {}
    try:
        period, outcome = objectives.preview(
            data.get("query"), data.get("frequency") or "monthly", data.get("period")
        )
    except ServiceError as exc:
        return jsonify({"error": exc.message}), exc.status
    return jsonify(
        {
            "period": period,
            "value": outcome.value,
            "detail": outcome.detail,
            "matched": len(outcome.matched),
            "base": len(outcome.base),
        }
    )


@bp.get("/objectives/<int:ident>/records")
def objective_records(ident: int):
    """List the records a computed measurement came from, counted and base."""
    objective = objectives.get_objective(ident)
    period = request.args.get("period", "")
    measurement = next((m for m in objective.measurements if m.period == period), None)
    evidence = (measurement.records if measurement else None) or {}
    matched, base = evidence.get("matched", []), evidence.get("base", [])
    form = (objective.source_query or {}).get("form", "")
    return render_template(
        "reviews/objective_records.html",
        objective=objective,
        period=period,
        measurement=measurement,
        matched=matched,
        base=base,
        visible=record_query.visible_numbers(form, sorted(set(matched) | set(base)), current_user),
    )


def _render_objective(objective, measure_form=None, import_form=None, status=200):
    measure_form = measure_form or MeasurementForm(
        formdata=None, period=periods.period_of(clock.today(), objective.frequency)
    )
    import_form = import_form or ImportForm(formdata=None)
    off_target = [m for m in objective.measurements if m.meets_target is False]
    return (
        render_template(
            "reviews/objective.html",
            objective=objective,
            chart=charts.objective_chart(objective),
            measure_form=measure_form,
            import_form=import_form,
            can_measure=objectives.can_measure(current_user, objective),
            off_target=off_target,
            raise_nc_url=sources.new_nc_url("process_monitoring"),
            preventive_url=sources.new_action_url(),
            example=periods.EXAMPLES[objective.frequency],
            events=audit_trail.events_for("objective", str(objective.id)),
            query_words=(
                record_query.describe(objective.source_query)
                if objective.source == "record_query" and objective.source_query
                else None
            ),
        ),
        status,
    )


@bp.get("/objectives/<int:ident>")
def objective(ident: int):
    """Show an objective: its chart with the target line, its measurements, entry and import."""
    return _render_objective(objectives.get_objective(ident))


@bp.post("/objectives/<int:ident>/measurements")
def objective_measure(ident: int):
    """Record one period's value."""
    objective = objectives.get_objective(ident)
    form = MeasurementForm()
    if form.validate_on_submit():
        try:
            m = objectives.record_measurement(
                current_user, objective, form.period.data, form.value.data, form.note.data
            )
        except ServiceError as exc:
            show_error(form, exc)
        else:
            if m.meets_target is False:
                flash(
                    _(
                        "%(period)s is on the wrong side of the target: consider raising an NC "
                        "or a preventive action.",
                        period=m.period,
                    ),
                    "warning",
                )
            else:
                flash(_("Measurement for %(period)s recorded.", period=m.period), "success")
            return redirect(url_for("reviews.objective", ident=objective.id))
    return _render_objective(objective, measure_form=form, status=422)


@bp.post("/objectives/<int:ident>/import")
def objective_import(ident: int):
    """Import measurements from a CSV file: every row, or none."""
    objective = objectives.get_objective(ident)
    form = ImportForm()
    upload = request.files.get("file")
    if not form.validate_on_submit() or upload is None or not upload.filename:
        form.file.errors = [_("Choose a CSV file.")]
        return _render_objective(objective, import_form=form, status=422)
    try:
        result = objectives.import_csv(current_user, objective, upload.read())
    except ServiceError as exc:
        lines = (exc.detail or {}).get("lines") if isinstance(exc.detail, dict) else None
        form.file.errors = [_("Nothing was imported.")] + lines if lines else [exc.message]
        return _render_objective(objective, import_form=form, status=422)
    flash(
        _(
            "Imported %(created)d new and %(replaced)d corrected measurements.",
            created=result.created,
            replaced=result.replaced,
        ),
        "success",
    )
    return redirect(url_for("reviews.objective", ident=objective.id))


@bp.post("/objectives/<int:ident>/refresh")
def objective_refresh(ident: int):
    """Compute a computed objective's value for the current period."""
    objective = objectives.get_objective(ident)
    if not objectives.can_measure(current_user, objective):
        abort(403)
    period = request.form.get("period") or periods.period_of(clock.today(), objective.frequency)
    try:
        m = objectives.refresh(objective, period, current_user)
    except ServiceError as exc:
        flash(exc.message, "error")
    else:
        if m is None:
            flash(_("There is nothing yet to compute %(period)s from.", period=period), "warning")
        else:
            flash(
                _("%(period)s computed: %(value)s", period=m.period, value=f"{m.value:g}"),
                "success",
            )
    return redirect(url_for("reviews.objective", ident=objective.id))


@bp.get("/objectives/<int:ident>/chart.svg")
def objective_chart_svg(ident: int):
    """Download the objective's chart as an SVG file."""
    objective = objectives.get_objective(ident)
    svg = '<?xml version="1.0" encoding="utf-8"?>\n' + str(charts.objective_chart(objective))
    return Response(svg, mimetype="image/svg+xml")


# -- complaints and surveys --------------------------------------------------------------


@bp.get("/complaints/")
def complaints():
    """List customer complaints, open ones first when asked."""
    open_only = request.args.get("open") == "1"
    page = db.paginate(
        feedback.list_complaints(open_only=open_only, viewer=current_user), per_page=50
    )
    return render_template("reviews/complaints.html", page=page, open_only=open_only)


@bp.route("/complaints/new", methods=["GET", "POST"])
def complaint_new():
    """Register a complaint as received."""
    form = ComplaintForm()
    form.channel.choices = options([(c, labels.channel_label(c)) for c in CHANNELS])
    form.department.choices = department_choices()
    if request.method == "GET":
        form.received_on.data = clock.today()
        form.department.data = current_user.department.name
    if form.validate_on_submit():
        try:
            complaint = feedback.register_complaint(
                current_user,
                form.channel.data,
                form.received_on.data,
                form.content.data,
                form.department.data,
                form.person.data,
                form.response_due.data,
            )
        except ServiceError as exc:
            show_error(form, exc)
        else:
            flash(_("Complaint %(number)s registered.", number=complaint.number), "success")
            return redirect(url_for("reviews.complaint", number=complaint.number))
    return render_template("reviews/complaint_new.html", form=form)


def _response_form(complaint, formdata=True):
    form = ResponseForm() if formdata else ResponseForm(formdata=None)
    form.satisfied.choices = options([("", _("Not known yet")), ("yes", _("Yes")), ("no", _("No"))])
    if not formdata:
        form.response.data = complaint.response or ""
        form.satisfied.data = {True: "yes", False: "no"}.get(complaint.satisfied, "")
    return form


@bp.route("/complaints/<number>", methods=["GET", "POST"])
def complaint(number: str):
    """Show a complaint; its department or the quality office records the response."""
    item = feedback.get_complaint(number, viewer=current_user)
    form = _response_form(item, formdata=request.method == "POST")
    status = 200
    if request.method == "POST":
        if not feedback.can_respond(current_user, item):
            abort(403)
        if form.validate_on_submit():
            try:
                feedback.respond(
                    current_user,
                    item,
                    form.response.data,
                    {"yes": True, "no": False}.get(form.satisfied.data),
                )
            except ServiceError as exc:
                show_error(form, exc)
            else:
                flash(_("Response saved."), "success")
                return redirect(url_for("reviews.complaint", number=number))
        status = 422
    return (
        render_template(
            "reviews/complaint.html",
            complaint=item,
            form=form,
            can_respond=feedback.can_respond(current_user, item),
            nc_url=sources.nc_url(item.nc_number) if item.nc_number else None,
            events=audit_trail.events_for("complaint", item.number),
        ),
        status,
    )


@bp.post("/complaints/<number>/nc")
def complaint_nc(number: str):
    """Raise a nonconformity from the complaint (source: customer complaint)."""
    item = feedback.get_complaint(number, viewer=current_user)
    try:
        nc_number = feedback.raise_nc(current_user, item)
    except ServiceError as exc:
        flash(exc.message, "error")
        return redirect(url_for("reviews.complaint", number=number))
    flash(_("Nonconformity %(number)s raised.", number=nc_number), "success")
    return redirect(sources.nc_url(nc_number) or url_for("reviews.complaint", number=number))


@bp.route("/surveys/", methods=["GET", "POST"])
def surveys():
    """List satisfaction survey results; the quality office records them."""
    form = SurveyForm()
    status = 200
    if request.method == "POST":
        if not services.can_record_surveys(current_user):
            abort(403)
        if form.validate_on_submit():
            try:
                result = feedback.record_survey(
                    current_user,
                    form.period.data,
                    form.service.data,
                    form.responses.data,
                    form.score.data,
                )
            except ServiceError as exc:
                show_error(form, exc)
            else:
                flash(
                    _(
                        "Survey result for %(service)s, %(period)s recorded.",
                        service=result.service,
                        period=result.period,
                    ),
                    "success",
                )
                return redirect(url_for("reviews.surveys"))
        status = 422
    return (
        render_template(
            "reviews/surveys.html",
            form=form,
            results=feedback.list_surveys(),
            can_record=services.can_record_surveys(current_user),
        ),
        status,
    )


# -- management reviews ----------------------------------------------------------------


@bp.get("/reviews/")
def reviews():
    """List management reviews, newest first."""
    return render_template("reviews/reviews.html", reviews=services.list_reviews())


@bp.route("/reviews/new", methods=["GET", "POST"])
@allowed(services.can_plan_review)
def review_new():
    """Plan a management review meeting."""
    form = ReviewForm()
    form.chair.choices = user_choices(_("Choose…"), eligible=services.can_chair)
    form.attendees.choices = user_choices()
    if form.validate_on_submit():
        try:
            review = services.plan_review(
                current_user,
                form.title.data,
                form.planned_on.data,
                form.chair.data,
                form.attendees.data or [],
                form.period_start.data,
                form.period_end.data,
            )
        except ServiceError as exc:
            show_error(form, exc)
        else:
            flash(_("Management review %(number)s planned.", number=review.number), "success")
            return redirect(url_for("reviews.review", number=review.number))
    return render_template("reviews/review_new.html", form=form)


# Fields of an action refused by the improvement domain, as the decision form names them.
DECISION_ACTION_FIELDS = {
    "type": "action_type",
    "title": "text",
    "owner": "action_owner",
    "due_date": "action_due",
}


def _decision_form(formdata=True) -> DecisionForm:
    form = DecisionForm() if formdata else DecisionForm(formdata=None)
    form.kind.choices = options([(k, labels.decision_label(k)) for k in DECISION_KINDS])
    form.action_type.choices = _action_types()
    form.action_owner.choices = user_choices(_("No action yet"))
    return form


def _action_types():
    types = ("improvement", "preventive", "corrective")
    return options([(t, improvement.action_type_label(t)) for t in types])


def _render_review(review, status=200, **forms):
    notes_cls = notes_form_class()
    notes_form = forms.get("notes_form") or notes_cls(formdata=None, data=review.notes or {})
    action_form = forms.get("action_form") or ActionForm(formdata=None)
    action_form.action_type.choices = _action_types()
    action_form.owner.choices = user_choices(_("Choose…"))
    return (
        render_template(
            "reviews/review.html",
            review=review,
            inputs=review.inputs,
            notes_form=notes_form,
            hold_form=forms.get("hold_form") or HoldForm(formdata=None, held_on=clock.today()),
            decision_form=forms.get("decision_form") or _decision_form(formdata=False),
            action_form=action_form,
            approve_form=forms.get("approve_form") or ApproveForm(formdata=None),
            action_url=sources.action_url,
            item_url=sources.item_url,
            events=audit_trail.events_for("review", review.number),
        ),
        status,
    )


@bp.get("/reviews/<number>")
def review(number: str):
    """Show a review: its inputs (frozen once held), decisions, actions and minutes."""
    return _render_review(services.get_review(number))


@bp.post("/reviews/<number>/notes")
@allowed(services.can_prepare)
def review_notes(number: str):
    """Save the inputs entered as text."""
    item = services.get_review(number)
    form = notes_form_class()()
    if form.validate_on_submit():
        try:
            services.save_notes(
                current_user, item, {k: getattr(form, k).data for k in review_inputs.SECTION_KEYS}
            )
        except ServiceError as exc:
            flash(exc.message, "error")
            return _render_review(item, 409, notes_form=form)
        flash(_("Texts saved."), "success")
    return redirect(url_for("reviews.review", number=number) + "#inputs")


@bp.post("/reviews/<number>/prepare")
@allowed(services.can_prepare)
def review_prepare(number: str):
    """Compile the inputs from the system (again, until the meeting is held)."""
    item = services.get_review(number)
    try:
        services.prepare(current_user, item)
    except ServiceError as exc:
        flash(exc.message, "error")
    else:
        flash(_("Inputs compiled from the system."), "success")
    return redirect(url_for("reviews.review", number=number) + "#inputs")


@bp.post("/reviews/<number>/hold")
@allowed(services.can_hold)
def review_hold(number: str):
    """Record the meeting as held; its inputs are frozen from now on."""
    item = services.get_review(number)
    form = HoldForm()
    if form.validate_on_submit():
        try:
            services.hold(current_user, item, form.held_on.data, form.discussion.data)
        except ServiceError as exc:
            show_error(form, exc)
        else:
            flash(_("Review held: its inputs are frozen."), "success")
            return redirect(url_for("reviews.review", number=number))
    return _render_review(item, 422, hold_form=form)


@bp.post("/reviews/<number>/decisions")
@allowed(services.can_decide)
def review_decision(number: str):
    """Record a decision (§9.3.3) and, with an owner named, its action: both or neither."""
    item = services.get_review(number)
    form = _decision_form()
    if form.validate_on_submit():
        action = None
        if form.action_owner.data:
            action = services.PlannedAction(
                form.action_type.data,
                form.text.data[:300],
                form.action_owner.data,
                form.action_due.data,
            )
        try:
            _decision, action_number = services.decide(
                current_user, item, form.kind.data, form.text.data, action
            )
        except ServiceError as exc:
            # The action's refusals name its own fields; show them beside this form's.
            exc.field = DECISION_ACTION_FIELDS.get(exc.field, exc.field)
            show_error(form, exc)
            return _render_review(item, exc.status, decision_form=form)
        flash(_("Decision recorded."), "success")
        if action_number:
            flash(_("Action %(number)s created.", number=action_number), "success")
        return redirect(url_for("reviews.review", number=number) + "#decisions")
    return _render_review(item, 422, decision_form=form)


@bp.post("/reviews/<number>/decisions/<int:decision_id>/actions")
@allowed(services.can_decide)
def review_action(number: str, decision_id: int):
    """Create an action for a decision through the improvement domain."""
    item = services.get_review(number)
    decision = services.get_decision(item, decision_id)
    form = ActionForm()
    form.action_type.choices = _action_types()
    form.owner.choices = user_choices(_("Choose…"))
    if form.validate_on_submit():
        try:
            action_number = services.create_action(
                current_user,
                decision,
                form.action_type.data,
                form.title.data,
                form.owner.data,
                form.due_date.data,
            )
        except ServiceError as exc:
            flash(exc.message, "error")
        else:
            flash(_("Action %(number)s created.", number=action_number), "success")
            return redirect(url_for("reviews.review", number=number) + "#decisions")
    else:
        flash(_("Give the action, its owner and its due date."), "error")
    return _render_review(item, 422, action_form=form)


@bp.post("/reviews/<number>/approve")
def review_approve(number: str):
    """The chair approves the minutes with their password."""
    item = services.get_review(number)
    form = ApproveForm()
    if form.validate_on_submit():
        try:
            services.approve_minutes(current_user, item, form.password.data)
        except ServiceError as exc:
            show_error(form, exc)
            return _render_review(item, exc.status, approve_form=form)
        flash(_("Minutes approved and kept as a record."), "success")
        return redirect(url_for("reviews.review", number=number))
    return _render_review(item, 422, approve_form=form)


@bp.get("/reviews/<number>/minutes.<fmt>")
def review_minutes(number: str, fmt: str):
    """Download the minutes as DOCX or PDF (approved minutes exactly as signed)."""
    item = services.get_review(number)
    if fmt not in minutes.FORMATS or item.inputs is None or not item.frozen:
        abort(404)
    data, mimetype, name = minutes.download(item, fmt)
    return Response(
        data, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


# -- the improvement trail ---------------------------------------------------------------


@bp.get("/trail/<kind>/<path:key>")
def trail(kind: str, key: str):
    """Show the whole chain from a finding, NC, action, revision or review, on one page."""
    if kind not in chain.KINDS:
        abort(404)
    if kind == "complaint":
        feedback.get_complaint(key, viewer=current_user)  # out of sight: 404
    return render_template("reviews/trail.html", chain=chain.build(kind, key))
