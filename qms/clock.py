"""The organisation's clock: every "today" and every time shown comes from here.

``QMS_TIMEZONE`` names the office's zone (``Asia/Shanghai``); an office in UTC+8 that
releases at 07:00 releases on its own date, not on the UTC date of the day before.
Timestamps are still stored in UTC.
"""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app, has_app_context


def zone() -> ZoneInfo:
    """Return the organisation's time zone (UTC when none is configured)."""
    name = current_app.config.get("QMS_TIMEZONE") if has_app_context() else None
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def now() -> datetime:
    """Return the current time in the organisation's zone."""
    return datetime.now(UTC).astimezone(zone())


def today() -> date:
    """Return the organisation's date today."""
    return now().date()


def local(value: datetime | None) -> datetime | None:
    """Return a stored (UTC) timestamp in the organisation's zone; naive means UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(zone())


def zone_name(value: datetime | None = None) -> str:
    """Return the zone's short name at ``value`` (``CST``, ``UTC``…), for showing once."""
    return (local(value) or now()).tzname() or str(zone())
