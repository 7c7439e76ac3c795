"""Admin pages: import an existing system with a dry run and a progress bar; mirror status."""

import io

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from qms.errors import ServiceError
from qms.navigation import NavItem, register_nav
from qms.transfer import mirror, services
from qms.transfer.forms import ConfirmForm, ImportForm, PushForm
from qms.transfer.importing import Plan

bp = Blueprint("transfer", __name__, url_prefix="/transfer")
register_nav(
    NavItem("transfer.status", _l("Import and mirror"), ("transfer.",), order=90, roles=("admin",))
)
# Anyone who may read a document may fetch the file it was imported from.
OPEN_TO_ALL = {"transfer.original"}
STAGES = {
    "converting": _l("Converting the files"),
    "checking": _l("Checking the rules"),
    "writing": _l("Writing to the repository"),
    "recording": _l("Recording in the register"),
}


JOB_STATUS = {
    "queued": _l("waiting"),
    "checking": _l("checking"),
    "checked": _l("checked"),
    "importing": _l("importing"),
    "done": _l("imported"),
    "failed": _l("failed"),
}


@bp.before_request
def admins_only():
    """Keep the import and mirror pages to administrators."""
    if request.endpoint not in OPEN_TO_ALL and not current_user.has_role("admin"):
        abort(403)


@bp.get("/")
def status():
    """Show the mirror's pushes and the recent imports."""
    return render_template(
        "transfer/status.html",
        mirror=mirror.status(),
        jobs=services.recent_jobs(),
        job_status=JOB_STATUS,
        push_form=PushForm(),
    )


@bp.post("/mirror/push")
def push():
    """Push main and the tags to the mirror now."""
    if PushForm().validate_on_submit():
        if mirror.mirror_url() is None:
            flash(_("No mirror is configured (QMS_MIRROR_URL)."), "error")
        else:
            mirror.queue_push()
            flash(_("The push was handed to the job worker; its result shows below."), "info")
    return redirect(url_for("transfer.status"))


@bp.route("/import", methods=["GET", "POST"])
def import_start():
    """Upload a zip or documents (and a mapping) and start the dry run."""
    # A whole system in one zip is larger than any single request the app otherwise takes.
    request.max_content_length = current_app.config.get("QMS_MAX_IMPORT_BYTES", 1024 * 2**20)
    form = ImportForm()
    if form.validate_on_submit():
        uploads = [(f.filename, f.read()) for f in form.files.data or [] if f and f.filename]
        mapping = form.mapping.data
        try:
            job = services.create_job(
                current_user,
                uploads,
                (mapping.filename, mapping.read()) if mapping and mapping.filename else None,
                form.pattern.data,
            )
        except ServiceError as exc:
            field = getattr(form, exc.field or "", None)
            if field is not None:
                field.errors = [*field.errors, exc.message]
            else:
                flash(exc.message, "error")
        else:
            return redirect(url_for("transfer.job", job_id=job.id))
    return render_template("transfer/import.html", form=form)


@bp.app_context_processor
def original_helpers():
    """Let the document page link the file a document was imported from."""
    return {"imported_originals": services.originals_of}


@bp.get("/import/<int:job_id>")
def job(job_id: int):
    """Show an import: its progress, the dry run's plan and problems, or its result."""
    job = services.get_job(job_id)
    plan = Plan.from_dict(job.plan) if job.plan else None
    stage, done, total = services.live_progress(job)
    return render_template(
        "transfer/job.html",
        job=job,
        plan=plan,
        originals={o.document_code: o for o in services.originals_of_job(job.id)},
        stalled=services.stalled(job),
        stage=STAGES.get(stage, ""),
        done=done,
        total=total,
        form=ConfirmForm(),
    )


@bp.get("/import/<int:job_id>/progress")
def progress(job_id: int):
    """Return an import's progress as JSON, for the page's progress bar."""
    job = services.get_job(job_id)
    stage, done, total = services.live_progress(job)
    return jsonify(
        status=job.status,
        stage=str(STAGES.get(stage, "")),
        done=done,
        total=total,
        finished=not job.running,
    )


@bp.post("/import/<int:job_id>/run")
def run(job_id: int):
    """Import the checked files, in the background."""
    job = services.get_job(job_id)
    if ConfirmForm().validate_on_submit():
        try:
            services.confirm(current_user, job)
        except ServiceError as exc:
            flash(exc.message, "error")
    return redirect(url_for("transfer.job", job_id=job_id))


@bp.get("/originals/<int:original_id>")
def original(original_id: int):
    """Download the file a document was imported from."""
    original, data = services.original_file(original_id)
    return send_file(io.BytesIO(data), download_name=original.filename, as_attachment=True)
