"""Pages for the context registers: issues, interested parties and legal requirements."""

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from qms import spreadsheets, trail
from qms.auth.models import User
from qms.context import labels, permissions, services
from qms.context.forms import IssueForm, LegalForm, PartyForm
from qms.context.models import ISSUE_KINDS, LEGAL_STATUSES
from qms.documents import services as documents
from qms.errors import ServiceError
from qms.extensions import db
from qms.forms import codes, options, show_error
from qms.navigation import NavItem, register_nav

bp = Blueprint("context", __name__, url_prefix="/context")
register_nav(NavItem("context.index", _l("Context"), ("context.",), order=62))


@bp.app_context_processor
def template_helpers():
    """Give this domain's templates its labels and rules."""
    return {
        "context_kind_label": labels.kind_label,
        "legal_status_label": labels.legal_status_label,
        "context_rules": permissions,
    }


def _people():
    users = db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.username))
    return options((u.username, u.display_name) for u in users)


def _forms(issue=None, party=None, legal=None):
    issue = issue or IssueForm(prefix="issue")
    issue.kind.choices = options((k, labels.kind_label(k)) for k in ISSUE_KINDS)
    party = party or PartyForm(prefix="party")
    legal = legal or LegalForm(prefix="legal")
    legal.status.choices = options((s, labels.legal_status_label(s)) for s in LEGAL_STATUSES)
    for form in (issue, party, legal):
        form.owner.choices = _people()
    return {"issue_form": issue, "party_form": party, "legal_form": legal}


def _scope_documents():
    """The documents in force that state the QMS scope (4.3) and its processes (4.4)."""
    found = {}
    for clause in ("4.3", "4.4"):
        stmt = documents.list_documents(clause=clause, status="effective")
        for doc in db.session.scalars(stmt):
            found.setdefault(doc.code, doc)
    return list(found.values())


def _render(status=200, **forms):
    return render_template(
        "context/index.html",
        scope_documents=_scope_documents(),
        issues=services.list_issues(),
        parties=services.list_parties(),
        legal=services.list_legal_requirements(),
        **_forms(**forms),
    ), status


@bp.get("/")
def index():
    """Show the registers of issues, interested parties and legal requirements."""
    return _render()


EXPORTS = {
    "issues": (
        lambda: services.list_issues(),
        lambda: [
            _("Number"),
            _("Kind"),
            _("Issue"),
            _("Description"),
            _("Owner"),
            _("Review date"),
        ],
        lambda i: [
            i.number,
            labels.kind_label(i.kind),
            i.title,
            i.description,
            i.owner.display_name,
            i.review_date.isoformat(),
        ],
        _l("Internal and external issues"),
    ),
    "parties": (
        lambda: services.list_parties(),
        lambda: [
            _("Number"),
            _("Interested party"),
            _("Needs and expectations"),
            _("Owner"),
            _("Review date"),
        ],
        lambda p: [p.number, p.name, p.needs, p.owner.display_name, p.review_date.isoformat()],
        _l("Interested parties"),
    ),
    "legal": (
        lambda: services.list_legal_requirements(),
        lambda: [
            _("Number"),
            _("Law, regulation or standard"),
            _("Article"),
            _("What it requires"),
            _("Implementing documents"),
            _("Status"),
            _("Owner"),
            _("Review date"),
        ],
        lambda r: [
            r.number,
            r.law,
            r.article,
            r.requirement,
            ", ".join(r.documents),
            labels.legal_status_label(r.status),
            r.owner.display_name,
            r.review_date.isoformat(),
        ],
        _l("Legal and other requirements"),
    ),
}


@bp.get("/<register>.xlsx")
def export(register: str):
    """One register as an XLSX workbook."""
    if register not in EXPORTS:
        abort(404)
    rows, header, row, title = EXPORTS[register]
    return spreadsheets.download(
        "xlsx", header(), [row(e) for e in rows()], f"context-{register}", title
    )


@bp.post("/<register>")
def add(register: str):
    """Add an entry to one of the registers."""
    if not permissions.can_manage(current_user):
        abort(403)
    forms = _forms()
    form = forms.get(f"{register}_form")
    if form is None:
        abort(404)
    if not form.validate_on_submit():
        return _render(422, **{register: form})
    try:
        if register == "issue":
            entry = services.add_issue(
                current_user,
                form.kind.data,
                form.title.data,
                form.owner.data,
                form.review_date.data,
                form.description.data,
            )
        elif register == "party":
            entry = services.add_party(
                current_user,
                form.name.data,
                form.needs.data,
                form.owner.data,
                form.review_date.data,
            )
        else:
            entry = services.add_legal_requirement(
                current_user,
                form.law.data,
                form.requirement.data,
                form.owner.data,
                form.review_date.data,
                form.article.data,
                codes(form.documents.data),
                form.status.data,
            )
    except ServiceError as exc:
        show_error(form, exc)
        return _render(exc.status, **{register: form})
    flash(_("%(number)s added.", number=entry.number), "success")
    return redirect(url_for("context.index"))


@bp.route("/legal/<number>", methods=["GET", "POST"])
def legal(number: str):
    """Show a legal requirement and change it (raising change requests where it says more)."""
    req = services.get_legal_requirement(number)
    form = LegalForm(
        obj=req,
        documents=", ".join(req.documents),
        owner=req.owner.username,
    )
    form.status.choices = options((s, labels.legal_status_label(s)) for s in LEGAL_STATUSES)
    form.owner.choices = _people()
    if form.validate_on_submit():
        if not permissions.can_manage(current_user):
            abort(403)
        try:
            raised = services.change_legal_requirement(
                current_user,
                req,
                form.reason.data,
                law=form.law.data,
                article=form.article.data,
                requirement=form.requirement.data,
                status=form.status.data,
                review_date=form.review_date.data,
                owner=form.owner.data,
                documents=codes(form.documents.data),
            )
        except ServiceError as exc:
            show_error(form, exc)
        else:
            if raised:
                flash(
                    _("Change requests raised: %(numbers)s", numbers=", ".join(raised)), "success"
                )
            else:
                flash(_("Saved."), "success")
            return redirect(url_for("context.legal", number=number))
    return render_template(
        "context/legal.html",
        req=req,
        form=form,
        events=trail.events_for("legal_requirement", req.number),
    )
