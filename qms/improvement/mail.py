"""E-mail about nonconformities and actions: assignments and due-date reminders.

SMTP comes from the environment (QMS_SMTP_HOST, QMS_SMTP_PORT, QMS_SMTP_USER,
QMS_SMTP_PASSWORD, QMS_SMTP_TLS, QMS_MAIL_FROM; app config keys of the same names win,
which is how tests point it at their server). With no host configured, mail steps aside:
nothing is sent and the skip is logged. Messages are sent after the unit of work that
caused them commits, never inside it; a failing server is logged and never undoes the
work. Each message is written in the recipient's language.
"""

from __future__ import annotations

import logging
import os
import smtplib
from dataclasses import dataclass
from datetime import date, timedelta
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from flask import current_app, has_request_context, render_template, request
from flask_babel import force_locale
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from qms import clock, uow
from qms.auth.models import User
from qms.extensions import db
from qms.i18n import LANGUAGES
from qms.improvement.models import (
    OPEN_ACTION_STATES,
    OPEN_NC_STATES,
    Action,
    Nonconformity,
    Reminder,
)
from qms.uow import transactional

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    user: str | None
    password: str | None
    tls: bool
    sender: str


def settings() -> SmtpSettings | None:
    """Return the SMTP settings, or None when no host is configured."""

    def get(name: str, default=None):
        value = current_app.config.get(name)
        return value if value not in (None, "") else os.environ.get(name, default)

    host = (get("QMS_SMTP_HOST") or "").strip()
    if not host:
        return None
    tls = str(get("QMS_SMTP_TLS", "")).strip().lower() in ("1", "true", "yes", "on")
    return SmtpSettings(
        host=host,
        port=int(get("QMS_SMTP_PORT") or (587 if tls else 25)),
        user=get("QMS_SMTP_USER") or None,
        password=get("QMS_SMTP_PASSWORD") or None,
        tls=tls,
        sender=get("QMS_MAIL_FROM") or "qms@localhost",
    )


def base_url() -> str | None:
    """Return the address pages are reached at, for links in messages."""
    configured = current_app.config.get("QMS_BASE_URL") or os.environ.get("QMS_BASE_URL")
    if configured:
        return configured.rstrip("/")
    if has_request_context():
        return request.host_url.rstrip("/")
    return None


def _locale(user: User) -> str:
    return user.locale if user.locale in LANGUAGES else current_app.config["BABEL_DEFAULT_LOCALE"]


@dataclass(frozen=True)
class Message:
    """A message composed for one person, ready to hand to the server."""

    username: str
    name: str
    email: str | None
    subject: str
    body: str


def compose(user: User, template: str, **context) -> Message:
    """Return the message ``template`` renders for ``user``, in their language."""
    subject, body = render(user, template, **context)
    return Message(user.username, user.display_name, user.email, subject, body)


def deliver(message: Message, smtp: SmtpSettings | None = None) -> bool:
    """Send one plain-text message; return whether the server accepted it."""
    smtp = smtp or settings()
    if smtp is None:
        log.info(
            "No SMTP host configured; not sending %r to %s.", message.subject, message.username
        )
        return False
    if not message.email:
        log.info("%s has no e-mail address; not sending %r.", message.username, message.subject)
        return False
    email = EmailMessage()
    email["From"] = smtp.sender
    email["To"] = formataddr((message.name, message.email))
    email["Subject"] = message.subject
    email["Message-ID"] = make_msgid(domain="qms")
    email.set_content(message.body)
    try:
        with smtplib.SMTP(smtp.host, smtp.port, timeout=15) as server:
            if smtp.tls:
                server.starttls()
            if smtp.user:
                server.login(smtp.user, smtp.password or "")
            server.send_message(email)
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("Could not send %r to %s: %s", message.subject, message.email, exc)
        return False
    log.info("Sent %r to %s.", message.subject, message.email)
    return True


def _describe(obj) -> dict:
    """Return what a message needs to know about an NC or an action."""
    if isinstance(obj, Action):
        return {
            "kind": "action",
            "number": obj.number,
            "title": obj.title,
            "due_date": obj.due_date,
            "path": f"/improvement/actions/{obj.id}",
        }
    return {
        "kind": "nonconformity",
        "number": obj.number,
        "title": obj.title,
        "due_date": obj.due_date,
        "path": f"/improvement/{obj.number}",
    }


def render(user: User, template: str, **context) -> tuple[str, str]:
    """Return (subject, body) of a message rendered in ``user``'s language."""
    with force_locale(_locale(user)):
        body = render_template(template, user=user, base_url=base_url(), **context)
    subject, _sep, rest = body.partition("\n")
    return subject.strip(), rest.strip() + "\n"


def send_assignment(user: User, obj) -> None:
    """Tell ``user`` that an NC or an action is now theirs, once the unit of work commits.

    The message is composed now, while the data it names is at hand, and sent only after
    the commit: a refused change never mails anyone, and a slow server never holds locks.
    """
    if settings() is None:
        log.info("No SMTP host configured; not telling %s of %s.", user.username, obj.number)
        return
    message = compose(user, "improvement/mail/assigned.txt", item=_describe(obj))
    uow.after_commit(lambda: deliver(message))


# -- reminders -------------------------------------------------------------------------


def reminder_days() -> int:
    value = current_app.config.get("QMS_REMIND_DAYS_BEFORE") or os.environ.get(
        "QMS_REMIND_DAYS_BEFORE", 3
    )
    return int(value)


def due_items(today: date) -> list[tuple[object, User, str]]:
    """Return (item, person, kind) for every open NC and action needing a reminder today.

    ``before_due`` when the due date is within the reminder window (due day included),
    ``overdue`` once it has passed.
    """
    horizon = today + timedelta(days=reminder_days())
    found = []
    ncs = db.session.scalars(
        select(Nonconformity).where(
            Nonconformity.state.in_(OPEN_NC_STATES),
            Nonconformity.responsible_id.is_not(None),
            Nonconformity.due_date <= horizon,
        )
    )
    for nc in ncs:
        found.append((nc, nc.responsible, "overdue" if nc.due_date < today else "before_due"))
    actions = db.session.scalars(
        select(Action).where(Action.state.in_(OPEN_ACTION_STATES), Action.due_date <= horizon)
    )
    for action in actions:
        found.append((action, action.owner, "overdue" if action.due_date < today else "before_due"))
    return found


def send_reminders(today: date | None = None) -> list[str]:
    """Send each due reminder once; return a line per message sent.

    Each reminder is claimed by its own unit of work, which inserts its row (unique per
    item, kind, due date and person), so a second run, or two runs at once, never send it
    twice. The message goes out after that commit; when the server refuses it the claim is
    given up again, so the next run tries once more.
    """
    today = today or clock.today()
    smtp = settings()
    if smtp is None:
        log.info("No SMTP host configured; reminders are not sent.")
        return []
    sent: list[str] = []
    for obj, user, kind in due_items(today):
        try:
            _claim(obj, user, kind, today, smtp, sent)
        except IntegrityError:
            continue  # another run claimed it first
    return sent


@transactional
def _claim(obj, user: User, kind: str, today: date, smtp: SmtpSettings, sent: list[str]) -> None:
    """Claim one reminder and send it after the claim commits."""
    item = _describe(obj)
    claimed = db.session.scalar(
        select(Reminder.id).where(
            Reminder.object_type == item["kind"],
            Reminder.object_key == item["number"],
            Reminder.kind == kind,
            Reminder.due_date == item["due_date"],
            Reminder.user_id == user.id,
        )
    )
    if claimed is not None:
        return
    reminder = Reminder(
        object_type=item["kind"],
        object_key=item["number"],
        kind=kind,
        due_date=item["due_date"],
        user_id=user.id,
    )
    db.session.add(reminder)
    db.session.flush()  # a run that claimed it at the same moment makes this fail
    days = (item["due_date"] - today).days
    message = compose(user, "improvement/mail/reminder.txt", item=item, kind=kind, days=days)
    line = f"{kind} {item['number']} -> {user.username}"
    reminder_id = reminder.id

    def deliver_or_give_up() -> None:
        if deliver(message, smtp):
            sent.append(line)
        else:
            _give_up(reminder_id)

    uow.after_commit(deliver_or_give_up)


@transactional
def _give_up(reminder_id: int) -> None:
    """Forget a claim whose message the server did not accept, for the next run to retry."""
    db.session.execute(delete(Reminder).where(Reminder.id == reminder_id))
