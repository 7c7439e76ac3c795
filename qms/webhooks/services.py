"""The rules of outgoing webhooks, for pages, API and the job runner alike.

- A subscription names an http(s) address, the events it wants (from :data:`EVENTS`) and
  a generated secret; only administrators keep subscriptions (:mod:`.permissions`).
- :func:`emit` stores one delivery per active subscription to the event, in the caller's
  unit of work, and hands it to the job runner once that commits: a refused or rolled-back
  operation sends nothing.
- The delivery job POSTs the stored body, signed; a 2xx answer delivers it, anything else
  is tried again with a growing delay, up to ``QMS_WEBHOOK_ATTEMPTS`` attempts, then it has
  failed and an administrator may send it again.

Nothing here commits: the outermost ``@transactional`` call owns the transaction.
"""

from __future__ import annotations

import json
import os
import secrets
import uuid
from datetime import date, datetime, timedelta
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import gettext as _
from huey import RetryTask
from sqlalchemy import delete, func, select

from qms import jobs, trail
from qms.auth.models import User
from qms.errors import NotFound, PermissionDenied, ValidationFailed
from qms.extensions import db
from qms.models import aware, utcnow
from qms.uow import transactional, unit_of_work
from qms.webhooks import delivery as http
from qms.webhooks.models import (
    EVENTS,
    TEST_EVENT,
    WebhookDelivery,
    WebhookMark,
    WebhookSubscription,
)
from qms.webhooks.permissions import can_manage, can_send_again

#: Defaults of the delivery settings (each may be set in the config or the environment).
ATTEMPTS = 6
RETRY_DELAY = 30  # seconds before the second attempt; doubled before each one after
TIMEOUT = 10  # seconds a receiver has to answer
MAX_URL = 2000


def _setting(name: str, default: float) -> float:
    value = current_app.config.get(name)
    if value in (None, ""):
        value = os.environ.get(name, default)
    return float(value)


def attempts_allowed() -> int:
    """How many times a delivery is tried before it has failed (``QMS_WEBHOOK_ATTEMPTS``)."""
    return max(1, int(_setting("QMS_WEBHOOK_ATTEMPTS", ATTEMPTS)))


def retry_delay(attempts: int) -> float:
    """Seconds to wait after the ``attempts``-th failed attempt (``QMS_WEBHOOK_RETRY_DELAY``)."""
    return _setting("QMS_WEBHOOK_RETRY_DELAY", RETRY_DELAY) * 2 ** max(0, attempts - 1)


# -- checking what is given -----------------------------------------------------------------


def _guard(actor: User) -> None:
    if not can_manage(actor):
        raise PermissionDenied(_("Only an administrator may keep webhooks."))


def validate_url(url: str | None) -> str:
    """Return the receiver's address if it is an http:// or https:// URL with a host.

    :raises ValidationFailed: any other address (``field="url"``).
    """
    url = (url or "").strip()
    message = _("Give the receiver's address as an http:// or https:// URL with a host name.")
    if not url or len(url) > MAX_URL or any(c.isspace() for c in url):
        raise ValidationFailed(message, field="url")
    try:
        parts = urlsplit(url)
        port = parts.port  # a port that is not a number raises here
    except ValueError:
        raise ValidationFailed(message, field="url") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValidationFailed(message, field="url")
    if port == 0:
        raise ValidationFailed(message, field="url")
    return url


def validate_events(events) -> list[str]:
    """Return the chosen events in the order of :data:`EVENTS`; at least one, all known."""
    if isinstance(events, str) or not events:
        raise ValidationFailed(_("Choose at least one event."), field="events")
    chosen = {str(e).strip() for e in events}
    unknown = sorted(chosen - set(EVENTS))
    if unknown:
        raise ValidationFailed(
            _("%(events)s: no such event.", events=", ".join(unknown)), field="events"
        )
    return [e for e in EVENTS if e in chosen]


def _description(text: str | None) -> str:
    return (text or "").strip()[:200]


def _snapshot(sub: WebhookSubscription) -> dict:
    # Never the secret: the trail is read by more people than keep webhooks.
    return {
        "url": sub.url,
        "description": sub.description,
        "events": sub.events,
        "active": sub.active,
    }


# -- subscriptions -----------------------------------------------------------------------------


def list_subscriptions(actor: User) -> list[WebhookSubscription]:
    """Return every subscription, newest first (administrators only)."""
    _guard(actor)
    stmt = select(WebhookSubscription).order_by(WebhookSubscription.id.desc())
    return list(db.session.scalars(stmt))


def get_subscription(actor: User, ident: int) -> WebhookSubscription:
    """Return subscription ``ident``; :raises NotFound: there is none."""
    _guard(actor)
    sub = db.session.get(WebhookSubscription, ident)
    if sub is None:
        raise NotFound(_("There is no webhook %(id)s.", id=ident))
    return sub


@transactional
def create_subscription(
    actor: User, url: str, events, description: str = "", active: bool = True
) -> WebhookSubscription:
    """Subscribe ``url`` to ``events``; its secret is generated here and shown once."""
    _guard(actor)
    sub = WebhookSubscription(
        url=validate_url(url),
        description=_description(description),
        secret=secrets.token_hex(32),
        active=bool(active),
        created_by_id=actor.id,
    )
    sub.events = validate_events(events)
    db.session.add(sub)
    db.session.flush()
    trail.record("webhook.created", "webhook", str(sub.id), after=_snapshot(sub), user=actor)
    return sub


@transactional
def change_subscription(actor: User, sub: WebhookSubscription, **changes) -> WebhookSubscription:
    """Change a subscription's address, events, description or active flag."""
    _guard(actor)
    unknown = set(changes) - {"url", "events", "description", "active"}
    if unknown:
        raise ValidationFailed(_("These cannot be changed: %(names)s", names=", ".join(unknown)))
    before = _snapshot(sub)
    if changes.get("url") is not None:
        sub.url = validate_url(changes["url"])
    if changes.get("events") is not None:
        sub.events = validate_events(changes["events"])
    if changes.get("description") is not None:
        sub.description = _description(changes["description"])
    if changes.get("active") is not None:
        sub.active = bool(changes["active"])
    after = _snapshot(sub)
    if after != before:
        sub.changed_at = utcnow()
        trail.record(
            "webhook.changed", "webhook", str(sub.id), before=before, after=after, user=actor
        )
    return sub


@transactional
def delete_subscription(actor: User, sub: WebhookSubscription) -> None:
    """Delete a subscription and its delivery log; a pending delivery is then not sent."""
    _guard(actor)
    before = _snapshot(sub)
    ident = sub.id
    db.session.execute(delete(WebhookDelivery).where(WebhookDelivery.subscription_id == ident))
    db.session.delete(sub)
    trail.record("webhook.deleted", "webhook", str(ident), before=before, user=actor)


# -- deliveries --------------------------------------------------------------------------------


def list_deliveries(
    actor: User,
    subscription: WebhookSubscription | None = None,
    state: str | None = None,
    limit: int = 200,
) -> list[WebhookDelivery]:
    """Return the newest deliveries, of one subscription or all, in one state or any."""
    _guard(actor)
    stmt = select(WebhookDelivery)
    if subscription is not None:
        stmt = stmt.where(WebhookDelivery.subscription_id == subscription.id)
    if state:
        stmt = stmt.where(WebhookDelivery.state == state)
    stmt = stmt.order_by(WebhookDelivery.id.desc()).limit(limit)
    return list(db.session.scalars(stmt))


def latest_deliveries(subs: list[WebhookSubscription], each: int = 3) -> dict[int, list]:
    """Return the last ``each`` deliveries of every subscription, by subscription id.

    One query, however many subscriptions: each delivery is numbered within its
    subscription, newest first, and only the first ``each`` are read.
    """
    found: dict[int, list] = {sub.id: [] for sub in subs}
    if not subs:
        return found
    rank = (
        func.row_number()
        .over(partition_by=WebhookDelivery.subscription_id, order_by=WebhookDelivery.id.desc())
        .label("rank")
    )
    ranked = (
        select(WebhookDelivery.id, rank)
        .where(WebhookDelivery.subscription_id.in_(found))
        .subquery()
    )
    stmt = (
        select(WebhookDelivery)
        .join(ranked, ranked.c.id == WebhookDelivery.id)
        .where(ranked.c.rank <= each)
        .order_by(WebhookDelivery.id.desc())
    )
    for row in db.session.scalars(stmt):
        found[row.subscription_id].append(row)
    return found


def get_delivery(actor: User, ident: int) -> WebhookDelivery:
    """Return delivery ``ident``; :raises NotFound: there is none."""
    _guard(actor)
    found = db.session.get(WebhookDelivery, ident)
    if found is None:
        raise NotFound(_("There is no webhook delivery %(id)s.", id=ident))
    return found


def payload_of(row: WebhookDelivery) -> dict:
    """Return the body a delivery sends, as data."""
    return json.loads(row.body)


def _queue(sub: WebhookSubscription, event: str, data: dict) -> WebhookDelivery:
    uid = str(uuid.uuid4())
    body = {"id": uid, "event": event, "created_at": utcnow().isoformat(), "data": data}
    row = WebhookDelivery(
        uid=uid,
        subscription_id=sub.id,
        event=event,
        body=json.dumps(body, ensure_ascii=False, default=str, sort_keys=True),
        state="pending",
        attempts=0,
    )
    db.session.add(row)
    db.session.flush()
    jobs.enqueue_after_commit("webhook_deliver", row.id)
    return row


@transactional
def emit(event: str, payload: dict) -> list[WebhookDelivery]:
    """Send ``event`` with ``payload`` to every active subscription to it, after commit.

    The deliveries are stored in the caller's unit of work and handed to the job runner
    only once it commits; if it rolls back, nothing is stored and nothing is sent.
    ``payload`` must be JSON-serialisable (dates and other values become strings).

    :raises ValueError: ``event`` is not in :data:`EVENTS` (a mistake in the caller).
    """
    if event not in EVENTS:
        raise ValueError(f"{event!r} is not a webhook event; add it to EVENTS first")
    subs = db.session.scalars(
        select(WebhookSubscription)
        .where(WebhookSubscription.active.is_(True))
        .order_by(WebhookSubscription.id)
    )
    return [_queue(sub, event, payload) for sub in subs if event in sub.events]


@transactional
def send_test(actor: User, sub: WebhookSubscription) -> WebhookDelivery:
    """Send a test event to one subscription, whatever events it chose."""
    _guard(actor)
    if not sub.active:
        raise ValidationFailed(_("The webhook is switched off: switch it on to test it."))
    return _queue(sub, TEST_EVENT, {"message": "A test event sent from the QMS."})


@transactional
def send_again(actor: User, row: WebhookDelivery) -> WebhookDelivery:
    """Try a failed delivery again, with as many attempts as a new one."""
    _guard(actor)
    if not can_send_again(actor, row):
        raise ValidationFailed(_("Only a failed delivery can be sent again."))
    if not row.subscription.active:
        raise ValidationFailed(_("The webhook is switched off: switch it on to send again."))
    row.state = "pending"
    row.attempts = 0
    row.queued_at = utcnow()
    jobs.enqueue_after_commit("webhook_deliver", row.id)
    return row


def deliver(delivery_id: int) -> str:
    """Make one attempt at a delivery (the job ``webhook_deliver``); return its state.

    A failed attempt with attempts left raises :class:`huey.RetryTask`, so the job runner
    runs the job again after :func:`retry_delay`. The database is not held while the
    receiver answers: the row is read, the transaction ended, and the answer recorded in
    a unit of work of its own.
    """
    row = db.session.get(WebhookDelivery, delivery_id)
    if row is None or row.state != "pending":
        return row.state if row else "gone"  # deleted, or already done by another run
    sub = row.subscription
    if not sub.active:
        with unit_of_work():
            row.state = "failed"
            row.last_error = "The webhook was switched off."
        return row.state
    url, secret, event, uid = sub.url, sub.secret, row.event, row.uid
    body = row.body.encode("utf-8")
    db.session.rollback()
    timeout = _setting("QMS_WEBHOOK_TIMEOUT", TIMEOUT)
    answer = http.post(url, body, http.headers(event, uid, secret, body), timeout)
    with unit_of_work():
        row = db.session.get(WebhookDelivery, delivery_id)
        if row is None or row.state != "pending":
            return row.state if row else "gone"
        row.attempts += 1
        row.last_status = answer.status
        row.last_error = answer.error
        row.last_attempt_at = utcnow()
        if answer.ok:
            row.state = "delivered"
            row.delivered_at = row.last_attempt_at
        elif row.attempts >= attempts_allowed():
            row.state = "failed"
        attempts, state = row.attempts, row.state
    if state == "pending":
        raise RetryTask(delay=retry_delay(attempts))
    return state


#: A pending delivery untouched this much longer than its retry was due was lost (a
#: worker killed mid-job, a queue emptied): the sweep hands it to the job runner again.
LOST_AFTER = timedelta(minutes=10)
#: Delivered and failed deliveries are kept this many days for the log
#: (``QMS_WEBHOOK_KEEP_DAYS``), then pruned by the sweep.
KEEP_DAYS = 90


def sweep(now: datetime | None = None) -> dict:
    """Send again the pending deliveries whose job was lost; prune old finished ones.

    Run by the job runner every ten minutes. A delivery is taken for lost when neither
    its last attempt nor its last hand-over to the job runner is recent enough for a job
    or a retry to be still on its way. A receiver may then get it twice (with the same
    id): the job lost may have sent it before the worker died.
    """
    now = now or utcnow()
    quiet_since = now - LOST_AFTER
    with unit_of_work():
        pending = db.session.scalars(
            select(WebhookDelivery).where(
                WebhookDelivery.state == "pending", WebhookDelivery.queued_at < quiet_since
            )
        ).all()
        lost = []
        for row in pending:
            retry = timedelta(seconds=retry_delay(row.attempts)) if row.attempts else timedelta()
            last = max(aware(row.queued_at), aware(row.last_attempt_at or row.queued_at))
            if last < quiet_since - retry:
                row.queued_at = now
                jobs.enqueue_after_commit("webhook_deliver", row.id)
                lost.append(row.id)
        keep = timedelta(days=_setting("QMS_WEBHOOK_KEEP_DAYS", KEEP_DAYS))
        pruned = db.session.execute(
            delete(WebhookDelivery).where(
                WebhookDelivery.state.in_(("delivered", "failed")),
                WebhookDelivery.created_at < now - keep,
            )
        ).rowcount
    return {"resent": lost, "pruned": pruned}


# -- the events other domains emit --------------------------------------------------------------


def on_revision(event: str, rev) -> None:
    """Emit ``document.released`` when a revision becomes effective (a document hook)."""
    if event != "effective":
        return
    doc = rev.document
    emit(
        "document.released",
        {
            "code": doc.code,
            "title": doc.title,
            "type": doc.doc_type,
            "revision": rev.label,
            "effective_date": rev.effective_date,
            "commit": rev.release_commit,
            "released_by": rev.released_by.username if rev.released_by else None,
        },
    )


@transactional
def emit_overdue_actions(today: date | None = None) -> list[str]:
    """Emit ``action.overdue`` once for each open action past its due date (the job).

    Each action is marked with its due date, so a run after a restart, or a second
    worker, never emits it twice; an action given a new due date that passes emits again.
    """
    from qms.improvement import services as improvement

    overdue = (
        db.session.scalars(improvement.list_actions(improvement.ActionFilters(overdue=True)))
        .unique()
        .all()
    )
    if today is not None:
        overdue = [a for a in overdue if a.due_date < today]
    if not overdue:
        return []
    marked = set(
        db.session.execute(
            select(WebhookMark.object_key, WebhookMark.due_date).where(
                WebhookMark.event == "action.overdue",
                WebhookMark.object_key.in_([a.number for a in overdue]),
            )
        ).all()
    )
    emitted = []
    for action in overdue:
        if (action.number, action.due_date) in marked:
            continue
        db.session.add(
            WebhookMark(event="action.overdue", object_key=action.number, due_date=action.due_date)
        )
        emit(
            "action.overdue",
            {
                "number": action.number,
                "title": action.title,
                "type": action.action_type,
                "state": action.state,
                "owner": action.owner.username,
                "due_date": action.due_date,
                "nonconformity": action.nonconformity.number if action.nonconformity else None,
            },
        )
        emitted.append(action.number)
    return emitted
