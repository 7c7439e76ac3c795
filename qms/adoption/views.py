"""Pages for upstream subscriptions, adopting upstream documents and taking in their changes."""

import click
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.cli import with_appcontext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from qms.adoption import services
from qms.adoption.forms import AdoptForm, ButtonForm, SubscribeForm
from qms.auth.models import Department
from qms.documents import rendering
from qms.documents import services as documents
from qms.errors import ServiceError, ValidationFailed
from qms.extensions import db
from qms.forms import options, show_error
from qms.navigation import NavItem, register_nav

bp = Blueprint("adoption", __name__, url_prefix="/adoption")
register_nav(
    NavItem(
        "adoption.index",
        _l("Upstream standards"),
        ("adoption.",),
        order=80,
        visible=services.can_view,
    )
)
documents.add_release_trailers(services.release_trailers)


@bp.app_context_processor
def provenance_helpers():
    """Let the document and change request pages show where upstream text came from."""
    return {
        "adoption_provenance": services.provenance,
        "upstream_change_for": services.change_for,
        "upstream_redline": services.change_redline,
        "adoption_button_form": ButtonForm,
        "adoption_rules": services.RULES,
    }


def _require_viewer() -> None:
    if not services.can_view(current_user):
        abort(403)


@bp.route("/", methods=["GET", "POST"])
def index():
    """List the upstream subscriptions; admins add one or check them all for changes."""
    _require_viewer()
    form = SubscribeForm()
    if form.validate_on_submit():
        try:
            sub = services.subscribe(current_user, form.name.data, form.url.data)
        except ServiceError as exc:
            show_error(form, exc)
        else:
            flash(_("Subscribed to %(name)s.", name=sub.name), "success")
            return redirect(url_for("adoption.upstream", name=sub.name))
    return render_template(
        "adoption/index.html",
        form=form,
        subscriptions=services.subscriptions(),
        changes=services.recent_changes(),
        button=ButtonForm(),
    )


@bp.post("/sync")
def sync():
    """Fetch every upstream and raise a change request for each newer adopted revision."""
    if not ButtonForm().validate_on_submit():
        abort(400)
    try:
        raised = services.sync(current_user)
    except ServiceError as exc:
        flash(exc.message, "error")
    else:
        failed = [s.name for s in services.subscriptions() if s.last_error]
        if failed:
            flash(_("Could not fetch: %(names)s.", names=", ".join(failed)), "error")
        flash(
            _("%(num)d change request(s) raised.", num=len(raised)),
            "success" if raised else "info",
        )
    return redirect(url_for("adoption.index"))


@bp.get("/<name>/")
def upstream(name: str):
    """List an upstream's documents and their revisions, and what was adopted here."""
    _require_viewer()
    sub = services.get_subscription(name)
    return render_template(
        "adoption/upstream.html",
        sub=sub,
        docs=services.upstream_documents(sub),
        button=ButtonForm(),
    )


@bp.post("/<name>/fetch")
def fetch(name: str):
    """Fetch the upstream repository now."""
    sub = services.get_subscription(name)
    if not ButtonForm().validate_on_submit():
        abort(400)
    try:
        ok = services.fetch(current_user, sub)
    except ServiceError as exc:
        flash(exc.message, "error")
    else:
        if ok:
            flash(_("%(name)s is up to date.", name=name), "success")
        else:
            flash(
                _("Could not fetch %(name)s: %(error)s", name=name, error=sub.last_error), "error"
            )
    return redirect(url_for("adoption.upstream", name=name))


@bp.post("/<name>/end")
def end(name: str):
    """Stop following an upstream."""
    return _change_following(name, services.end, _("%(name)s is no longer followed.", name=name))


@bp.post("/<name>/resume")
def resume(name: str):
    """Follow an ended upstream again."""
    return _change_following(name, services.resume, _("%(name)s is followed again.", name=name))


def _change_following(name: str, action, done: str):
    sub = services.get_subscription(name)
    if not ButtonForm().validate_on_submit():
        abort(400)
    try:
        action(current_user, sub)
    except ServiceError as exc:
        flash(exc.message, "error")
    else:
        flash(done, "success")
    return redirect(url_for("adoption.upstream", name=name))


def _adopt_form(rev) -> AdoptForm:
    form = AdoptForm()
    form.mode.choices = options(
        [("new", _("A new local document")), ("revise", _("A new revision of a local document"))]
    )
    docs = db.session.scalars(documents.list_documents()).all()
    form.parent.choices = options(
        [("", _("None"))] + [(d.code, f"{d.code} {d.title}") for d in docs]
    )
    form.into.choices = options(
        [("", _("Choose…"))]
        + [(d.code, f"{d.code} {d.title}") for d in docs if d.doc_type == rev.doc_type]
    )
    form.department.choices = options(
        [("", _("Mine"))]
        + [
            (d.name, d.name)
            for d in db.session.scalars(select(Department).order_by(Department.name))
        ]
    )
    if request.method == "GET":
        same = next((d for d in docs if d.code == rev.code), None)
        if same is not None and same.doc_type == rev.doc_type:
            form.mode.data, form.into.data = "revise", same.code
    return form


@bp.route("/<name>/<code>/<label>", methods=["GET", "POST"])
def adopt(name: str, code: str, label: str):
    """Show an upstream revision and copy it into a local draft."""
    _require_viewer()
    sub = services.get_subscription(name)
    rev = services.upstream_revision(sub, code, label)
    form = _adopt_form(rev)
    if form.validate_on_submit():
        revise = form.mode.data == "revise"
        try:
            if revise and not form.into.data:
                raise ValidationFailed(_("Choose the local document to revise."), field="into")
            local = services.adopt(
                current_user,
                sub,
                code,
                label,
                local_code=None if revise else form.local_code.data,
                into=form.into.data if revise else None,
                parent=None if revise else form.parent.data,
                department=None if revise else form.department.data,
            )
        except ServiceError as exc:
            show_error(form, exc)
        else:
            flash(
                _(
                    "%(code)s revision %(rev)s is a draft with the upstream text; "
                    "submit it for review and approval.",
                    code=local.document.code,
                    rev=local.label,
                ),
                "success",
            )
            return redirect(url_for("documents.detail", code=local.document.code))
    text = services.upstream_text(rev.blob)
    return render_template(
        "adoption/adopt.html",
        sub=sub,
        rev=rev,
        form=form,
        html=rendering.preview(text),
    )


@bp.post("/changes/<int:change_id>/take-in")
def take_in(change_id: int):
    """Open a draft from the newer upstream text under its accepted change request."""
    change = services.get_change(change_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    try:
        local = services.take_in(current_user, change)
    except ServiceError as exc:
        flash(exc.message, "error")
        return redirect(url_for("documents.change_request", number=change.change_request))
    flash(
        _("Draft %(rev)s opened from the upstream text.", rev=local.label),
        "success",
    )
    return redirect(url_for("documents.detail", code=change.document_code))


@click.command("upstream-sync")
@click.option("--as", "username", default=None, help="Admin raising the change requests.")
@with_appcontext
def upstream_sync(username):
    """Fetch every upstream and raise change requests for newer adopted revisions."""
    try:
        raised = services.sync_all(username)
    except ServiceError as exc:
        raise click.ClickException(exc.message) from exc
    for sub in services.subscriptions():
        if sub.last_error:
            click.echo(f"{sub.name}: could not fetch: {sub.last_error}", err=True)
    for change in raised:
        click.echo(
            f"{change.change_request}: {change.document_code} <- {change.upstream_code} "
            f"{change.from_revision} -> {change.to_revision}"
        )
    if not raised:
        click.echo("No upstream changes to adopted documents.")
