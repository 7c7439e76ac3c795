"""Pages where administrators keep the accounts: list, reset, switch off, roles, tokens."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from qms import trail
from qms.auth import labels, permissions, services
from qms.auth.forms import ActionForm, DepartmentForm, ResetPasswordForm, RolesForm
from qms.auth.models import Department, User
from qms.extensions import db
from qms.navigation import NavItem, register_nav

bp = Blueprint("accounts", __name__, url_prefix="/admin/users")
register_nav(
    NavItem(
        "accounts.index",
        _l("Accounts"),
        ("accounts.",),
        order=90,
        visible=permissions.can_manage_users,
    )
)


@bp.before_request
def admins_only():
    # Every page here changes or shows other people's accounts.
    if not permissions.can_manage_users(current_user):
        abort(403)


@bp.app_context_processor
def template_helpers():
    """Give the account templates their labels and rules."""
    return {
        "role_label": labels.role_label,
        "roles_label": labels.roles_label,
        "token_state": services.token_state,
        "token_state_label": labels.token_state_label,
        "account_rules": permissions,
    }


@bp.get("/")
def index():
    """List the accounts, filtered by department and by on/off."""
    dept_id = request.args.get("department", type=int)
    state = request.args.get("state", "")
    query = select(User).order_by(User.username)
    if dept_id:
        query = query.where(User.department_id == dept_id)
    if state == "active":
        query = query.where(User.active.is_(True))
    elif state == "inactive":
        query = query.where(User.active.is_(False))
    people = db.session.scalars(query).all()
    return render_template(
        "auth/users.html",
        people=people,
        last_sign_ins=services.last_sign_ins(people),
        departments=db.session.scalars(select(Department).order_by(Department.name)).all(),
        department_id=dept_id,
        state=state,
    )


def _user(username: str) -> User:
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        abort(404)
    return user


def _page(user: User, **forms):
    roles = forms.pop("roles", None) or RolesForm(formdata=None, roles=sorted(user.roles))
    department = forms.pop("department", None) or DepartmentForm(
        formdata=None, department=user.department.name
    )
    return render_template(
        "auth/user.html",
        person=user,
        reset_form=forms.pop("reset", None) or ResetPasswordForm(formdata=None),
        roles_form=roles,
        department_form=department,
        action_form=ActionForm(),
        tokens=services.tokens_of(user),
        last_sign_in=services.last_sign_ins([user]).get(user.username),
        events=trail.events_for("user", user.username),
    )


@bp.get("/<username>")
def detail(username):
    """Show one account: its state, roles, department, tokens and trail."""
    return _page(_user(username))


def _done(user: User, message: str):
    flash(message, "success")
    return redirect(url_for("accounts.detail", username=user.username))


def _refused(user: User, exc: Exception):
    flash(str(exc), "error")
    return redirect(url_for("accounts.detail", username=user.username))


@bp.post("/<username>/password")
def reset_password(username):
    """Set a password the user must replace at the next sign-in."""
    user = _user(username)
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            services.reset_password(user, form.new.data, by=current_user)
        except services.PasswordRejected as exc:
            form.new.errors.append(str(exc))
        else:
            return _done(
                user,
                _(
                    "The password of %(name)s is reset; they choose their own at the next sign-in.",
                    name=user.username,
                ),
            )
    return _page(user, reset=form), 422


@bp.post("/<username>/active")
def set_active(username):
    """Switch the account on or off (off ends its sessions and stops its tokens)."""
    user = _user(username)
    if not ActionForm().validate_on_submit():
        abort(400)
    active = request.form.get("active") == "1"
    try:
        services.set_active(user, active, by=current_user)
    except services.AccountError as exc:
        return _refused(user, exc)
    if active:
        return _done(user, _("The account of %(name)s is switched on.", name=user.username))
    return _done(user, _("The account of %(name)s is switched off.", name=user.username))


@bp.post("/<username>/roles")
def set_roles(username):
    """Replace the roles the user holds."""
    user = _user(username)
    form = RolesForm()
    if form.validate_on_submit():
        try:
            services.set_roles(user, form.roles.data, by=current_user)
        except services.AccountError as exc:
            return _refused(user, exc)
        return _done(user, _("The roles of %(name)s are saved.", name=user.username))
    return _page(user, roles=form), 422


@bp.post("/<username>/department")
def set_department(username):
    """Move the user to another department (created when new)."""
    user = _user(username)
    form = DepartmentForm()
    if form.validate_on_submit():
        try:
            services.set_department(user, form.department.data, by=current_user)
        except services.AccountError as exc:
            form.department.errors.append(str(exc))
        else:
            return _done(
                user,
                _(
                    "%(name)s is now in %(department)s.",
                    name=user.username,
                    department=user.department.name,
                ),
            )
    return _page(user, department=form), 422


@bp.post("/<username>/unlock")
def unlock(username):
    """Lift the lockout after too many wrong passwords."""
    user = _user(username)
    if not ActionForm().validate_on_submit():
        abort(400)
    services.unlock(user, by=current_user)
    return _done(user, _("The account of %(name)s is unlocked.", name=user.username))


@bp.post("/<username>/tokens/<int:token_id>/revoke")
def revoke_token(username, token_id):
    """Revoke one of the user's API tokens."""
    user = _user(username)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        services.revoke_token(user, token_id, by=current_user)
    except services.AccountError:
        abort(404)
    return _done(user, _("The token is revoked."))
