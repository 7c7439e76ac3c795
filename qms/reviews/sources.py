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


#: An input item's kind -> the page that shows it: (endpoint, URL variable, fragment).
ITEM_PAGES = {
    "nc": ("improvement.detail", "number", ""),
    "action": ("improvement.action", "action_id", ""),
    "audit": ("audits.detail", "ref", ""),
    "legal": ("context.legal", "number", ""),
    "context_issue": ("context.index", None, "#issues"),
    "party": ("context.index", None, "#parties"),
    "risk": ("risks.detail", "number", ""),
    "supplier": ("suppliers.detail", "number", ""),
    "equipment": ("equipment.detail", "number", ""),
}


def item_url(kind: str, key: str) -> str | None:
    """Return the page of a review input item (an NC, an audit, a risk …), if there is one."""
    endpoint, variable, fragment = ITEM_PAGES.get(kind, (None, None, ""))
    if endpoint is None:
        return None
    url = link(endpoint, **({variable: key} if variable else {}))
    return url + fragment if url else None


def new_nc_url(source: str, **extra) -> str | None:
    """Return the page that raises an NC with ``source`` prefilled, when it exists."""
    return link("improvement.new", source=source, **extra)


def new_action_url(**extra) -> str | None:
    """Return the page that plans an action without an NC (preventive by default)."""
    return link("improvement.new_action", **extra)
