"""Star levels, points and weighted totals: the arithmetic of an evaluation."""

from __future__ import annotations

import math

from qms.errors import ValidationFailed

# -- star levels and points ----------------------------------------------------------------


def stars_for(total: float, thresholds) -> int:
    """Return the star level (1–5) a total earns: five at or above the first threshold,
    four at or above the second, and so on; one below the last."""
    for stars, least in zip((5, 4, 3, 2), thresholds, strict=True):
        if total >= least:
            return stars
    return 1


def points_for(rule: dict, value: float | None) -> float:
    """Return the points (0–100) a value scores under ``rule``; no value scores nothing.

    ``linear``: full points at the target or beyond it (in the rule's direction), none at
    the zero point or beyond, in a straight line between. ``bands``: ``[bound, points]``
    pairs, best first; a value scores the points of the first bound it reaches (at least
    the bound when higher is better, at most when lower is), else none.
    """
    if value is None:
        return 0.0
    higher = rule.get("direction", "higher") == "higher"
    if rule.get("rule") == "bands":
        for bound, points in rule.get("bands") or []:
            if (value >= bound) if higher else (value <= bound):
                return float(points)
        return 0.0
    target, zero = float(rule["target"]), float(rule["zero"])
    share = (value - zero) / (target - zero)
    return round(100.0 * min(1.0, max(0.0, share)), 1)


def weighted_total(criteria) -> float:
    """Return the weighted sum of the criteria's points (weights sum to 100), to 0.1."""
    return round(sum(c.points * c.weight for c in criteria) / 100.0 + 1e-9, 1)


def number(value, field: str, message: str) -> float:
    """Return ``value`` as a finite number. :raises ValidationFailed: with ``message``."""
    if isinstance(value, bool):
        raise ValidationFailed(message, field=field)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValidationFailed(message, field=field) from None
    if not math.isfinite(number):
        raise ValidationFailed(message, field=field)
    return number
