"""Sign in, sign out and the user's own profile."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from qms.auth.forms import LoginForm, ProfileForm
from qms.auth.services import authenticate, record_sign_in, update_profile
from qms.urls import safe_next

bp = Blueprint("auth", __name__, url_prefix="/auth")


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign in with username and password."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(form.username.data, form.password.data)
        if user is None:
            # One message for both cases, so the form does not reveal which usernames exist.
            form.password.errors.append(_("The username or password is not correct."))
        else:
            login_user(user, remember=form.remember.data)
            record_sign_in(user)
            return redirect(safe_next(request.args.get("next")) or url_for("main.index"))
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
def logout():
    """Sign out."""
    logout_user()
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"))


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
