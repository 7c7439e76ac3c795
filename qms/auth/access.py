"""Who may see what: login everywhere, roles on actions, bearer tokens for the API."""

import time
from functools import wraps

from flask import abort, g, redirect, request, session, url_for
from flask_login import current_user, logout_user

from qms.extensions import db, login_manager

PUBLIC_ENDPOINTS = {"static", "auth.login", "main.set_language", "health.healthz"}
#: What never touches the session: files, and the health check (which must answer
#: without loading a user, the database being one of the things it checks).
SESSIONLESS_ENDPOINTS = {"static", "health.healthz"}
#: What a user who must change their password may still reach.
PASSWORD_ENDPOINTS = {"auth.password", "auth.logout"}


def init_app(app) -> None:
    """Install the login manager and the login-everywhere rule."""
    from qms.auth.models import User

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def load_user(user_id: str):
        # "id:version": a cookie from before the user's last sign-out names an old version.
        ident, _sep, version = user_id.partition(":")
        if not ident.isdigit() or not version.isdigit():
            return None
        user = db.session.get(User, int(ident))
        if user is None or not user.active or user.session_version != int(version):
            return None
        return user

    @app.before_request
    def end_idle_session():
        # A session unused for QMS_IDLE_TIMEOUT ends; the remember-me cookie ends with it.
        if request.endpoint in SESSIONLESS_ENDPOINTS or request.path.startswith("/api/"):
            return None
        now = int(time.time())
        last = session.get("_seen")
        limit = app.config["QMS_IDLE_TIMEOUT"].total_seconds()
        if last is not None and now - last > limit and current_user.is_authenticated:
            logout_user()
            session.pop("_seen", None)
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        if current_user.is_authenticated:
            session["_seen"] = now
        return None

    @app.before_request
    def require_login():
        # The API authenticates by bearer token on its own; everything else needs a session.
        if request.endpoint in PUBLIC_ENDPOINTS or request.path.startswith("/api/"):
            return None
        if request.endpoint is None:
            return None  # a 404 is rendered by the error handler
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        if current_user.must_change_password and request.endpoint not in PASSWORD_ENDPOINTS:
            # An administrator set this password: the user chooses their own first.
            return redirect(url_for("auth.password"))
        return None


def role_required(*roles: str):
    """Refuse the view with 403 unless the user holds one of ``roles``."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def api_user():
    """Return the user the current API request authenticated as."""
    return g.api_user
