"""Pages for nonconformities and actions: raise, work, check, close; lists and to-do."""

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
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select

from qms import clock, spreadsheets, trail
from qms.auth.models import Department, User
from qms.documents import services as documents_services
from qms.errors import ServiceError
from qms.extensions import db
from qms.forms import options, show_error
from qms.improvement import labels, services
from qms.improvement.forms import (
    ActionFilterForm,
    ActionForm,
    ActionPlanForm,
    ActionStepForm,
    AnalysisForm,
    AssignForm,
    ChangeRequestForm,
    EvidenceForm,
    FilterForm,
    NcForm,
    OutputForm,
    TransitionForm,
)
from qms.improvement.models import (
    ACTION_ORIGINS,
    ACTION_STATES,
    ACTION_TYPES,
    CAUSE_CATEGORIES,
    DISPOSITIONS,
    NC_STATES,
    SEVERITIES,
    SOURCES,
    Evidence,
)
from qms.navigation import NavItem, register_nav, register_work

bp = Blueprint("improvement", __name__, url_prefix="/improvement")
register_nav(NavItem("improvement.index", _l("Nonconformities"), ("improvement.",), order=30))


def work_panels(user) -> list[dict]:
    """Home-page panel: my NCs and actions, due soon or overdue, and what waits on me."""
    soon = services.due_soon()
    return [
        {
            "template": "improvement/_work.html",
            "todo": services.todo_summary(user, soon),
            "soon": soon,
        }
    ]


register_work(30, work_panels)


@bp.app_context_processor
def inject_labels():
    """Give templates the localised names of sources, states, types and categories."""
    return {
        "nc_state_label": labels.nc_state_label,
        "source_label": labels.source_label,
        "severity_label": labels.severity_label,
        "category_label": labels.category_label,
        "action_type_label": labels.action_type_label,
        "action_state_label": labels.action_state_label,
        "origin_label": labels.origin_label,
        "disposition_label": labels.disposition_label,
    }


def user_choices(blank: str | None = None):
    users = db.session.scalars(
        select(User).where(User.active.is_(True)).order_by(User.full_name, User.username)
    ).all()
    pairs = [(u.username, f"{u.display_name} ({u.department.name})") for u in users]
    return options(([("", blank)] if blank is not None else []) + pairs)


def department_choices(blank: str | None = None, key: str = "name"):
    depts = db.session.scalars(select(Department).order_by(Department.name)).all()
    pairs = [(str(getattr(d, key)), d.name) for d in depts]
    return options(([("", blank)] if blank is not None else []) + pairs)


def document_choices():
    docs = db.session.scalars(documents_services.list_documents()).all()
    return options([(d.code, f"{d.code} {d.title}") for d in docs])


def _split(text: str | None) -> list[str]:
    return [p.strip() for p in (text or "").replace("，", ",").split(",") if p.strip()]


# -- lists -----------------------------------------------------------------------------


def _filters(form: FilterForm) -> services.NcFilters:
    dept = form.department.data or ""
    return services.NcFilters(
        state=form.state.data if form.state.data in NC_STATES else None,
        source=form.source.data if form.source.data in SOURCES else None,
        department_id=int(dept) if dept.isdigit() else None,
        severity=form.severity.data if form.severity.data in SEVERITIES else None,
        clause=(form.clause.data or "").strip() or None,
        overdue=request.args.get("overdue") == "1",
        open_only=request.args.get("open") == "1",
        q=(form.q.data or "").strip() or None,
    )


@bp.get("/")
def index():
    """List nonconformities with filters, aging and a CSV export."""
    form = FilterForm(request.args)
    form.state.choices = options(
        [("", _("All states"))] + [(s, labels.nc_state_label(s)) for s in NC_STATES]
    )
    form.source.choices = options(
        [("", _("All sources"))] + [(s, labels.source_label(s)) for s in SOURCES]
    )
    form.department.choices = department_choices(_("All departments"), key="id")
    form.severity.choices = options(
        [("", _("All severities"))] + [(s, labels.severity_label(s)) for s in SEVERITIES]
    )
    filters = _filters(form)
    sort = request.args.get("sort", "-raised_at")
    stmt = services.list_ncs(filters, sort)
    fmt = spreadsheets.requested_format()
    if fmt:
        return nc_csv(db.session.scalars(stmt).all(), fmt)
    page = db.paginate(stmt, per_page=50, error_out=False)
    return render_template(
        "improvement/index.html",
        form=form,
        page=page,
        sort=sort,
        filters=filters,
        aging=services.open_aging(stmt),
        days_open=services.days_open,
        args={k: v for k, v in request.args.items() if k not in ("page", "sort", "format")},
    )


NC_COLUMNS = [
    "number",
    "title",
    "state",
    "source",
    "severity",
    "department",
    "clause",
    "documents",
    "raised_by",
    "raised_at",
    "responsible",
    "due_date",
    "days_open",
    "actions",
    "closed_at",
]
ACTION_COLUMNS = [
    "number",
    "type",
    "title",
    "state",
    "nonconformity",
    "origin",
    "owner",
    "due_date",
    "change_request",
    "released",
    "checked_by",
    "result",
]


def nc_csv(ncs, fmt: str = "csv") -> Response:
    rows = [
        [
            nc.number,
            nc.title,
            nc.state,
            nc.source,
            nc.severity,
            nc.department.name,
            nc.clause or "",
            " ".join(f"{d.code}/{d.revision or '-'}" for d in nc.documents),
            nc.raised_by.username,
            clock.local(nc.raised_at).date().isoformat(),
            nc.responsible.username if nc.responsible else "",
            nc.due_date or "",
            services.days_open(nc),
            " ".join(a.number for a in nc.actions),
            clock.local(nc.closed_at).date().isoformat() if nc.closed_at else "",
        ]
        for nc in ncs
    ]
    return spreadsheets.download(fmt, NC_COLUMNS, rows, "nonconformities")


@bp.get("/mine")
def mine():
    """Show my to-do list: NCs and actions assigned to me, and what waits on my decision."""
    return render_template(
        "improvement/mine.html", todo=services.todo(current_user), soon=services.due_soon()
    )


@bp.get("/actions/")
def actions():
    """List actions, soonest due first, with filters and a CSV export."""
    form = ActionFilterForm(request.args)
    form.state.choices = options(
        [("", _("All states"))] + [(s, labels.action_state_label(s)) for s in ACTION_STATES]
    )
    form.action_type.choices = options(
        [("", _("All types"))] + [(t, labels.action_type_label(t)) for t in ACTION_TYPES]
    )
    filters = services.ActionFilters(
        state=form.state.data if form.state.data in ACTION_STATES else None,
        action_type=form.action_type.data if form.action_type.data in ACTION_TYPES else None,
        owner_id=current_user.id if request.args.get("mine") == "1" else None,
        overdue=request.args.get("overdue") == "1",
        without_nc=request.args.get("standalone") == "1",
    )
    stmt = services.list_actions(filters)
    fmt = spreadsheets.requested_format()
    if fmt:
        return action_csv(db.session.scalars(stmt).all(), fmt)
    page = db.paginate(stmt, per_page=50, error_out=False)
    return render_template(
        "improvement/actions.html",
        form=form,
        page=page,
        filters=filters,
        args={k: v for k, v in request.args.items() if k not in ("page", "format")},
    )


def action_csv(items, fmt: str = "csv") -> Response:
    rows = [
        [
            a.number,
            a.action_type,
            a.title,
            a.state,
            a.nonconformity.number if a.nonconformity else "",
            a.origin,
            a.owner.username,
            a.due_date,
            a.change_request or "",
            f"{a.released_document}/{a.released_revision}" if a.released_revision else "",
            a.checked_by.username if a.checked_by else "",
            a.check_result or "",
        ]
        for a in items
    ]
    return spreadsheets.download(fmt, ACTION_COLUMNS, rows, "actions")


# -- raising ---------------------------------------------------------------------------


def supplier_choices() -> list[tuple[str, str]]:
    """Every provider in the register: an NC may be about a suspended one too."""
    from qms.suppliers import services as suppliers

    return [(s.number, f"{s.name} ({s.number})") for s in suppliers.list_suppliers()]


def _nc_form() -> NcForm:
    form = NcForm()
    form.source.choices = options([(s, labels.source_label(s)) for s in SOURCES])
    form.supplier.choices = options([("", "—")] + supplier_choices())
    form.severity.choices = options([(s, labels.severity_label(s)) for s in SEVERITIES])
    form.department.choices = department_choices()
    form.documents.choices = document_choices()
    form.responsible.choices = user_choices(_("Decided by the quality office"))
    return form


@bp.route("/new", methods=["GET", "POST"])
def new():
    """Raise a nonconformity; ``?record=`` and ``?source=`` prefill the evidence and source."""
    form = _nc_form()
    similar = None
    if request.method == "GET":
        form.department.data = current_user.department.name
        form.severity.data = "minor"
        source = request.args.get("source")
        form.source.data = source if source in SOURCES else "staff_report"
        if request.args.get("record"):
            form.records.data = request.args["record"].strip()[:40]
        if request.args.get("document"):
            form.documents.data = [request.args["document"]]
        if request.args.get("clause"):
            form.clause.data = request.args["clause"].strip()[:20]
        form.supplier.data = (request.args.get("supplier") or "").strip()[:20]
    elif form.validate_on_submit():
        if form.similar.data:
            similar = _similar_for_form(form)
        else:
            try:
                nc = services.raise_nc(
                    current_user,
                    form.title.data,
                    form.description.data,
                    form.source.data,
                    department=form.department.data or None,
                    clause=form.clause.data or None,
                    severity=form.severity.data or None,
                    responsible=form.responsible.data or None,
                    due_date=form.due_date.data,
                    documents=form.documents.data or [],
                    records=_split(form.records.data),
                    supplier=form.supplier.data or None,
                    files=[
                        (f.stream, f.filename) for f in form.files.data or [] if f and f.filename
                    ],
                )
            except ServiceError as exc:
                show_error(form, exc)
            else:
                count = len(services.similar_to(nc))
                flash(_("Nonconformity %(number)s raised.", number=nc.number), "success")
                if count:
                    flash(
                        ngettext(
                            "%(num)d similar earlier nonconformity: see Recurrence below.",
                            "%(num)d similar earlier nonconformities: see Recurrence below.",
                            count,
                        ),
                        "warning",
                    )
                return redirect(url_for("improvement.detail", number=nc.number))
    return render_template("improvement/new.html", form=form, similar=similar)


def _similar_for_form(form: NcForm) -> list:
    dept = db.session.scalar(select(Department).where(Department.name == form.department.data))
    clause = (form.clause.data or "").strip() or None
    return services.similar(clause, dept.id if dept else None, form.documents.data or [])


# -- one nonconformity -----------------------------------------------------------------


def _step_forms(nc) -> dict:
    forms = {}
    for to in services.allowed_transitions(current_user, nc):
        form = TransitionForm(prefix=f"t-{to}")
        form.to.data = to
        form.containment_by.choices = user_choices(_("Me"))
        if to == "analysis" and nc.state == "containment":
            form.containment.data = form.containment.data or nc.containment
        forms[to] = form
    return forms


def _analysis_form(nc) -> AnalysisForm:
    form = AnalysisForm(prefix="analysis")
    form.cause_category.choices = options(
        [("", _("Choose…"))] + [(c, labels.category_label(c)) for c in CAUSE_CATEGORIES]
    )
    if request.method == "GET":
        for i, why in enumerate((nc.whys or [])[:5], start=1):
            getattr(form, f"why{i}").data = why
        form.cause_category.data = nc.cause_category or ""
        form.root_cause.data = nc.root_cause
    return form


def _assign_form(nc) -> AssignForm:
    form = AssignForm(prefix="assign")
    form.responsible.choices = user_choices(_("Choose…"))
    if request.method == "GET":
        form.responsible.data = nc.responsible.username if nc.responsible else ""
        form.due_date.data = nc.due_date
    return form


def _evidence_form() -> EvidenceForm:
    form = EvidenceForm(prefix="evidence")
    form.document.choices = options([("", _("None"))]) + document_choices()
    return form


def _render_detail(nc, **forms):
    releases = {a.id: services.action_release(a, with_redline=True) for a in nc.actions}
    context = {
        "nc": nc,
        "steps": forms.get("steps") or _step_forms(nc),
        "analysis_form": forms.get("analysis_form") or _analysis_form(nc),
        "assign_form": forms.get("assign_form") or _assign_form(nc),
        "evidence_form": forms.get("evidence_form") or _evidence_form(),
        "output_form": forms.get("output_form") or _output_form(nc),
        "releases": releases,
        "similar": services.similar_to(nc),
        "events": services.timeline(nc),
        "days_open": services.days_open(nc),
        "gaps": services.analysis_gaps(nc),
        "can_analyse": services.can_analyse(current_user, nc),
        "can_assign": services.can_assign(current_user, nc),
        "can_add_evidence": services.can_add_evidence(current_user, nc),
        "can_plan_actions": services.can_plan_actions(current_user, nc),
    }
    return render_template("improvement/detail.html", **context)


def _output_form(nc, submitted: bool = False):
    """The §8.7 form, filled with what is recorded (or with what was just typed)."""
    row = nc.output
    extra = {} if submitted else {"formdata": None}
    form = OutputForm(
        **extra,
        prefix="out",
        output=row.output if row else None,
        quantity=row.quantity if row else None,
        disposition=row.disposition if row else "",
        evidence_ref=row.evidence_ref if row else None,
        authorised_by=row.authorised_by.username if row and row.authorised_by else "",
    )
    form.disposition.choices = options(
        [("", "—")] + [(d, labels.disposition_label(d)) for d in DISPOSITIONS]
    )
    form.authorised_by.choices = user_choices("—")
    return form


@bp.post("/<number>/output")
def output(number: str):
    """Record the nonconforming output (§8.7) and, when given, its disposition."""
    nc = services.get_nc(number)
    form = _output_form(nc, submitted=True)
    if form.validate_on_submit():
        upload = form.evidence.data
        try:
            services.set_output(current_user, nc, form.output.data, form.quantity.data)
            if form.disposition.data:
                services.record_disposition(
                    current_user,
                    nc,
                    form.disposition.data,
                    form.disposition_note.data,
                    authorised_by=form.authorised_by.data or None,
                    evidence_ref=form.evidence_ref.data,
                    evidence=upload.stream if upload and upload.filename else None,
                    evidence_name=upload.filename if upload else None,
                )
        except ServiceError as exc:
            show_error(form, exc)
            return _render_detail(services.get_nc(number), output_form=form), exc.status
        flash(_("Saved."), "success")
        return redirect(url_for("improvement.detail", number=number) + "#output")
    return _render_detail(nc, output_form=form), 422


@bp.get("/<number>")
def detail(number: str):
    """Show an NC: facts, evidence, containment, root cause, actions and their releases."""
    return _render_detail(services.get_nc(number))


@bp.post("/<number>/transition")
def transition(number: str):
    """Move the NC to its next state with what that step needs."""
    nc = services.get_nc(number)
    # Each step's form has its own prefix, "t-<state>-", so one page can hold several.
    to = next((k[2:-3] for k in request.form if k.startswith("t-") and k.endswith("-to")), None)
    steps = _step_forms(nc)
    form = steps.get(to)
    if form is None:
        # A step the user may not take: let the service say why, in their language.
        form = TransitionForm(prefix=f"t-{to}")
        form.containment_by.choices = user_choices(_("Me"))
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(error, "error")
        return redirect(url_for("improvement.detail", number=number))
    try:
        services.transition(
            current_user,
            nc,
            form.to.data,
            containment=form.containment.data,
            containment_by=form.containment_by.data or None,
            containment_on=form.containment_on.data,
            comment=form.comment.data,
            result=form.result.data,
            reason=form.reason.data,
        )
    except ServiceError as exc:
        nc = services.get_nc(number)
        steps = _step_forms(nc)
        if to in steps:
            steps[to] = form
            show_error(form, exc)
        else:
            flash(exc.message, "error")
        return _render_detail(nc, steps=steps), exc.status
    flash(
        _(
            "%(number)s is now: %(state)s.",
            number=nc.number,
            state=labels.nc_state_label(to),
        ),
        "success",
    )
    return redirect(url_for("improvement.detail", number=number))


@bp.post("/<number>/analysis")
def analysis(number: str):
    """Save the root-cause analysis."""
    nc = services.get_nc(number)
    form = _analysis_form(nc)
    if form.validate_on_submit():
        try:
            services.record_analysis(
                current_user, nc, form.whys(), form.cause_category.data, form.root_cause.data
            )
        except ServiceError as exc:
            show_error(form, exc)
            return _render_detail(services.get_nc(number), analysis_form=form), exc.status
        flash(_("Analysis saved."), "success")
    return redirect(url_for("improvement.detail", number=number) + "#analysis")


@bp.post("/<number>/assign")
def assign(number: str):
    """Name the responsible person and due date (quality office)."""
    nc = services.get_nc(number)
    form = _assign_form(nc)
    if form.validate_on_submit():
        try:
            services.assign(current_user, nc, form.responsible.data, form.due_date.data)
        except ServiceError as exc:
            show_error(form, exc)
            return _render_detail(services.get_nc(number), assign_form=form), exc.status
        flash(_("Assigned."), "success")
    return redirect(url_for("improvement.detail", number=number))


@bp.post("/<number>/evidence")
def evidence(number: str):
    """Add evidence: a record, a link, a file, or a document concerned."""
    nc = services.get_nc(number)
    form = _evidence_form()
    if form.validate_on_submit():
        try:
            upload = form.file.data
            if form.record.data:
                services.add_record_evidence(current_user, nc, form.record.data)
            elif form.url.data:
                services.add_link_evidence(current_user, nc, form.url.data, form.note.data)
            elif upload and upload.filename:
                services.add_attachment(current_user, nc, upload.stream, upload.filename)
            elif form.document.data:
                services.add_document(current_user, nc, form.document.data)
            else:
                form.record.errors.append(_("Give a record, a link, a file or a document."))
                return _render_detail(nc, evidence_form=form), 422
        except ServiceError as exc:
            # The services name the NC's fields; this form has one field for each kind.
            exc.field = {"records": "record", "documents": "document"}.get(exc.field, exc.field)
            show_error(form, exc)
            return _render_detail(services.get_nc(number), evidence_form=form), exc.status
        flash(_("Evidence added."), "success")
    return redirect(url_for("improvement.detail", number=number) + "#evidence")


@bp.get("/<number>/evidence/<int:evidence_id>")
def attachment(number: str, evidence_id: int):
    """Download an uploaded evidence file."""
    nc = services.get_nc(number)
    item = db.session.get(Evidence, evidence_id)
    if item is None or item.nonconformity_id != nc.id or item.kind != "attachment":
        abort(404)
    path = services.attachment_path(item)
    if not path.exists():
        abort(404)
    return send_file(
        path, mimetype=item.content_type, download_name=item.filename, as_attachment=True
    )


# -- actions ---------------------------------------------------------------------------


def _action_form() -> ActionForm:
    form = ActionForm()
    form.action_type.choices = options([(t, labels.action_type_label(t)) for t in ACTION_TYPES])
    form.owner.choices = user_choices(_("Choose…"))
    form.origin.choices = options(
        [(o, labels.origin_label(o)) for o in ACTION_ORIGINS if o != "nonconformity"]
    )
    return form


@bp.route("/actions/new", methods=["GET", "POST"])
def new_action():
    """Plan an action for an NC (``?nc=``) or on its own (a risk, a trend, a suggestion)."""
    form = _action_form()
    number = request.values.get("nc") or form.nonconformity.data or None
    nc = services.get_nc(number) if number else None
    if request.method == "GET":
        form.nonconformity.data = nc.number if nc else ""
        form.action_type.data = "corrective" if nc else "preventive"
        form.owner.data = nc.responsible.username if nc and nc.responsible else ""
    elif form.validate_on_submit():
        try:
            action = services.create_action(
                current_user,
                form.action_type.data,
                form.title.data,
                form.owner.data,
                form.due_date.data,
                nonconformity=nc.number if nc else None,
                description=form.description.data or "",
                effectiveness_criteria=form.effectiveness_criteria.data,
                check_date=form.check_date.data,
                origin=form.origin.data,
                origin_ref=form.origin_ref.data,
            )
        except ServiceError as exc:
            show_error(form, exc)
        else:
            flash(_("Action %(number)s planned.", number=action.number), "success")
            if nc:
                return redirect(url_for("improvement.detail", number=nc.number) + "#actions")
            return redirect(url_for("improvement.action", action_id=action.id))
    return render_template("improvement/action_new.html", form=form, nc=nc)


def _render_action(action, **forms):
    steps = forms.get("steps") or {}
    for to in services.allowed_action_transitions(current_user, action):
        if to not in steps:
            form = ActionStepForm(prefix=f"s-{to}")
            form.to.data = to
            steps[to] = form
    plan_form = forms.get("plan_form") or ActionPlanForm(prefix="plan")
    if request.method == "GET":
        plan_form.effectiveness_criteria.data = action.effectiveness_criteria
        plan_form.check_date.data = action.check_date
    cr_form = forms.get("cr_form") or ChangeRequestForm(prefix="cr")
    cr_form.documents.choices = document_choices()
    if request.method == "GET" and action.nonconformity:
        cr_form.documents.data = action.nonconformity.document_codes
    return render_template(
        "improvement/action.html",
        action=action,
        steps=steps,
        plan_form=plan_form,
        cr_form=cr_form,
        can_plan=services.can_plan(current_user, action),
        release=services.action_release(action, with_redline=True),
        events=trail.events_for("action", action.number),
    )


@bp.get("/actions/<action_id>")
def action(action_id: str):
    """Show an action, its document change and release, and its check."""
    return _render_action(services.get_action(action_id))


@bp.post("/actions/<action_id>/transition")
def action_transition(action_id: str):
    """Move an action on: start, finish, or record its effectiveness check."""
    item = services.get_action(action_id)
    to = next((k[2:-3] for k in request.form if k.startswith("s-") and k.endswith("-to")), None)
    form = ActionStepForm(prefix=f"s-{to}")
    if not form.validate_on_submit():
        flash(_("The request was not valid; please try again."), "error")
        return redirect(url_for("improvement.action", action_id=item.id))
    try:
        services.action_transition(
            current_user, item, form.to.data, note=form.note.data, result=form.result.data
        )
    except ServiceError as exc:
        show_error(form, exc)
        if exc.field not in ("note", "result"):
            flash(exc.message, "error")
        return _render_action(services.get_action(action_id), steps={to: form}), exc.status
    flash(
        _(
            "%(number)s is now: %(state)s.",
            number=item.number,
            state=labels.action_state_label(form.to.data),
        ),
        "success",
    )
    return redirect(url_for("improvement.action", action_id=item.id))


@bp.post("/actions/<action_id>/plan")
def action_plan(action_id: str):
    """Set the effectiveness criteria and check date."""
    item = services.get_action(action_id)
    form = ActionPlanForm(prefix="plan")
    if form.validate_on_submit():
        try:
            services.update_action_plan(
                current_user, item, form.effectiveness_criteria.data, form.check_date.data
            )
        except ServiceError as exc:
            show_error(form, exc)
            return _render_action(services.get_action(action_id), plan_form=form), exc.status
        flash(_("Saved."), "success")
    return redirect(url_for("improvement.action", action_id=item.id))


@bp.post("/actions/<action_id>/change-request")
def action_change_request(action_id: str):
    """Raise the document change request this action needs."""
    item = services.get_action(action_id)
    form = ChangeRequestForm(prefix="cr")
    form.documents.choices = document_choices()
    if form.validate_on_submit():
        try:
            number = services.request_document_change(
                current_user, item, form.documents.data, form.reason.data
            )
        except ServiceError as exc:
            show_error(form, exc)
            return _render_action(services.get_action(action_id), cr_form=form), exc.status
        flash(_("Change request %(number)s raised.", number=number), "success")
        return redirect(url_for("improvement.action", action_id=item.id))
    return _render_action(item, cr_form=form), 422
