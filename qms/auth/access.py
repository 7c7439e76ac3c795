"""Who may see what: login everywhere, roles on actions, bearer tokens for the API."""

from functools import wraps

from flask import abort, g, redirect, request, url_for
from flask_login import current_user

from qms.extensions import db, login_manager

PUBLIC_ENDPOINTS = {"static", "auth.login", "main.set_language"}


def init_app(app) -> None:
    """Install the login manager and the login-everywhere rule."""
    from qms.auth.models import User

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def load_user(user_id: str):
        user = db.session.get(User, int(user_id))
        return user if user and user.active else None

    @app.before_request
    def require_login():
        # The API authenticates by bearer token on its own; everything else needs a session.
        if request.endpoint in PUBLIC_ENDPOINTS or request.path.startswith("/api/"):
            return None
        if request.endpoint is None:
            return None  # a 404 is rendered by the error handler
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
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
