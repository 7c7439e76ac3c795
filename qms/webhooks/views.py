"""Administrators' pages for outgoing webhooks: subscriptions, their deliveries, tests."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from qms import trail
from qms.documents import services as documents
from qms.errors import ServiceError
from qms.forms import options, show_error
from qms.navigation import NavItem, register_nav
from qms.webhooks import labels, permissions, services
from qms.webhooks.forms import SubscriptionForm
from qms.webhooks.models import EVENTS, STATES

bp = Blueprint("webhooks", __name__, url_prefix="/admin/webhooks")
register_nav(
    NavItem(
        "webhooks.index", _l("Webhooks"), ("webhooks.",), order=92, visible=permissions.can_manage
    )
)
# A released revision is announced to the receivers (inside the release's unit of work;
# the deliveries go out after it commits).
documents.on_revision(services.on_revision)


@bp.before_request
def admins_only():
    # Every page here shows or changes where quality data is sent.
    if not permissions.can_manage(current_user):
        abort(403)


@bp.app_context_processor
def template_helpers():
    """Give the webhook templates their labels and rules."""
    return {
        "webhook_event_label": labels.event_label,
        "webhook_state_label": labels.state_label,
        "webhook_state_badge": labels.state_badge,
        "webhook_rules": permissions,
    }


def _form(form: SubscriptionForm | None = None) -> SubscriptionForm:
    form = form or SubscriptionForm()
    form.events.choices = options((e, labels.event_label(e)) for e in EVENTS)
    return form


def _index(form: SubscriptionForm | None = None, status: int = 200):
    subs = services.list_subscriptions(current_user)
    return render_template(
        "webhooks/index.html",
        subscriptions=subs,
        latest=services.latest_deliveries(subs),
        form=_form(form),
    ), status


@bp.get("/")
def index():
    """List the webhook subscriptions with their last deliveries."""
    return _index()


@bp.post("/")
def add():
    """Add a subscription and show its secret, this once."""
    form = _form()
    if not form.validate_on_submit():
        return _index(form, 422)
    try:
        sub = services.create_subscription(
            current_user,
            form.url.data,
            form.events.data,
            description=form.description.data,
            active=form.active.data,
        )
    except ServiceError as exc:
        show_error(form, exc)
        return _index(form, exc.status)
    # Not a redirect: the secret is never shown again, nor kept in the session to show;
    # nor kept by a cache on the way.
    page = render_template("webhooks/created.html", subscription=sub)
    return page, 201, {"Cache-Control": "no-store"}


def _detail(sub, form: SubscriptionForm | None = None, code: int = 200):
    if form is None:
        form = _form(
            SubscriptionForm(
                formdata=None,
                url=sub.url,
                description=sub.description,
                events=sub.events,
                active=sub.active,
            )
        )
    return render_template(
        "webhooks/detail.html",
        subscription=sub,
        form=form,
        deliveries=services.list_deliveries(current_user, subscription=sub, limit=50),
        events=trail.events_for("webhook", str(sub.id)),
    ), code


@bp.get("/<int:ident>")
def detail(ident: int):
    """Show a subscription: its settings, its delivery log, and how to verify signatures."""
    return _detail(services.get_subscription(current_user, ident))


@bp.post("/<int:ident>")
def change(ident: int):
    """Change a subscription's address, events, description or active flag."""
    sub = services.get_subscription(current_user, ident)
    form = _form()
    if not form.validate_on_submit():
        return _detail(sub, form=form, code=422)
    try:
        services.change_subscription(
            current_user,
            sub,
            url=form.url.data,
            events=form.events.data,
            description=form.description.data,
            active=form.active.data,
        )
    except ServiceError as exc:  # the unit of work rolled the changes back
        show_error(form, exc)
        return _detail(services.get_subscription(current_user, ident), form=form, code=exc.status)
    flash(_("Saved."), "success")
    return redirect(url_for("webhooks.detail", ident=ident))


@bp.post("/<int:ident>/delete")
def delete(ident: int):
    """Delete a subscription and its delivery log."""
    services.delete_subscription(current_user, services.get_subscription(current_user, ident))
    flash(_("The webhook is deleted."), "success")
    return redirect(url_for("webhooks.index"))


@bp.post("/<int:ident>/test")
def send_test(ident: int):
    """Send a test event to the subscription's address."""
    sub = services.get_subscription(current_user, ident)
    try:
        services.send_test(current_user, sub)
    except ServiceError as exc:
        flash(exc.message, "error")
        return redirect(url_for("webhooks.detail", ident=ident))
    flash(_("A test event is on its way; its delivery shows below."), "success")
    return redirect(url_for("webhooks.detail", ident=ident))


@bp.get("/deliveries")
def deliveries():
    """List the newest deliveries of every subscription, by state."""
    state = request.args.get("state") or None
    state = state if state in STATES else None
    return render_template(
        "webhooks/deliveries.html",
        deliveries=services.list_deliveries(current_user, state=state),
        state=state,
        states=STATES,
    )


@bp.post("/deliveries/<int:ident>/resend")
def resend(ident: int):
    """Send a failed delivery again."""
    row = services.get_delivery(current_user, ident)
    try:
        services.send_again(current_user, row)
    except ServiceError as exc:
        flash(exc.message, "error")
    else:
        flash(_("The delivery is sent again."), "success")
    back = request.form.get("back")
    if back == "log":
        return redirect(url_for("webhooks.deliveries"))
    return redirect(url_for("webhooks.detail", ident=row.subscription_id))
