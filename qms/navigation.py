"""The main menu and the home page's work panels, to which each domain adds its own.

A domain registers its entries when its views module is imported, so ``base.html``
and ``main/index.html`` never need editing when a domain is added.
"""

from collections.abc import Callable
from dataclasses import dataclass

from flask import request, url_for
from flask_login import current_user


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: object  # a lazy_gettext string
    # Endpoints starting with any of these mark the item as the current section.
    prefixes: tuple[str, ...]
    order: int = 50
    roles: tuple[str, ...] = ()
    # A domain's can_<verb>(user) rule: shown only to whom it allows (instead of roles).
    visible: Callable[[object], bool] | None = None

    def shown_to(self, user) -> bool:
        """Return whether ``user`` sees this entry in the menu."""
        if self.visible is not None:
            return self.visible(user)
        return not self.roles or user.has_role(*self.roles)


NAV: list[NavItem] = []
# Each provider returns the panels a user's home page shows: dicts with a "template" key
# and whatever that template needs; an empty list when the domain has nothing for them.
WORK: list[tuple[int, Callable[[object], list[dict]]]] = []


def register_nav(item: NavItem) -> None:
    if all(existing.endpoint != item.endpoint for existing in NAV):
        NAV.append(item)
        NAV.sort(key=lambda i: i.order)


def register_work(order: int, provider: Callable[[object], list[dict]]) -> None:
    if all(existing is not provider for _o, existing in WORK):
        WORK.append((order, provider))
        WORK.sort(key=lambda pair: pair[0])


def work_panels(user) -> list[dict]:
    """Return every domain's panels for the user's home page, in order."""
    return [panel for _order, provider in WORK for panel in provider(user)]


def menu() -> list[tuple[str, str, bool]]:
    """Return (url, label, current) for each menu entry the user may see."""
    endpoint = request.endpoint or ""
    return [
        (url_for(item.endpoint), str(item.label), endpoint.startswith(item.prefixes))
        for item in NAV
        if item.shown_to(current_user)
    ]


def init_app(app) -> None:
    @app.context_processor
    def inject_menu():
        # Mail composed outside a request (``qms remind``, the demo loader) has no user.
        return {"menu": menu if current_user and current_user.is_authenticated else list}
