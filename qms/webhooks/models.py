"""Webhook subscriptions, the deliveries made to them, and the events already emitted.

A subscription keeps its secret as it was generated: the signature of every delivery is
computed from it, so it cannot be stored as a one-way hash. It is shown once, when the
subscription is made, and never again by a page or the API.
"""

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from qms.auth.models import User
from qms.extensions import db
from qms.models import UTCDateTime, utcnow

#: The events a subscription may choose, the one list pages, API and emit() read.
EVENTS = ("document.released", "nc.raised", "action.overdue", "rating.poor")
#: What the "send a test event" button sends; no subscription chooses it.
TEST_EVENT = "webhook.test"
#: A delivery is pending until it is delivered (a 2xx answer) or has failed every attempt.
STATES = ("pending", "delivered", "failed")


class WebhookSubscription(db.Model):
    """A receiver's address, the events it wants and the secret its deliveries are signed with."""

    __tablename__ = "webhook_subscription"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str] = mapped_column(String(200), default="")
    # The chosen events, separated by spaces, in the order of EVENTS.
    event_names: Mapped[str] = mapped_column("events", String(400))
    secret: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # Shown beside every subscription on the list page.
    created_by: Mapped[User] = relationship(lazy="joined")

    @property
    def events(self) -> list[str]:
        return self.event_names.split()

    @events.setter
    def events(self, names: list[str]) -> None:
        self.event_names = " ".join(names)


class WebhookDelivery(db.Model):
    """One event sent to one subscription: the exact body, its state and its last answer."""

    __tablename__ = "webhook_delivery"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Sent as X-QMS-Delivery and as the body's "id": a receiver drops a repeated one.
    uid: Mapped[str] = mapped_column(String(36), unique=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_subscription.id", ondelete="CASCADE"), index=True
    )
    event: Mapped[str] = mapped_column(String(40), index=True)
    # The JSON body as sent: every attempt sends (and signs) the same bytes.
    body: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # When it was last handed to the job runner (made, sent again, or found lost).
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # The log names each delivery's subscription.
    subscription: Mapped[WebhookSubscription] = relationship(lazy="joined")


class WebhookMark(db.Model):
    """An event already emitted for an object and date (an action overdue since its due date),
    so that the periodic job emits it once."""

    __tablename__ = "webhook_mark"
    __table_args__ = (UniqueConstraint("event", "object_key", "due_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event: Mapped[str] = mapped_column(String(40))
    object_key: Mapped[str] = mapped_column(String(40))
    due_date: Mapped[date] = mapped_column(Date)
    emitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
