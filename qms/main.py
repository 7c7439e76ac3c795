"""The home page (each person's work) and the language switch."""

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from qms.i18n import LANGUAGES
from qms.navigation import NavItem, register_nav, work_panels
from qms.uow import unit_of_work
from qms.urls import safe_next

bp = Blueprint("main", __name__)
register_nav(NavItem("main.index", _l("My work"), ("main.index",), order=0))


@bp.get("/")
def index():
    """Show the signed-in user their work, gathered from every domain."""
    return render_template("main/index.html", panels=work_panels(current_user))


# A POST: a link or an image elsewhere must not be able to change stored state.
@bp.post("/language/<lang>")
def set_language(lang: str):
    """Switch the interface language and remember it for the user."""
    if lang in LANGUAGES:
        session["locale"] = lang
        if current_user.is_authenticated:
            with unit_of_work():
                current_user.locale = lang
    return redirect(safe_next(request.form.get("next")) or url_for("main.index"))
