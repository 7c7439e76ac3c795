"""The localised names of the evaluation domain's kinds, periods, rules and states."""

from flask_babel import gettext as _


def kind_label(kind: str) -> str:
    return {"department": _("departments"), "window": _("service windows")}.get(kind, kind)


def period_label(period: str) -> str:
    return {"monthly": _("monthly"), "quarterly": _("quarterly"), "yearly": _("yearly")}.get(
        period, period
    )


def rule_label(rule: str) -> str:
    return {"linear": _("target and zero point"), "bands": _("bands")}.get(rule, rule)


def direction_label(direction: str) -> str:
    return {"higher": _("higher is better"), "lower": _("lower is better")}.get(
        direction, direction
    )


def state_label(state: str) -> str:
    return {"draft": _("draft"), "confirmed": _("confirmed")}.get(state, state)


def state_badge(state: str) -> str:
    """The badge class a state is shown with (the one ``m.status_badge`` takes)."""
    return {"draft": "draft", "confirmed": "effective"}.get(state, state)


def stars_text(stars: int) -> str:
    """Five stars, ``stars`` of them filled: ★★★☆☆."""
    return "★" * stars + "☆" * (5 - stars)
