"""Reading a rating as sent (the API's keys or the import's columns) and checking each value.

A level or channel may come by its code or by its Chinese name; a moment without an offset
is office time. Nothing here stores anything: :func:`qms.ratings.services.receive` does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from qms import clock
from qms.auth.models import User
from qms.errors import ValidationFailed
from qms.extensions import db
from qms.ratings.models import CHANNELS, INDICATORS, LEVELS, Rating
from qms.standards import catalogue
from qms.text import LONG_TEXT, within

CASE_LIMIT = 60

LEVEL_NAMES = {
    "非常满意": 5,
    "满意": 4,
    "基本满意": 3,
    "不满意": 2,
    "非常不满意": 1,
    "very satisfied": 5,
    "satisfied": 4,
    "basically satisfied": 3,
    "dissatisfied": 2,
    "very dissatisfied": 1,
}
CHANNEL_NAMES = {
    "窗口评价器": "device",
    "评价器": "device",
    "网上": "online",
    "网站": "online",
    "移动端": "mobile",
    "短信": "sms",
    "电话": "phone",
    "其他": "other",
}


def _score(value, field_name: str, required: bool) -> int | None:
    if isinstance(value, str):
        value = value.strip()
        if value in LEVEL_NAMES or value.lower() in LEVEL_NAMES:
            return LEVEL_NAMES.get(value) or LEVEL_NAMES[value.lower()]
        if value.isdigit():
            value = int(value)
        elif value == "":
            value = None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value not in LEVELS:
        if field_name == "level":
            raise ValidationFailed(
                _("The level is a whole number from 1 (very dissatisfied) to 5 (very satisfied)."),
                field="level",
            )
        raise ValidationFailed(
            _("The score %(name)s is a whole number from 1 to 5.", name=field_name),
            field=field_name,
        )
    return value


def _channel(value) -> str:
    value = str(value or "").strip()
    channel = CHANNEL_NAMES.get(value, value.lower())
    if channel not in CHANNELS:
        raise ValidationFailed(
            _(
                "The channel %(value)s is not known; use one of %(known)s.",
                value=value or "—",
                known=", ".join(CHANNELS),
            ),
            field="channel",
        )
    return channel


def _moment(value) -> datetime:
    """Read the moment of a rating: an aware or office-time datetime, or ISO 8601 text."""
    if isinstance(value, str) and value.strip():
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            value = None
    elif isinstance(value, date) and not isinstance(value, datetime):
        value = datetime.combine(value, time(12))
    if not isinstance(value, datetime):
        raise ValidationFailed(
            _("Give the moment of the rating as a date and time, e.g. 2026-03-01 10:30."),
            field="rated_at",
        )
    if value.tzinfo is None:
        value = value.replace(tzinfo=clock.zone())
    value = value.astimezone(UTC).replace(microsecond=0)
    if value > clock.now() + timedelta(minutes=5):
        raise ValidationFailed(_("A rating cannot be dated in the future."), field="rated_at")
    return value


def _staff(value) -> User | None:
    name = str(value or "").strip()
    if not name:
        return None
    user = db.session.scalar(select(User).where(User.username == name))
    if user is None:
        raise ValidationFailed(_("There is no staff member %(name)s.", name=name), field="staff")
    return user


@dataclass
class Incoming:
    """One rating read and checked, not yet stored."""

    case_number: str
    item: object
    window: object
    staff: User | None
    channel: str
    level: int
    scores: dict[str, int | None]
    comment: str
    rated_at: datetime

    def snapshot(self) -> dict:
        return {
            "case_number": self.case_number,
            "item": self.item.code,
            "window": self.window.code,
            "staff": self.staff.username if self.staff else None,
            "channel": self.channel,
            "level": self.level,
            **self.scores,
            "comment": self.comment,
            "rated_at": self.rated_at.isoformat(),
        }


def snapshot(rating: Rating) -> dict:
    """What a rating says, in the form two sendings of it are compared."""
    return {
        "case_number": rating.case_number,
        "item": rating.item.code,
        "window": rating.window.code,
        "staff": rating.staff.username if rating.staff else None,
        "channel": rating.channel,
        "level": rating.level,
        **rating.scores,
        "comment": rating.comment,
        "rated_at": rating.rated_at.astimezone(UTC).replace(microsecond=0).isoformat(),
    }


def read(row: dict) -> Incoming:
    """Check one rating as sent (API keys, or the import's columns) and return it."""
    if not isinstance(row, dict):
        raise ValidationFailed(_("A rating is a set of named values."))
    case = str(row.get("case_number") or "").strip()
    if not case:
        raise ValidationFailed(_("The case number is required."), field="case_number")
    if len(case) > CASE_LIMIT:
        raise ValidationFailed(
            _("A case number has at most %(n)d characters.", n=CASE_LIMIT), field="case_number"
        )
    item_code = str(row.get("item") or "").strip()
    item = catalogue.item_by_code(item_code) if item_code else None
    if item is None:
        raise ValidationFailed(
            _("There is no service item %(code)s.", code=item_code or "—"), field="item"
        )
    window_code = str(row.get("window") or "").strip()
    window = catalogue.window_by_code(window_code) if window_code else None
    if window is None:
        raise ValidationFailed(
            _("There is no service window %(code)s.", code=window_code or "—"), field="window"
        )
    comment = within(str(row.get("comment") or "").strip(), LONG_TEXT, "comment")
    return Incoming(
        case_number=case,
        item=item,
        window=window,
        staff=_staff(row.get("staff")),
        channel=_channel(row.get("channel")),
        level=_score(row.get("level"), "level", required=True),
        scores={name: _score(row.get(name), name, required=False) for name in INDICATORS},
        comment=comment,
        rated_at=_moment(row.get("rated_at")),
    )
