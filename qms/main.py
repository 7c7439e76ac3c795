"""The home page (each person's work) and the language switch."""

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_login import current_user

from qms.documents import services as documents
from qms.extensions import db
from qms.i18n import LANGUAGES
from qms.urls import safe_next

bp = Blueprint("main", __name__)


@bp.get("/")
def index():
    """Show the signed-in user their work: reading list, reviews, drafts, due reviews."""
    return render_template(
        "main/index.html",
        reading=documents.reading_list(current_user),
        work=documents.work_for(current_user),
    )


@bp.get("/language/<lang>")
def set_language(lang: str):
    """Switch the interface language and remember it for the user."""
    if lang in LANGUAGES:
        session["locale"] = lang
        if current_user.is_authenticated:
            current_user.locale = lang
            db.session.commit()
    return redirect(safe_next(request.args.get("next")) or url_for("main.index"))
