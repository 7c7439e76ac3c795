"""Translated names of roles and token states."""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

ROLE_LABELS = {
    "staff": _l("Staff"),
    "author": _l("Author"),
    "auditor": _l("Auditor"),
    "approver": _l("Approver"),
    "top_management": _l("Top management"),
    "admin": _l("Administrator"),
}

TOKEN_STATES = {
    "valid": _l("Valid"),
    "expired": _l("Expired"),
    "revoked": _l("Revoked"),
}


def token_state_label(state: str) -> str:
    return str(TOKEN_STATES.get(state, state))


def role_label(role: str) -> str:
    return str(ROLE_LABELS.get(role, role))


def roles_label(roles) -> str:
    return _(", ").join(role_label(r) for r in sorted(roles))
