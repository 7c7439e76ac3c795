"""The other domains this one reads, each through its public service functions.

Improvement, audits and records are built alongside this domain; while one of them is
not installed (or lacks a function), what depends on it shows as "not available" and
never as a made-up number.
"""

from importlib import import_module
from types import ModuleType

from flask import current_app, url_for


def service(domain: str) -> ModuleType | None:
    """Return ``qms.<domain>.services``, or None when that domain is not installed."""
    try:
        return import_module(f"qms.{domain}.services")
    except ImportError:
        return None


def function(domain: str, name: str):
    """Return the public function ``name`` of a domain's services, or None."""
    module = service(domain)
    return getattr(module, name, None) if module is not None else None


def has_endpoint(endpoint: str) -> bool:
    return endpoint in current_app.view_functions


def link(endpoint: str, **values) -> str | None:
    """Return the URL of ``endpoint`` when that page exists in this installation."""
    return url_for(endpoint, **values) if has_endpoint(endpoint) else None


def first_link(endpoints: tuple[str, ...], **values) -> str | None:
    """Return the URL of the first of ``endpoints`` that exists."""
    for endpoint in endpoints:
        if has_endpoint(endpoint):
            return url_for(endpoint, **values)
    return None


def nc_url(number: str) -> str | None:
    return link("improvement.detail", number=number)


def action_url(number: str) -> str | None:
    return link("improvement.action", action_id=number)


def audit_url(ref: str) -> str | None:
    return link("audits.detail", ref=ref)


def new_nc_url(source: str, **extra) -> str | None:
    """Return the page that raises an NC with ``source`` prefilled, when it exists."""
    return link("improvement.new", source=source, **extra)


def new_action_url(**extra) -> str | None:
    """Return the page that plans an action without an NC (preventive by default)."""
    return link("improvement.new_action", **extra)
