"""Pages for the training matrix, training records and the revision training mark."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from qms import spreadsheets
from qms.auth.models import Department, User
from qms.documents import services as documents
from qms.errors import NotFound, ServiceError
from qms.extensions import db
from qms.forms import codes, options, show_error
from qms.navigation import NavItem, register_nav, register_work
from qms.training import labels, matrix, permissions, services
from qms.training.forms import (
    CompetenceForm,
    EvaluationForm,
    HolderForm,
    MarkForm,
    PositionForm,
    RecordForm,
    RequirementsForm,
)
from qms.training.models import METHODS, Competence

bp = Blueprint("training", __name__, url_prefix="/training")
register_nav(NavItem("training.index", _l("Training"), ("training.",), order=58))
documents.on_revision(services.on_revision)


def panels(user) -> list[dict]:
    """Home-page panel: the user's own training status."""
    items = matrix.items_for([user])
    if not items:
        return []
    return [
        {"template": "training/_work.html", "training": items, "coverage": matrix.coverage(items)}
    ]


register_work(55, panels)


@bp.app_context_processor
def template_helpers():
    """Give this domain's templates its labels and rules."""
    return {
        "training_state_label": labels.state_label,
        "training_method_label": labels.method_label,
        "training_result_label": labels.result_label,
        "training_rules": permissions,
    }


def _filters():
    dept_id = request.args.get("department", type=int)
    username = request.args.get("person") or None
    if not permissions.can_view_matrix(current_user):
        username, dept_id = current_user.username, None
    return dept_id, username


@bp.get("/")
def index():
    """Show the training matrix, by department and person, with coverage."""
    dept_id, username = _filters()
    items = matrix.matrix(dept_id, username)
    departments = db.session.scalars(select(Department).order_by(Department.name)).all()
    return render_template(
        "training/index.html",
        items=items,
        coverage=matrix.coverage(items),
        by_department=matrix.coverage_by_department()
        if permissions.can_view_matrix(current_user)
        else {},
        departments=departments,
        department_id=dept_id,
        person=username,
    )


@bp.get("/matrix.xlsx")
def export():
    """Download the matrix shown as an XLSX workbook."""
    dept_id, username = _filters()
    header = [
        _("Department"),
        _("Person"),
        _("Requirement"),
        _("Title"),
        _("Revision"),
        _("State"),
        _("Due"),
        _("Done on"),
        _("Valid until"),
        _("Record"),
    ]
    rows = [
        [
            i.user.department.name,
            i.user.display_name,
            i.key,
            i.title,
            i.revision or "",
            labels.state_label(i.state),
            i.due_date.isoformat() if i.due_date else "",
            i.done_on.isoformat() if i.done_on else "",
            i.valid_until.isoformat() if i.valid_until else "",
            i.record or "",
        ]
        for i in matrix.matrix(dept_id, username)
    ]
    return spreadsheets.download("xlsx", header, rows, "training-matrix", _("Training matrix"))


@bp.route("/records", methods=["GET", "POST"])
def records():
    """List training records and record a new one."""
    if not permissions.can_view_matrix(current_user):
        listed = services.list_records(user_id=current_user.id)
        return render_template(
            "training/records.html", records=listed, form=None, to_evaluate=set()
        )
    form = _record_form()
    if form.validate_on_submit():
        if not permissions.can_record(current_user):
            abort(403)
        upload = form.evidence.data
        try:
            made = services.record_session(
                current_user,
                [services.get_user(u) for u in form.user.data],
                form.trained_on.data,
                form.trainer.data,
                form.method.data,
                failed=[services.get_user(u, "failed") for u in form.failed.data],
                evidence=upload.read() if upload and upload.filename else None,
                evidence_name=upload.filename if upload else None,
                document_code=form.document.data or None,
                revision_label=form.revision.data or None,
                competence_name=form.competence.data or None,
                valid_until=form.valid_until.data,
                note=form.note.data,
            )
        except ServiceError as exc:
            show_error(form, exc)
        else:
            numbers = ", ".join(r.number for r in made)
            flash(_("Training %(number)s recorded.", number=numbers), "success")
            return redirect(url_for("training.records"))
    return _records_page(form)


def _record_form(**kwargs) -> RecordForm:
    """The record form with its choices: active people, competences and methods."""
    form = RecordForm(**kwargs)
    people = db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.username))
    form.user.choices = options((u.username, u.display_name) for u in people)
    form.failed.choices = form.user.choices
    comps = db.session.scalars(select(Competence).order_by(Competence.name))
    form.competence.choices = options([("", "—")] + [(c.name, c.name) for c in comps])
    form.method.choices = options((m, labels.method_label(m)) for m in METHODS)
    return form


def _records_page(form, evaluating: str | None = None, evaluation_form=None, status=200):
    listed = services.list_records()
    return (
        render_template(
            "training/records.html",
            records=listed,
            form=form,
            to_evaluate=services.awaiting_evaluation(listed),
            evaluating=evaluating,
            evaluation_form=evaluation_form,
            blank_evaluation=EvaluationForm(formdata=None),
        ),
        status,
    )


@bp.post("/records/<number>/evaluation")
def evaluate(number: str):
    """Record whether a training was effective (§7.2 c)."""
    if not permissions.can_record(current_user):
        abort(403)
    record = services.get_record(number)
    form = EvaluationForm()
    if form.validate_on_submit():
        try:
            services.evaluate(
                current_user,
                record,
                form.effective.data == "yes",
                form.evaluation.data,
                form.evaluated_on.data,
            )
        except ServiceError as exc:
            show_error(form, exc)
        else:
            flash(_("Evaluation of %(number)s recorded.", number=number), "success")
            return redirect(url_for("training.records"))
    return _records_page(_record_form(formdata=None), number, form, status=400)


@bp.route("/revision", methods=["GET", "POST"])
def mark():
    """Say whether a revision awaiting release needs training."""
    if not permissions.can_mark_revision(current_user):
        abort(403)
    form = MarkForm()
    if form.validate_on_submit():
        try:
            doc = documents.get_document(form.document.data.strip())
            rev = documents.get_revision(doc, form.revision.data.strip())
            services.mark_revision(
                current_user,
                rev,
                form.needs_training.data,
                form.due_days.data,
                evaluate=form.evaluate.data,
            )
        except NotFound as exc:
            flash(exc.message, "error")
        except ServiceError as exc:
            show_error(form, exc)
        else:
            flash(_("Saved."), "success")
            return redirect(url_for("training.index"))
    return render_template("training/mark.html", form=form)


# -- positions and competences ------------------------------------------------------------------


def _competence_choices():
    comps = db.session.scalars(select(Competence).order_by(Competence.name))
    return options((c.name, c.name) for c in comps)


def _position_forms(position_form=None, competence_form=None):
    position_form = position_form or PositionForm(formdata=None)
    depts = db.session.scalars(select(Department).order_by(Department.name))
    position_form.department.choices = options((str(d.id), d.name) for d in depts)
    position_form.competences.choices = _competence_choices()
    return position_form, competence_form or CompetenceForm(formdata=None)


def _positions_page(position_form=None, competence_form=None, status=200):
    if not permissions.can_view_matrix(current_user):
        abort(403)
    position_form, competence_form = _position_forms(position_form, competence_form)
    dept_id = request.args.get("department", type=int)
    return (
        render_template(
            "training/positions.html",
            positions=services.list_positions(dept_id),
            competences=db.session.scalars(select(Competence).order_by(Competence.name)).all(),
            departments=db.session.scalars(select(Department).order_by(Department.name)).all(),
            department_id=dept_id,
            position_form=position_form,
            competence_form=competence_form,
        ),
        status,
    )


@bp.get("/positions")
def positions():
    """Positions per department with the documents and competences they need."""
    return _positions_page()


@bp.post("/positions")
def create_position():
    if not permissions.can_manage_positions(current_user):
        abort(403)
    form, _unused = _position_forms(PositionForm())
    if form.validate_on_submit():
        try:
            department = db.session.get(Department, int(form.department.data))
            position = services.create_position(
                current_user,
                department,
                form.name.data,
                codes(form.documents.data),
                form.competences.data,
                form.description.data or "",
            )
        except ServiceError as exc:
            show_error(form, exc)
        else:
            flash(_("Position %(name)s added.", name=position.name), "success")
            return redirect(url_for("training.position", position_id=position.id))
    return _positions_page(position_form=form, status=400)


@bp.post("/competences")
def create_competence():
    if not permissions.can_manage_positions(current_user):
        abort(403)
    form = CompetenceForm()
    if form.validate_on_submit():
        try:
            competence = services.create_competence(
                current_user,
                form.name.data,
                form.validity_months.data,
                form.description.data or "",
                evaluate_effectiveness=form.evaluate_effectiveness.data,
            )
        except ServiceError as exc:
            show_error(form, exc)
        else:
            flash(_("Competence %(name)s added.", name=competence.name), "success")
            return redirect(url_for("training.positions"))
    return _positions_page(competence_form=form, status=400)


def _position_page(position, requirements_form=None, holder_form=None, status=200):
    if not permissions.can_view_matrix(current_user):
        abort(403)
    if requirements_form is None:
        requirements_form = RequirementsForm(
            formdata=None,
            documents=", ".join(d.code for d in position.documents),
            competences=[c.name for c in position.competences],
        )
    requirements_form.competences.choices = _competence_choices()
    holder_form = holder_form or HolderForm(formdata=None)
    holding = {h.user_id for h in position.holders}
    people = db.session.scalars(
        select(User)
        .where(User.active.is_(True), User.department_id == position.department_id)
        .order_by(User.username)
    )
    holder_form.user.choices = options(
        (u.username, u.display_name) for u in people if u.id not in holding
    )
    return (
        render_template(
            "training/position.html",
            position=position,
            items=matrix.items_for([h.user for h in position.holders]),
            requirements_form=requirements_form,
            holder_form=holder_form,
        ),
        status,
    )


def _get_position(position_id: int):
    try:
        return services.get_position(position_id)
    except NotFound:
        abort(404)


@bp.get("/positions/<int:position_id>")
def position(position_id: int):
    """One position: what it needs, who holds it, and their training."""
    return _position_page(_get_position(position_id))


@bp.post("/positions/<int:position_id>/requirements")
def position_requirements(position_id: int):
    if not permissions.can_manage_positions(current_user):
        abort(403)
    position = _get_position(position_id)
    form = RequirementsForm()
    form.competences.choices = _competence_choices()
    if form.validate_on_submit():
        try:
            services.set_requirements(
                current_user, position, codes(form.documents.data), form.competences.data
            )
        except ServiceError as exc:
            show_error(form, exc)
        else:
            flash(_("Saved."), "success")
            return redirect(url_for("training.position", position_id=position_id))
    return _position_page(_get_position(position_id), requirements_form=form, status=400)


@bp.post("/positions/<int:position_id>/holders")
def add_holder(position_id: int):
    if not permissions.can_manage_positions(current_user):
        abort(403)
    position = _get_position(position_id)
    form = HolderForm()
    form.user.choices = options(
        (u.username, u.username)
        for u in db.session.scalars(select(User).where(User.active.is_(True)))
    )
    if form.validate_on_submit():
        try:
            services.assign_position(
                current_user, position, services.get_user(form.user.data), form.since.data
            )
        except ServiceError as exc:
            show_error(form, exc)
        else:
            flash(_("Saved."), "success")
            return redirect(url_for("training.position", position_id=position_id))
    return _position_page(position, holder_form=form, status=400)


@bp.post("/positions/<int:position_id>/holders/<username>/leave")
def remove_holder(position_id: int, username: str):
    if not permissions.can_manage_positions(current_user):
        abort(403)
    position = _get_position(position_id)
    try:
        services.leave_position(current_user, position, services.get_user(username))
    except ServiceError as exc:
        flash(exc.message, "error")
    else:
        flash(_("%(user)s no longer holds %(position)s.", user=username, position=position.name))
    return redirect(url_for("training.position", position_id=position_id))
