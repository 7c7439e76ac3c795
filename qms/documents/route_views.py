"""Pages for approval routes per document type (administrators) and delegations."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from qms import clock
from qms.auth.labels import role_label
from qms.auth.models import ROLES, User
from qms.documents import services
from qms.documents.forms import DelegationForm
from qms.documents.labels import meaning_label, type_label
from qms.documents.models import DOC_TYPES, Delegation
from qms.errors import ServiceError
from qms.extensions import db
from qms.forms import options, show_error

bp = Blueprint("routes", __name__, url_prefix="/documents")
STEP_FIELDS = ("meaning", "role", "user")


def _people() -> list[User]:
    return list(
        db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.username))
    )


def _rows(doc_type: str) -> list[services.StepSpec]:
    """The steps as the administrator typed them, in order."""
    form = request.form
    return [
        services.StepSpec(*(form.get(f"{doc_type}-{n}-{name}", "") for name in STEP_FIELDS))
        for n in range(1, services.MAX_STEPS + 1)
    ]


def _routes_page(typed: dict | None = None, status: int = 200):
    routes = services.all_routes()
    return render_template(
        "documents/routes.html",
        doc_types=DOC_TYPES,
        routes=routes,
        typed=typed or {},
        max_steps=services.MAX_STEPS,
        meanings=[(m, meaning_label(m)) for m in services.STEP_MEANINGS],
        roles=[(r, role_label(r)) for r in ROLES],
        people=_people(),
        type_label=type_label,
        role_label=role_label,
    ), status


@bp.get("/routes")
def routes():
    """The approval route of each document type, and the default for the others."""
    if not services.can_configure_routes(current_user):
        abort(403)
    return _routes_page()


@bp.post("/routes/<doc_type>")
def set_route(doc_type: str):
    """Replace one document type's route (no steps: back to the default)."""
    if not services.can_configure_routes(current_user):
        abort(403)
    if doc_type not in DOC_TYPES:
        abort(404)
    rows = _rows(doc_type)
    try:
        services.set_route(current_user, doc_type, rows)
    except ServiceError as exc:
        flash(exc.message, "error")
        return _routes_page({doc_type: rows}, 422)
    flash(_("The route of %(type)s is saved.", type=type_label(doc_type)), "success")
    return redirect(url_for(".routes"))


def _delegation_form(form: DelegationForm | None = None) -> DelegationForm:
    form = form or DelegationForm()
    people = options((u.username, u.display_name) for u in _people())
    form.delegate.choices = people
    if services.can_configure_routes(current_user):
        form.delegator.choices = people
    else:
        form.delegator.choices = options([(current_user.username, current_user.display_name)])
    if not form.is_submitted():
        form.delegator.data = current_user.username
        form.starts_on.data = clock.today()
    return form


def _delegations_page(form: DelegationForm | None = None, status: int = 200):
    everyone = services.can_configure_routes(current_user)
    rows = services.delegations_of(None if everyone else current_user)
    return render_template(
        "documents/delegations.html",
        delegations=rows,
        form=_delegation_form(form),
        today=clock.today(),
    ), status


@bp.get("/delegations")
def delegations():
    """The user's delegations given and received (an administrator sees all of them)."""
    return _delegations_page()


@bp.post("/delegations")
def add_delegation():
    """Hand one's signatures to someone else for a period."""
    form = _delegation_form()
    if not form.validate_on_submit():
        return _delegations_page(form, 422)
    people = {u.username: u for u in _people()}
    delegator, delegate = people.get(form.delegator.data), people.get(form.delegate.data)
    if delegator is None or delegate is None:
        abort(422)
    try:
        services.delegate(
            current_user,
            delegator,
            delegate,
            form.starts_on.data,
            form.ends_on.data,
            form.reason.data,
        )
    except ServiceError as exc:
        show_error(form, exc)
        return _delegations_page(form, 422)
    flash(
        _(
            "%(name)s signs for %(whom)s from %(start)s to %(end)s.",
            name=delegate.display_name,
            whom=delegator.display_name,
            start=form.starts_on.data,
            end=form.ends_on.data,
        ),
        "success",
    )
    return redirect(url_for(".delegations"))


@bp.post("/delegations/<int:ident>/revoke")
def revoke_delegation(ident: int):
    """End a delegation now."""
    row = db.session.get(Delegation, ident) or abort(404)
    try:
        services.revoke(current_user, row)
    except ServiceError as exc:
        flash(exc.message, "error")
    else:
        flash(_("The delegation is ended."), "success")
    return redirect(url_for(".delegations"))
