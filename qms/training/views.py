"""Pages for the training matrix, training records and the revision training mark."""

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from qms import spreadsheets
from qms.auth.models import Department, User
from qms.documents import services as documents
from qms.errors import NotFound, ServiceError
from qms.extensions import db
from qms.forms import options, show_error
from qms.navigation import NavItem, register_nav, register_work
from qms.training import labels, matrix, permissions, services
from qms.training.forms import MarkForm, RecordForm
from qms.training.models import METHODS, RESULTS, Competence

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
    data = spreadsheets.to_xlsx(header, rows, _("Training matrix"))
    return Response(
        data,
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": "attachment; filename=training-matrix.xlsx"},
    )


@bp.route("/records", methods=["GET", "POST"])
def records():
    """List training records and record a new one."""
    if not permissions.can_view_matrix(current_user):
        listed = services.list_records(user_id=current_user.id)
        return render_template("training/records.html", records=listed, form=None)
    form = RecordForm()
    people = db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.username))
    form.user.choices = options((u.username, u.display_name) for u in people)
    comps = db.session.scalars(select(Competence).order_by(Competence.name))
    form.competence.choices = options([("", "—")] + [(c.name, c.name) for c in comps])
    form.method.choices = options((m, labels.method_label(m)) for m in METHODS)
    form.result.choices = options((r, labels.result_label(r)) for r in RESULTS)
    if form.validate_on_submit():
        if not permissions.can_record(current_user):
            abort(403)
        upload = form.evidence.data
        try:
            record = services.record_training(
                current_user,
                services.get_user(form.user.data),
                form.trained_on.data,
                form.trainer.data,
                form.method.data,
                form.result.data,
                document_code=form.document.data or None,
                revision_label=form.revision.data or None,
                competence_name=form.competence.data or None,
                valid_until=form.valid_until.data,
                note=form.note.data,
                evidence=upload.stream if upload and upload.filename else None,
                evidence_name=upload.filename if upload else None,
            )
        except ServiceError as exc:
            show_error(form, exc)
        else:
            flash(_("Training %(number)s recorded.", number=record.number), "success")
            return redirect(url_for("training.records"))
    return render_template("training/records.html", records=services.list_records(), form=form)


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
            services.mark_revision(current_user, rev, form.needs_training.data, form.due_days.data)
        except NotFound as exc:
            flash(exc.message, "error")
        except ServiceError as exc:
            show_error(form, exc)
        else:
            flash(_("Saved."), "success")
            return redirect(url_for("training.index"))
    return render_template("training/mark.html", form=form)
