"""The ratings domain's settings: the rectification's deadline and the recurrence window."""

from datetime import date, timedelta

from flask import current_app

#: Defaults of the settings (each may be set in the config).
RECTIFICATION_DAYS = 5
DAY_KIND = "calendar"  # or "working": Monday to Friday
RECURRENCE_DAYS = 90


def rectification_days() -> int:
    """Days a poor rating's rectification is given (``QMS_RECTIFICATION_DAYS``)."""
    return int(current_app.config.get("QMS_RECTIFICATION_DAYS", RECTIFICATION_DAYS))


def day_kind() -> str:
    """Whether those days are "calendar" or "working" days (``QMS_RECTIFICATION_DAY_KIND``)."""
    kind = current_app.config.get("QMS_RECTIFICATION_DAY_KIND", DAY_KIND)
    return "working" if kind == "working" else "calendar"


def recurrence_days() -> int:
    """A second poor rating on an item and window this soon is a repeat
    (``QMS_RATING_RECURRENCE_DAYS``)."""
    return int(current_app.config.get("QMS_RATING_RECURRENCE_DAYS", RECURRENCE_DAYS))


def due_from(start: date, days: int | None = None, kind: str | None = None) -> date:
    """Return the day ``days`` calendar or working days (Monday–Friday) after ``start``."""
    days = rectification_days() if days is None else days
    if (kind or day_kind()) != "working":
        return start + timedelta(days=days)
    day = start
    while days > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            days -= 1
    return day
