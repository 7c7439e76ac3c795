"""Measurement periods: ``2026-10`` (monthly), ``2026-Q3`` (quarterly), ``2026`` (yearly)."""

import re
from datetime import date, timedelta

from flask_babel import gettext as _

from qms.errors import ValidationFailed
from qms.reviews.labels import frequency_label

PATTERNS = {
    "monthly": re.compile(r"^(?P<year>\d{4})-(?P<month>0[1-9]|1[0-2])$"),
    "quarterly": re.compile(r"^(?P<year>\d{4})-Q(?P<quarter>[1-4])$"),
    "yearly": re.compile(r"^(?P<year>\d{4})$"),
}
EXAMPLES = {"monthly": "2026-10", "quarterly": "2026-Q3", "yearly": "2026"}


def frequency_of(period: str) -> str | None:
    """Return which frequency a period string is written for, or None if it is none."""
    for frequency, pattern in PATTERNS.items():
        if pattern.match(period or ""):
            return frequency
    return None


def check(period: str, frequency: str, field: str = "period") -> str:
    """Return the period cleaned, or raise :class:`ValidationFailed` naming what is expected.

    :raises ValidationFailed: the period is malformed, or written for another frequency.
    """
    period = (period or "").strip().upper()
    match = PATTERNS[frequency].match(period)
    if match is None:
        other = frequency_of(period)
        if other is not None:
            message = _(
                "%(period)s is a period of another frequency: this objective is measured "
                "%(frequency)s, e.g. %(example)s.",
                period=period,
                frequency=frequency_label(frequency),
                example=EXAMPLES[frequency],
            )
        else:
            message = _("Write the period like %(example)s.", example=EXAMPLES[frequency])
        raise ValidationFailed(message, field=field)
    if not 2000 <= int(match["year"]) <= 2100:
        raise ValidationFailed(_("The year must be between 2000 and 2100."), field=field)
    return period


def bounds(period: str) -> tuple[date, date]:
    """Return the first and last day of a (valid) period."""
    frequency = frequency_of(period)
    year = int(period[:4])
    if frequency == "monthly":
        month = int(period[5:7])
        first = date(year, month, 1)
        nxt = date(year + (month == 12), month % 12 + 1, 1)
        return first, nxt - timedelta(days=1)
    if frequency == "quarterly":
        quarter = int(period[-1])
        first = date(year, 3 * quarter - 2, 1)
        nxt = date(year + (quarter == 4), (3 * quarter) % 12 + 1, 1)
        return first, nxt - timedelta(days=1)
    return date(year, 1, 1), date(year, 12, 31)


def inside(period: str, start: date, end: date, overlap: bool = False) -> bool:
    """Return whether ``period`` lies within [start, end], or just overlaps it."""
    first, last = bounds(period)
    if overlap:
        return first <= end and start <= last
    return start <= first and last <= end


def period_of(day: date, frequency: str) -> str:
    """Return the period of ``frequency`` that contains ``day``."""
    if frequency == "monthly":
        return f"{day.year}-{day.month:02d}"
    if frequency == "quarterly":
        return f"{day.year}-Q{(day.month - 1) // 3 + 1}"
    return str(day.year)


def periods_between(start: date, end: date, frequency: str) -> list[str]:
    """Return every period of ``frequency`` that overlaps [start, end], oldest first."""
    found, day = [], start
    while day <= end:
        period = period_of(day, frequency)
        if period not in found:
            found.append(period)
        day = bounds(period)[1] + timedelta(days=1)
    return found
