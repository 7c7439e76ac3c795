"""The notices page and the home page's panel of unread notices."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import ngettext
from flask_login import current_user

from qms.documents import services as documents
from qms.navigation import register_work
from qms.notifications import services

bp = Blueprint("notifications", __name__, url_prefix="/notices")

documents.on_workflow(services.on_workflow)
documents.on_revision(services.on_revision)


def panel(user) -> list[dict]:
    """Home-page panel: the unread notices, newest first, when there are any."""
    notices = services.unread(user)
    if not notices:
        return []
    # Counted in SQL every time: a page's queries do not depend on how many there are.
    count = services.unread_count(user)
    return [{"template": "notifications/_panel.html", "notices": notices, "count": count}]


# First: what the workflow asks of the user today.
register_work(5, panel)


@bp.app_context_processor
def template_helpers():
    return {"notice_title": services.title, "notice_url": services.url}


@bp.get("/")
def index():
    """All the user's notices, newest first, read or not."""
    page = request.args.get("page", 1, type=int)
    notices = services.notices_of(current_user, page)
    return render_template("notifications/index.html", notices=notices)


@bp.post("/read")
def read():
    """Mark the chosen notices (or all of them) read; only the user's own are touched."""
    ids = [int(i) for i in request.form.getlist("notice") if i.isdigit()]
    count = services.mark_read(current_user, ids or None)
    flash(ngettext("%(num)d notice marked read.", "%(num)d notices marked read.", count), "success")
    if request.form.get("back") == "home":
        return redirect(url_for("main.index"))
    return redirect(url_for(".index"))
