"""The organisation's clock: every "today" and every time shown comes from here.

``QMS_TIMEZONE`` names the office's zone (``Asia/Shanghai``); an office in UTC+8 that
releases at 07:00 releases on its own date, not on the UTC date of the day before.
Timestamps are still stored in UTC.

The demo loader tells a year of history as it happened: inside :func:`travel` the clock
reads the moment it was set to (timestamps, signatures, git commit dates and every
"today" alike), and that moment only moves forward, as the audit trail's chain needs.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app, has_app_context

_travelled: ContextVar[datetime | None] = ContextVar("qms_clock_travelled", default=None)


@contextmanager
def travel(moment: datetime) -> Iterator[None]:
    """Read the clock as ``moment`` (aware, in the past) until the block ends."""
    if moment.tzinfo is None:
        raise ValueError("the clock travels to aware moments only")
    if moment > datetime.now(UTC):
        raise ValueError("the clock does not travel into the future")
    token = _travelled.set(moment.astimezone(UTC))
    try:
        yield
    finally:
        _travelled.reset(token)


def move_to(moment: datetime) -> None:
    """Move a travelling clock on to ``moment``; it never goes back, nor past the present.

    :raises RuntimeError: the clock is not travelling.
    :raises ValueError: ``moment`` is before the clock's time or in the future.
    """
    current = _travelled.get()
    if current is None:
        raise RuntimeError("the clock moves only inside clock.travel()")
    moment = moment.astimezone(UTC)
    if moment < current:
        raise ValueError(f"the clock runs forward: {moment} is before {current}")
    if moment > datetime.now(UTC):
        raise ValueError("the clock does not travel into the future")
    _travelled.set(moment)


def travelled() -> datetime | None:
    """Return the moment the clock travelled to (UTC), or None when it reads the present."""
    return _travelled.get()


def zone() -> ZoneInfo:
    """Return the organisation's time zone (UTC when none is configured)."""
    name = current_app.config.get("QMS_TIMEZONE") if has_app_context() else None
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def now() -> datetime:
    """Return the current time in the organisation's zone."""
    return (_travelled.get() or datetime.now(UTC)).astimezone(zone())


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
