"""Pages for the audit programme and coverage, audit plans, the checklist and the report."""

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
from markupsafe import Markup
from sqlalchemy import select

from qms import attachments, clock, render, trail
from qms.audits import checklists, labels, links, permissions, report, services
from qms.audits.forms import (
    ActionForm,
    AuditForm,
    FilterForm,
    FindingForm,
    ProgrammeForm,
    QuestionForm,
    ReportForm,
    SignForm,
    TransitionForm,
    UnitForm,
)
from qms.audits.models import AUDIT_STATES, AUDIT_TYPES, RESULTS, RISK_LEVELS, UNIT_KINDS
from qms.auth.models import Department, User
from qms.documents.models import Document
from qms.errors import ServiceError
from qms.extensions import db
from qms.forms import options, show_error
from qms.navigation import NavItem, register_nav, register_work
from qms.records import services as records
from qms.risks import services as risk_register

bp = Blueprint("audits", __name__, url_prefix="/audits")
register_nav(NavItem("audits.index", _l("Audits"), ("audits.",), order=30))
LANGS = (("en", "English"), ("zh_Hans", "简体中文"), ("zh_Hant", "繁體中文"))


def work_panels(user) -> list[dict]:
    """Home-page panel: the audits the user leads or audits in, upcoming and in progress."""
    audits = services.work_for(user)
    if not audits and not services.can_audit(user):
        return []
    return [{"template": "audits/_work.html", "audits": audits}]


register_work(30, work_panels)


@bp.app_context_processor
def audit_helpers():
    """Give templates the localised names of audit terms, and who may do what."""
    return {
        "audit_type_label": labels.type_label,
        "audit_state_label": labels.state_label,
        "result_label": labels.result_label,
        "risk_label": labels.risk_label,
        # The same can_<verb> rules the services' guards ask: audit_rules.can_plan(user).
        "audit_rules": permissions,
    }


def _lang() -> str:
    return str(get_locale() or "en")


def _split(text: str | None) -> list[str]:
    return [p.strip() for p in (text or "").replace("，", ",").split(",") if p.strip()]


def _user_choices(qualified=None, blank: str | None = None):
    """Offer the active users (those ``qualified(user)`` allows, when given)."""
    users = db.session.scalars(
        select(User).where(User.active.is_(True)).order_by(User.full_name, User.username)
    ).all()
    pairs = [
        (u.username, f"{u.display_name} ({u.department.name})")
        for u in users
        if qualified is None or qualified(u)
    ]
    return options(([("", blank)] if blank is not None else []) + pairs)


def _department_choices(blank: str | None = None):
    names = db.session.scalars(select(Department.name).order_by(Department.name)).all()
    return options(([("", blank)] if blank is not None else []) + [(n, n) for n in names])


# -- lists and the programme -----------------------------------------------------------


@bp.get("/")
def index():
    """List audits by year and state."""
    form = FilterForm(request.args)
    form.state.choices = options(
        [("", _("All states"))] + [(s, labels.state_label(s)) for s in AUDIT_STATES]
    )
    # A year that is not a number is ignored rather than refused: this is a filter.
    year = form.year.data
    stmt = services.list_audits(year, form.state.data or None, form.q.data or None)
    page = db.paginate(stmt, per_page=50, error_out=False)
    return render_template(
        "audits/index.html",
        form=form,
        page=page,
        this_year=clock.today().year,
        args={k: v for k, v in request.args.items() if k != "page"},
    )


@bp.route("/programme/<int:year>", methods=["GET", "POST"])
def programme(year: int):
    """Show and keep the year's programme and its coverage matrix."""
    if not 2000 <= year <= 2100:
        abort(404)
    prog = services.get_programme(year)
    form = ProgrammeForm(prefix="programme", obj=prog)
    unit_form = UnitForm(prefix="unit")
    unit_form.kind.choices = options([(k, labels.kind_label(k)) for k in UNIT_KINDS])
    unit_form.risk.choices = options([(r, labels.risk_label(r)) for r in RISK_LEVELS])
    if request.method == "GET":
        unit_form.risk.data = "medium"
    status = 200
    if form.submit.data and form.validate_on_submit():
        try:
            services.save_programme(
                current_user, year, form.objectives.data, form.scope.data, form.criteria.data
            )
        except ServiceError as exc:
            show_error(form, exc)
            status = exc.status
        else:
            flash(_("The %(year)s programme is saved.", year=year), "success")
            return redirect(url_for("audits.programme", year=year))
    elif unit_form.submit.data and unit_form.validate_on_submit():
        try:
            services.save_unit(
                current_user,
                prog or year,
                unit_form.kind.data,
                unit_form.name.data,
                unit_form.risk.data,
                unit_form.frequency.data,
                unit_form.clauses.data or "",
                unit_form.notes.data or "",
            )
        except ServiceError as exc:
            show_error(unit_form, exc)
            status = exc.status
        else:
            flash(_("%(name)s is in the programme.", name=unit_form.name.data), "success")
            return redirect(url_for("audits.programme", year=year) + "#units")
    elif request.method == "POST":
        status = 422
    prog = services.get_programme(year)
    matrix = services.coverage(year)
    suggestions = {
        u.id: services.suggested_frequency(
            services.weighed_risk(u.kind, u.name, u.risk), services.past_ncs(u, year)
        )
        for u in (prog.units if prog else [])
    }
    return (
        render_template(
            "audits/programme.html",
            year=year,
            programme=prog,
            form=form,
            unit_form=unit_form,
            matrix=matrix,
            suggestions=suggestions,
            titles=checklists.clause_titles(_lang()),
            departments=db.session.scalars(select(Department.name).order_by(Department.name)),
            remove_form=TransitionForm(prefix="remove"),
        ),
        status,
    )


@bp.post("/programme/<int:year>/units/<int:unit_id>/remove")
def remove_unit(year: int, unit_id: int):
    """Take a department or process out of the programme."""
    prog = services.get_programme(year)
    if prog is None:
        abort(404)
    services.remove_unit(current_user, prog, unit_id)
    flash(_("Removed from the programme."), "success")
    return redirect(url_for("audits.programme", year=year) + "#units")


# -- plans -----------------------------------------------------------------------------


def _plan_form(form: AuditForm) -> None:
    form.audit_type.choices = options([(t, labels.type_label(t)) for t in AUDIT_TYPES])
    form.departments.choices = _department_choices()
    form.lead_auditor.choices = _user_choices(services.can_audit, blank=_("Choose…"))
    form.team.choices = _user_choices(services.can_audit)
    # Meetings are typed in the office's own time.
    zone = _("Time zone: %(zone)s", zone=clock.zone_name())
    form.opening_meeting.description = form.closing_meeting.description = zone
    form.auditees.choices = _user_choices()
    docs = db.session.scalars(
        select(Document)
        .where(Document.status == "effective", Document.doc_type != "record_form")
        .order_by(Document.code)
    )
    form.documents.choices = options([(d.code, f"{d.code} {d.title}") for d in docs])
    form.risks.choices = options((r.number, str(r)) for r in risk_register.high_risks())


def _plan_data(form: AuditForm) -> services.PlanData:
    return services.PlanData(
        title=form.title.data,
        audit_type=form.audit_type.data,
        departments=form.departments.data or [],
        processes=_split(form.processes.data),
        clauses=_split(form.clauses.data),
        documents=form.documents.data or None,
        lead_auditor=form.lead_auditor.data,
        team=form.team.data or [],
        auditees=form.auditees.data or [],
        planned_start=form.planned_start.data,
        planned_end=form.planned_end.data,
        objectives=form.objectives.data or "",
        opening_meeting=form.opening_meeting.data,
        closing_meeting=form.closing_meeting.data,
        risks=form.risks.data or [],
    )


def _preview(form: AuditForm) -> tuple[list[dict] | None, int]:
    """Return the checklist the form's scope would generate, and the page's status.

    Nothing is saved, and only the scope is checked (the app's CSRF protection has
    checked the token already); a scope the service refuses shows its message instead.
    """
    try:
        proposed = services.preview_checklist(_plan_data(form))
    except ServiceError as exc:
        show_error(form, exc)
        return None, exc.status
    lang = _lang()
    return [dict(item, shown=services.proposed_text(item, lang)) for item in proposed], 200


@bp.route("/new", methods=["GET", "POST"])
def create():
    """Plan an audit."""
    if not services.can_plan(current_user):
        abort(403)
    form = AuditForm()
    _plan_form(form)
    if request.method == "GET":
        form.audit_type.data = "internal"
        form.clauses.data = request.args.get("clauses", "")
        if request.args.get("department"):
            form.departments.data = [request.args["department"]]
        if services.can_audit(current_user):
            form.lead_auditor.data = current_user.username
    status = 200
    if form.is_submitted() and form.preview.data:
        preview, status = _preview(form)
        return render_template("audits/edit.html", form=form, audit=None, preview=preview), status
    if form.validate_on_submit():
        try:
            audit = services.create_audit(current_user, _plan_data(form))
        except ServiceError as exc:
            show_error(form, exc)
            status = exc.status
        else:
            flash(
                _(
                    "Audit %(ref)s is planned with %(n)s questions.",
                    ref=audit.ref,
                    n=len(audit.questions),
                ),
                "success",
            )
            return redirect(url_for("audits.detail", ref=audit.ref))
    elif request.method == "POST":
        status = 422
    return render_template("audits/edit.html", form=form, audit=None), status


@bp.route("/<ref>/edit", methods=["GET", "POST"])
def edit(ref: str):
    """Change a plan that has not started."""
    audit = services.get_audit(ref)
    if not services.can_plan(current_user, audit):
        abort(403)  # the service refuses the change too; do not show the form
    form = AuditForm()
    _plan_form(form)
    if request.method == "GET":
        form.title.data = audit.title
        form.audit_type.data = audit.audit_type
        form.departments.data = [d.name for d in audit.departments]
        form.processes.data = ", ".join(audit.processes or [])
        form.clauses.data = ", ".join(audit.clauses)
        form.documents.data = [r.document.code for r in audit.document_rows]
        form.lead_auditor.data = audit.lead_auditor.username
        form.team.data = [u.username for u in audit.team]
        form.auditees.data = [u.username for u in audit.auditees]
        form.planned_start.data = audit.planned_start
        form.planned_end.data = audit.planned_end
        form.opening_meeting.data = clock.local(audit.opening_meeting)
        form.closing_meeting.data = clock.local(audit.closing_meeting)
        form.objectives.data = audit.objectives
        form.risks.data = [r.number for r in risk_register.risks_of_audit(audit.ref)]
    status = 200
    if form.is_submitted() and form.preview.data:
        preview, status = _preview(form)
        return render_template("audits/edit.html", form=form, audit=audit, preview=preview), status
    if form.validate_on_submit():
        try:
            services.update_plan(current_user, audit, _plan_data(form))
        except ServiceError as exc:
            show_error(form, exc)
            status = exc.status
        else:
            flash(_("The plan of %(ref)s is saved.", ref=audit.ref), "success")
            return redirect(url_for("audits.detail", ref=audit.ref))
    elif request.method == "POST":
        status = 422
    return render_template("audits/edit.html", form=form, audit=audit), status


@bp.get("/<ref>")
def detail(ref: str):
    """Show an audit: plan, criteria, progress, findings and report."""
    audit = services.get_audit(ref)
    lang = _lang()
    findings = [q for q in audit.questions if q.result not in (None, "conforming", "not_audited")]
    nc_states = {q.nc_number: links.nc_state(q.nc_number) for q in findings if q.nc_number}
    owners = _user_choices(blank=_("Choose…"))
    return render_template(
        "audits/detail.html",
        audit=audit,
        lang=lang,
        findings=findings,
        nc_states=nc_states,
        nc_state_label=links.nc_state_label,
        counts=report.distribution_of_results(audit),
        answered=sum(1 for q in audit.questions if q.result),
        moves=services.transitions_for(current_user, audit),
        move_form=TransitionForm(prefix="move"),
        question_form=QuestionForm(prefix="question"),
        owners=owners,
        action_form=ActionForm(prefix="action"),
        question_text=services.question_text,
        events=trail.events_for("audit", audit.ref),
        pending=services.open_ncs(audit) if audit.state == "reported" else [],
    )


@bp.post("/<ref>/transition")
def move(ref: str):
    """Start or close the audit (reporting is signing, on the report page)."""
    audit = services.get_audit(ref)
    form = TransitionForm(prefix="move")
    if not form.validate_on_submit():
        abort(400)
    try:
        services.transition(current_user, audit, form.to.data)
    except ServiceError as exc:
        flash(exc.message, "error")
    else:
        flash(
            _(
                "Audit %(ref)s is %(state)s.",
                ref=audit.ref,
                state=labels.state_label(audit.state),
            ),
            "success",
        )
    return redirect(url_for("audits.detail", ref=audit.ref))


@bp.post("/<ref>/questions")
def add_question(ref: str):
    """Add the auditor's own question to the checklist."""
    audit = services.get_audit(ref)
    form = QuestionForm(prefix="question")
    if form.validate_on_submit():
        try:
            question = services.add_question(
                current_user, audit, form.text.data, form.clause.data or None
            )
        except ServiceError as exc:
            flash(exc.message, "error")
        else:
            flash(_("Question %(seq)s is added.", seq=question.seq), "success")
            if audit.state == "in_progress":
                return redirect(url_for("audits.question", ref=audit.ref, seq=question.seq))
    else:
        flash(_("Write the question."), "error")
    return redirect(url_for("audits.detail", ref=audit.ref) + "#checklist")


@bp.post("/<ref>/questions/<int:seq>/action")
def raise_action(ref: str, seq: int):
    """Turn an observation or opportunity for improvement into an action."""
    audit = services.get_audit(ref)
    question = services.get_question(audit, seq)
    form = ActionForm(prefix="action")
    form.owner.choices = _user_choices(blank="")
    if form.validate_on_submit():
        try:
            number = services.raise_action(
                current_user,
                audit,
                question,
                form.owner.data,
                form.due_date.data,
                form.title.data or "",
            )
        except ServiceError as exc:
            flash(exc.message, "error")
        else:
            flash(_("Action %(number)s is created.", number=number), "success")
    else:
        flash(_("Choose the owner and the due date of the action."), "error")
    return redirect(url_for("audits.detail", ref=audit.ref) + f"#q{seq}")


# -- working the checklist -------------------------------------------------------------


@bp.get("/<ref>/checklist")
def checklist(ref: str):
    """Open the checklist at the first question without a result."""
    audit = services.get_audit(ref)
    if not audit.questions:
        return redirect(url_for("audits.detail", ref=audit.ref))
    todo = services.unanswered(audit)
    seq = (todo[0] if todo else audit.questions[0]).seq
    return redirect(url_for("audits.question", ref=audit.ref, seq=seq))


@bp.route("/<ref>/checklist/<int:seq>", methods=["GET", "POST"])
def question(ref: str, seq: int):
    """Work one question: result, evidence, records cited, a photo; one card on a phone."""
    audit = services.get_audit(ref)
    q = services.get_question(audit, seq)
    form = FindingForm(obj=q if request.method == "GET" else None)
    form.result.choices = options([(r, labels.result_label(r)) for r in RESULTS])
    form.department.choices = options([(d.name, d.name) for d in audit.departments]) or (
        _department_choices()
    )
    form.responsible.choices = _user_choices(blank=_("Not yet"))
    if request.method == "GET":
        form.records.data = ", ".join(q.records or [])
    seqs = [x.seq for x in audit.questions]
    index = seqs.index(q.seq)
    next_seq = seqs[index + 1] if index + 1 < len(seqs) else None
    prev_seq = seqs[index - 1] if index > 0 else None
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            upload = form.attachment.data
            files = [services.Upload(upload.stream, upload.filename)] if upload else []
            try:
                # One step: the finding, its photo and the NC it raises, or none of them.
                services.record_finding(
                    current_user,
                    audit,
                    form.result.data,
                    form.evidence.data or "",
                    question=q,
                    records=_split(form.records.data),
                    department=form.department.data or None,
                    responsible=form.responsible.data or None,
                    due_date=form.due_date.data,
                    files=files,
                )
            except ServiceError as exc:
                show_error(form, exc)
                status = exc.status
            else:
                message = _(
                    "Question %(seq)s: %(result)s.",
                    seq=q.seq,
                    result=labels.result_label(q.result),
                )
                if q.nc_number:
                    message += " " + _("Nonconformity %(number)s is raised.", number=q.nc_number)
                flash(message, "success")
                if form.submit.data and next_seq is not None:
                    return redirect(url_for("audits.question", ref=audit.ref, seq=next_seq))
                return redirect(url_for("audits.question", ref=audit.ref, seq=q.seq))
        else:
            status = 422
    return (
        render_template(
            "audits/question.html",
            audit=audit,
            q=q,
            form=form,
            text=services.question_text(q, _lang()),
            hint=services.question_hint(q, _lang()),
            record_example=records.example_number(),
            titles=checklists.clause_titles(_lang()),
            prev_seq=prev_seq,
            next_seq=next_seq,
            answered=sum(1 for x in audit.questions if x.result),
            total=len(seqs),
        ),
        status,
    )


@bp.get("/<ref>/attachments/<int:attachment_id>")
def attachment(ref: str, attachment_id: int):
    """Send an evidence file; only images and PDFs are shown in the browser."""
    audit = services.get_audit(ref)
    att = services.get_attachment(audit, attachment_id)
    inline = att.content_type in services.INLINE_TYPES
    return send_file(
        attachments.path(att.sha256),
        mimetype=att.content_type if inline else "application/octet-stream",
        as_attachment=not inline,
        download_name=att.filename,
    )


# -- the report ------------------------------------------------------------------------


@bp.route("/<ref>/report", methods=["GET", "POST"])
def report_page(ref: str):
    """Compose the report, preview it, and sign it as lead auditor."""
    audit = services.get_audit(ref)
    form = ReportForm(prefix="report", obj=audit if request.method == "GET" else None)
    sign = SignForm(prefix="sign")
    sign.lang.choices = options(LANGS)
    if request.method == "GET":
        sign.lang.data = _lang()
    status = 200
    if form.submit.data and form.validate_on_submit():
        try:
            services.save_report_text(
                current_user,
                audit,
                form.summary.data,
                form.strengths.data,
                form.distribution.data,
            )
        except ServiceError as exc:
            show_error(form, exc)
            status = exc.status
        else:
            flash(_("The report text is saved."), "success")
            return redirect(url_for("audits.report_page", ref=audit.ref))
    elif sign.submit.data and sign.validate_on_submit():
        try:
            services.transition(current_user, audit, "reported", sign.password.data, sign.lang.data)
        except ServiceError as exc:
            show_error(sign, exc)
            status = exc.status
        else:
            flash(_("The report of %(ref)s is signed.", ref=audit.ref), "success")
            return redirect(url_for("audits.report_page", ref=audit.ref))
    elif request.method == "POST":
        status = 422
    body = audit.report_body or report.report_markdown(audit, _lang())
    html = Markup(render.render(body, "html", None, None).decode("utf-8"))
    return (
        render_template(
            "audits/report.html",
            audit=audit,
            form=form,
            sign=sign,
            html=html,
            unanswered=len(services.unanswered(audit)),
        ),
        status,
    )


@bp.get("/<ref>/report.<fmt>")
def report_download(ref: str, fmt: str):
    """Download the signed report as PDF, DOCX or Markdown."""
    audit = services.get_audit(ref)
    data, mimetype, filename = report.report_file(audit, fmt)
    return Response(
        data,
        mimetype=mimetype,
        headers={"Content-Disposition": f"attachment; filename={filename}"},
    )
