"""Re-evaluation reminders: each owner is told once per provider and due date.

Run by the job runner (``supplier_reminders`` in :mod:`qms.jobs`). A claim row is written
before the mail goes, so two workers never send the same reminder; a message the mail
server does not accept gives its claim up for the next run.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from qms import clock, uow
from qms.extensions import db
from qms.suppliers.models import Supplier, SupplierReminder
from qms.uow import transactional

#: How long before its due date an owner is reminded of an evaluation.
REMINDER_DAYS = 14


def send_reminders(today: date | None = None) -> list[str]:
    """Remind each owner of a re-evaluation due within two weeks or late, once per provider
    and due date; a suspended provider is not reminded of."""
    today = today or clock.today()
    sent: list[str] = []
    query = select(Supplier.id).where(
        Supplier.status != "suspended",
        Supplier.next_evaluation_due <= today + timedelta(days=REMINDER_DAYS),
    )
    for ident in list(db.session.scalars(query)):
        try:
            _claim(ident, today, sent)
        except IntegrityError:
            continue  # another run claimed it first
    return sent


@transactional
def _claim(ident: int, today: date, sent: list[str]) -> None:
    from qms.improvement import mail

    supplier = db.session.get(Supplier, ident)
    due = supplier.next_evaluation_due
    exists = db.session.scalar(
        select(SupplierReminder.id).where(
            SupplierReminder.supplier_id == ident, SupplierReminder.due_date == due
        )
    )
    if exists is not None:
        return
    reminder = SupplierReminder(supplier_id=ident, due_date=due)
    db.session.add(reminder)
    db.session.flush()
    message = mail.compose(
        supplier.owner, "suppliers/mail/reminder.txt", supplier=supplier, today=today
    )
    line = f"{supplier.number} {due.isoformat()} -> {supplier.owner.username}"
    reminder_id = reminder.id

    def deliver_or_give_up() -> None:
        if mail.deliver(message):
            sent.append(line)
        else:
            _give_up(reminder_id)

    uow.after_commit(deliver_or_give_up)


@transactional
def _give_up(reminder_id: int) -> None:
    """Forget a claim whose message was not accepted, for the next run to retry."""
    db.session.execute(
        SupplierReminder.__table__.delete().where(SupplierReminder.id == reminder_id)
    )
