"""The localised names of the ratings domain's levels, channels, indicators and states."""

from flask_babel import gettext as _


def level_label(level: int) -> str:
    return {
        5: _("very satisfied"),
        4: _("satisfied"),
        3: _("basically satisfied"),
        2: _("dissatisfied"),
        1: _("very dissatisfied"),
    }.get(level, str(level))


def level_badge(level: int) -> str:
    """The badge class a level is shown with (the one ``m.status_badge`` takes)."""
    return {5: "effective", 4: "effective", 3: "in_review", 2: "overdue", 1: "overdue"}.get(
        level, "draft"
    )


def channel_label(channel: str) -> str:
    return {
        "device": _("rating device at the window"),
        "online": _("online"),
        "mobile": _("mobile app"),
        "sms": _("text message"),
        "phone": _("telephone"),
        "other": _("other channel"),
    }.get(channel, channel)


def indicator_label(name: str) -> str:
    return {
        "attitude": _("service attitude"),
        "efficiency": _("efficiency"),
        "quality": _("service quality"),
        "convenience": _("convenience"),
        "fairness": _("fairness"),
    }.get(name, name)


def state_label(state: str) -> str:
    return {
        "open": _("open"),
        "rectified": _("rectified"),
        "followed_up": _("followed up"),
        "closed": _("closed"),
    }.get(state, state)


def state_badge(state: str) -> str:
    return {
        "open": "in_review",
        "rectified": "approved",
        "followed_up": "approved",
        "closed": "effective",
    }.get(state, state)


def way_label(way: str | None) -> str:
    return {
        "phone": _("by telephone"),
        "visit": _("by visit"),
        "sms": _("by text message"),
        "online": _("online"),
    }.get(way or "", way or "")


def result_label(result: str | None) -> str:
    return {
        "satisfied": _("satisfied"),
        "basically_satisfied": _("basically satisfied"),
        "not_satisfied": _("not satisfied"),
    }.get(result or "", result or "")


def step_label(step: str) -> str:
    return {
        "rectify": _("Record the finding and the fix"),
        "follow_up": _("Record the follow-up"),
        "close": _("Close"),
        "reopen": _("Put right again"),
    }.get(step, step)


def group_label(group: str) -> str:
    """Name what the figures are shown per."""
    return {
        "window": _("window"),
        "item": _("service item"),
        "department": _("department"),
    }.get(group, group)


def view_label(view: str) -> str:
    """Name a view of the rectifications list."""
    return {
        "open": _("open"),
        "overdue": _("overdue"),
        "closed": _("closed"),
        "all": _("all"),
    }.get(view, view)
