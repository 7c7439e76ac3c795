"""Sign in, sign out and the user's own profile."""

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from qms.auth.forms import ActionForm, LoginForm, PasswordForm, ProfileForm, TokenForm
from qms.auth.ldap import DirectoryUnavailable
from qms.auth.services import (
    AccountError,
    AccountLocked,
    PasswordRejected,
    authenticate,
    change_password,
    create_token,
    end_sessions,
    record_sign_in,
    revoke_token,
    tokens_of,
    update_profile,
)
from qms.security import sign_in_per_account, sign_in_per_address
from qms.urls import safe_next

bp = Blueprint("auth", __name__, url_prefix="/auth")


@bp.route("/login", methods=["GET", "POST"])
@sign_in_per_account
@sign_in_per_address
def login():
    """Sign in with username and password."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = authenticate(form.username.data, form.password.data)
        except AccountLocked:
            user = None
            form.password.errors.append(
                _("This account is locked after too many wrong passwords. Ask an administrator.")
            )
        except DirectoryUnavailable:
            user = None
            form.password.errors.append(
                _(
                    "The directory server cannot be reached, so directory accounts cannot"
                    " sign in just now. Try again later or ask an administrator."
                )
            )
        else:
            if user is None:
                # One message for both cases, so the form does not reveal which usernames exist.
                form.password.errors.append(_("The username or password is not correct."))
        if user is not None:
            # A fresh session: nothing set before sign-in (by anyone) is carried into it.
            locale = session.get("locale")
            session.clear()
            if locale:
                session["locale"] = locale
            login_user(user, remember=form.remember.data)
            record_sign_in(user)
            return redirect(safe_next(request.args.get("next")) or url_for("main.index"))
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
def logout():
    """Sign out, ending this session and every remember-me cookie of the account."""
    if current_user.is_authenticated:
        end_sessions(current_user)
    logout_user()
    session.clear()
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password():
    """Change one's own password; the current one must be given."""
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            change_password(current_user, form.current.data, form.new.data)
        except PasswordRejected as exc:
            form[exc.field].errors.append(str(exc))
        else:
            # The change ended every session, this one too: sign in again at once.
            login_user(current_user._get_current_object())
            flash(_("Your password is changed."), "success")
            return redirect(url_for("auth.profile"))
    return render_template("auth/password.html", form=form)


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile():
    """Edit one's own name, email and language."""
    form = ProfileForm(obj=current_user)
    if form.validate_on_submit():
        update_profile(current_user, form.full_name.data, form.email.data, form.locale.data)
        flash(_("Your profile is saved."), "success")
        return redirect(url_for("auth.profile"))
    return render_template("auth/profile.html", form=form)


@bp.route("/tokens", methods=["GET", "POST"])
@login_required
def tokens():
    """List one's own API tokens and create a new one, shown once."""
    form = TokenForm()
    secret = None
    if form.validate_on_submit():
        try:
            secret = create_token(current_user, form.days.data, form.label.data)
        except AccountError as exc:
            form.days.errors.append(str(exc))
        else:
            flash(_("Copy the token now: it is not shown again."), "success")
            form = TokenForm(formdata=None)
    return render_template(
        "auth/tokens.html",
        form=form,
        secret=secret,
        tokens=tokens_of(current_user),
        action_form=ActionForm(),
    ), (422 if form.errors else 200)


@bp.post("/tokens/<int:token_id>/revoke")
@login_required
def revoke_own_token(token_id):
    """Revoke one of one's own API tokens."""
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        revoke_token(current_user, token_id, by=current_user)
    except AccountError:
        abort(404)
    flash(_("The token is revoked."), "success")
    return redirect(url_for("auth.tokens"))
