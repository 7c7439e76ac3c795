"""Links to the pages of the other domains this one reads (improvement, audits, documents).

The domains' data is read through their public services, imported plainly where it is
used; this module only builds URLs, and only for pages this installation has.
"""

from flask import current_app, url_for


def has_endpoint(endpoint: str) -> bool:
    return endpoint in current_app.view_functions


def link(endpoint: str, **values) -> str | None:
    """Return the URL of ``endpoint`` when that page exists in this installation."""
    return url_for(endpoint, **values) if has_endpoint(endpoint) else None


def nc_url(number: str) -> str | None:
    return link("improvement.detail", number=number)


def action_url(number: str) -> str | None:
    return link("improvement.action", action_id=number)


def audit_url(ref: str) -> str | None:
    return link("audits.detail", ref=ref)


def legal_url(number: str) -> str | None:
    return link("context.legal", number=number)


def new_nc_url(source: str, **extra) -> str | None:
    """Return the page that raises an NC with ``source`` prefilled, when it exists."""
    return link("improvement.new", source=source, **extra)


def new_action_url(**extra) -> str | None:
    """Return the page that plans an action without an NC (preventive by default)."""
    return link("improvement.new_action", **extra)
