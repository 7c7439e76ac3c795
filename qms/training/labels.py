"""The localised names of training methods, results and matrix states."""

from flask_babel import gettext as _


def method_label(method: str) -> str:
    return {
        "classroom": _("classroom"),
        "on_the_job": _("on the job"),
        "self_study": _("self-study"),
        "e_learning": _("e-learning"),
        "external_course": _("external course"),
    }.get(method, method)


def result_label(result: str) -> str:
    return {"passed": _("passed"), "failed": _("failed")}.get(result, result)


def state_label(state: str) -> str:
    return {
        "done": _("done"),
        "due": _("due"),
        "overdue": _("overdue"),
        "expiring": _("expiring"),
    }.get(state, state)
