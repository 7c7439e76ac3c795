"""Upstream subscriptions, what was adopted from them, and the changes they announce."""

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from qms.auth.models import User
from qms.extensions import db
from qms.models import UTCDateTime, utcnow


class Subscription(db.Model):
    """An upstream document repository (a county's or province's library) followed here."""

    __tablename__ = "upstream_subscription"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Names the refs the upstream is fetched into: refs/upstream/<name>/…
    name: Mapped[str] = mapped_column(String(40), unique=True)
    url: Mapped[str] = mapped_column(String(500))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    fetched_commit: Mapped[str | None] = mapped_column(String(40))
    last_error: Mapped[str | None] = mapped_column(Text)
    # Set when an admin stops following it: no more fetches, adoptions or change
    # requests from it; what was adopted keeps its provenance.
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    created_by: Mapped[User] = relationship(lazy="joined")

    @property
    def active(self) -> bool:
        return self.ended_at is None


class Adoption(db.Model):
    """One upstream revision taken into a local revision, and where it came from."""

    __tablename__ = "adoption"

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("upstream_subscription.id"))
    document_code: Mapped[str] = mapped_column(String(40), index=True)
    revision_label: Mapped[str] = mapped_column(String(10))
    upstream_code: Mapped[str] = mapped_column(String(40))
    upstream_revision: Mapped[str] = mapped_column(String(10))
    upstream_commit: Mapped[str] = mapped_column(String(40))
    upstream_blob: Mapped[str] = mapped_column(String(40))
    adopted_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    adopted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    subscription: Mapped[Subscription] = relationship(lazy="joined")
    adopted_by: Mapped[User] = relationship(lazy="joined")


class UpstreamChange(db.Model):
    """A newer upstream revision of an adopted document, put to the approver as a change request."""

    __tablename__ = "upstream_change"
    __table_args__ = (
        UniqueConstraint("subscription_id", "upstream_code", "to_revision", "document_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("upstream_subscription.id"))
    document_code: Mapped[str] = mapped_column(String(40), index=True)
    upstream_code: Mapped[str] = mapped_column(String(40))
    change_request: Mapped[str] = mapped_column(String(20), unique=True)
    from_revision: Mapped[str] = mapped_column(String(10))
    from_commit: Mapped[str] = mapped_column(String(40))
    from_blob: Mapped[str] = mapped_column(String(40))
    to_revision: Mapped[str] = mapped_column(String(10))
    to_commit: Mapped[str] = mapped_column(String(40))
    to_blob: Mapped[str] = mapped_column(String(40))
    # The local revision opened from the upstream text when the change was taken in.
    taken_in_revision: Mapped[str | None] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    subscription: Mapped[Subscription] = relationship(lazy="joined")
