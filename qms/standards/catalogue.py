"""The service catalogue: service items (事项) and windows (窗口), for pages and API alike.

- The quality office (approvers) and administrators keep the catalogue
  (:func:`can_manage_catalogue`); everyone signed in may read it.
- An item's code is unique and its working-day limits are whole numbers of at least
  one, the promised one no longer than the statutory one.
- An item is governed by documents of the register (by code) and by external standards
  (by number); which of them count is :mod:`qms.standards.coverage`'s rule.
- An import (:mod:`qms.standards.catalogue_import`) stores every row or none.

Nothing here commits: the outermost ``@transactional`` call owns the transaction. The
lookups other domains use (:func:`item_by_code`, :func:`window_by_code`,
:func:`active_items`, :func:`active_windows`) keep their names.
"""

from __future__ import annotations

import re

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from qms import trail
from qms.auth.models import Department, User
from qms.documents import services as documents
from qms.errors import NotFound, PermissionDenied, ValidationFailed
from qms.extensions import db
from qms.standards.models import (
    ExternalStandard,
    ServiceItem,
    ServiceItemDocument,
    ServiceItemStandard,
    ServiceWindow,
    service_item_window,
)
from qms.uow import transactional

OFFICE_ROLES = ("approver", "admin")
#: Codes the catalogue's own pages use as path segments.
RESERVED_CODES = ("import", "coverage")
CODE = re.compile(r"^\w[\w.\-]*$")
#: The longest time limit taken, in working days (ten years).
MAX_DAYS = 2500

#: Load what governs items with them, successors included: coverage reads it all.
GOVERNING = (
    selectinload(ServiceItem.standard_rows)
    .joinedload(ServiceItemStandard.standard)
    .selectinload(ExternalStandard.replaced_by),
)

# -- lookups other domains use --------------------------------------------------------------


def item_by_code(code: str) -> ServiceItem | None:
    return db.session.scalar(select(ServiceItem).filter_by(code=code.strip()))


def window_by_code(code: str) -> ServiceWindow | None:
    return db.session.scalar(select(ServiceWindow).filter_by(code=code.strip()))


def active_items() -> list[ServiceItem]:
    stmt = select(ServiceItem).filter_by(active=True).order_by("code").options(*GOVERNING)
    return list(db.session.scalars(stmt))


def active_windows() -> list[ServiceWindow]:
    return list(db.session.scalars(select(ServiceWindow).filter_by(active=True).order_by("code")))


# -- who may ------------------------------------------------------------------------------


def can_manage_catalogue(user) -> bool:
    """Add, change, deactivate and import service items and windows: the quality office."""
    return bool(getattr(user, "is_authenticated", False)) and user.has_role(*OFFICE_ROLES)


def require_office(actor: User) -> None:
    """Refuse ``actor`` unless :func:`can_manage_catalogue` allows them."""
    if not can_manage_catalogue(actor):
        raise PermissionDenied(_("Only the quality office may change the service catalogue."))


# -- reading ------------------------------------------------------------------------------


def get_item(code: str) -> ServiceItem:
    """Return the item with ``code`` or raise :class:`NotFound`."""
    item = item_by_code(code or "")
    if item is None:
        raise NotFound(_("There is no service item %(code)s.", code=code))
    return item


def get_window(code: str) -> ServiceWindow:
    """Return the window with ``code`` or raise :class:`NotFound`."""
    window = window_by_code(code or "")
    if window is None:
        raise NotFound(_("There is no window %(code)s.", code=code))
    return window


def list_items(
    department: str | None = None,
    window: str | None = None,
    include_inactive: bool = False,
    q: str | None = None,
) -> list[ServiceItem]:
    """Return the items, by code, of a department (by name) or a window (by code)."""
    stmt = select(ServiceItem).order_by(ServiceItem.code).options(*GOVERNING)
    if not include_inactive:
        stmt = stmt.where(ServiceItem.active.is_(True))
    if department:
        stmt = stmt.join(Department, ServiceItem.department_id == Department.id).where(
            Department.name == department
        )
    if window:
        stmt = (
            stmt.join(service_item_window, service_item_window.c.item_id == ServiceItem.id)
            .join(ServiceWindow, ServiceWindow.id == service_item_window.c.window_id)
            .where(ServiceWindow.code == window)
        )
    if q:
        pattern = f"%{q}%"
        stmt = stmt.where(ServiceItem.code.ilike(pattern) | ServiceItem.name.ilike(pattern))
    return list(db.session.scalars(stmt))


def list_windows(include_inactive: bool = True) -> list[ServiceWindow]:
    stmt = select(ServiceWindow).order_by(ServiceWindow.code)
    if not include_inactive:
        stmt = stmt.where(ServiceWindow.active.is_(True))
    return list(db.session.scalars(stmt))


def items_of_window(window: ServiceWindow) -> list[ServiceItem]:
    """Return the items ``window`` handles, active ones first, by code."""
    stmt = (
        select(ServiceItem)
        .join(service_item_window, service_item_window.c.item_id == ServiceItem.id)
        .where(service_item_window.c.window_id == window.id)
        .order_by(ServiceItem.active.desc(), ServiceItem.code)
        .options(*GOVERNING)
    )
    return list(db.session.scalars(stmt))


def department_names() -> list[str]:
    return list(db.session.scalars(select(Department.name).order_by(Department.name)))


# -- checking what is given -----------------------------------------------------------------


def check_code(value, field: str = "code") -> str:
    """Return an item's or window's code, stripped; raise :class:`ValidationFailed`."""
    code = str(value or "").strip()
    if not code:
        raise ValidationFailed(_("A code is required."), field=field)
    if len(code) > 40 or not CODE.match(code) or code.lower() in RESERVED_CODES:
        raise ValidationFailed(
            _(
                "A code is up to 40 letters, digits, dots, hyphens or underscores, "
                "and not “import” or “coverage”."
            ),
            field=field,
        )
    return code


def _name(value, limit: int) -> str:
    name = str(value or "").strip()
    if not name:
        raise ValidationFailed(_("A name is required."), field="name")
    if len(name) > limit:
        raise ValidationFailed(_("A name is at most %(n)s characters.", n=limit), field="name")
    return name


def _days(value, field: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_DAYS:
        raise ValidationFailed(
            _("A time limit is a whole number of working days from 1 to %(n)s.", n=MAX_DAYS),
            field=field,
        )
    return value


def _limits(promised: int | None, statutory: int | None) -> None:
    if promised is not None and statutory is not None and promised > statutory:
        raise ValidationFailed(
            _(
                "The promised time limit (%(promised)s days) cannot be longer than the "
                "statutory one (%(statutory)s days).",
                promised=promised,
                statutory=statutory,
            ),
            field="promised_days",
        )


def _department(name) -> Department | None:
    name = str(name or "").strip()
    if not name:
        return None
    dept = db.session.scalar(select(Department).where(Department.name == name))
    if dept is None:
        raise ValidationFailed(_("There is no department %(name)s.", name=name), field="department")
    return dept


def _unique(values) -> list[str]:
    return list(dict.fromkeys(str(v).strip() for v in values or () if str(v).strip()))


def _windows(codes) -> list[ServiceWindow]:
    found = []
    for code in _unique(codes):
        window = window_by_code(code)
        if window is None:
            raise ValidationFailed(_("There is no window %(code)s.", code=code), field="windows")
        found.append(window)
    return found


def _documents(codes) -> list:
    found = []
    for code in _unique(codes):
        try:
            doc = documents.get_document(code)
        except NotFound as exc:
            raise ValidationFailed(exc.message, field="documents") from None
        if doc.doc_type == "record_form":
            raise ValidationFailed(
                _(
                    "%(code)s is a record form: an item is governed by procedures, work "
                    "specifications and standards.",
                    code=code,
                ),
                field="documents",
            )
        found.append(doc)
    return found


def _standards(numbers) -> list[ExternalStandard]:
    found = []
    for number in _unique(numbers):
        standard = db.session.scalar(
            select(ExternalStandard).where(ExternalStandard.number == number)
        )
        if standard is None:
            raise ValidationFailed(
                _("There is no external standard %(number)s.", number=number),
                field="standards",
            )
        found.append(standard)
    return found


def item_snapshot(item: ServiceItem) -> dict:
    """What the trail keeps of an item, before and after a change."""
    return {
        "code": item.code,
        "name": item.name,
        "legal_basis": item.legal_basis,
        "promised_days": item.promised_days,
        "statutory_days": item.statutory_days,
        "department": item.department.name if item.department else None,
        "windows": [w.code for w in item.windows],
        "documents": sorted(row.document.code for row in item.document_rows),
        "standards": sorted(row.standard.number for row in item.standard_rows),
        "active": item.active,
    }


def window_snapshot(window: ServiceWindow) -> dict:
    return {
        "code": window.code,
        "name": window.name,
        "department": window.department.name if window.department else None,
        "active": window.active,
    }


# -- windows --------------------------------------------------------------------------------


@transactional
def add_window(actor: User, code: str, name: str, department: str | None = None) -> ServiceWindow:
    """Add a window of the service hall, staffed by ``department`` (a name)."""
    require_office(actor)
    code = check_code(code)
    if window_by_code(code) is not None:
        raise ValidationFailed(_("There is already a window %(code)s.", code=code), field="code")
    window = ServiceWindow(code=code, name=_name(name, 200), active=True)
    window.department = _department(department)
    db.session.add(window)
    db.session.flush()
    trail.record(
        "service_window.added", "service_window", code, after=window_snapshot(window), user=actor
    )
    return window


@transactional
def change_window(actor: User, window: ServiceWindow, **changes) -> ServiceWindow:
    """Change a window's name, department (a name) or whether it is ``active``."""
    require_office(actor)
    before = window_snapshot(window)
    if "name" in changes:
        window.name = _name(changes["name"], 200)
    if "department" in changes:
        window.department = _department(changes["department"])
    if "active" in changes:
        window.active = bool(changes["active"])
    after = window_snapshot(window)
    if after == before:
        raise ValidationFailed(_("Nothing was changed."))
    db.session.flush()
    trail.record("service_window.changed", "service_window", window.code, before, after, user=actor)
    return window


# -- items ----------------------------------------------------------------------------------

ITEM_FIELDS = (
    "name",
    "legal_basis",
    "promised_days",
    "statutory_days",
    "department",
    "windows",
    "documents",
    "standards",
    "active",
)


def apply_item_changes(item: ServiceItem, changes: dict) -> None:
    """Check ``changes`` and set them on ``item``; raise :class:`ValidationFailed`."""
    if "name" in changes:
        item.name = _name(changes["name"], 300)
    if "legal_basis" in changes:
        item.legal_basis = str(changes["legal_basis"] or "").strip()
    if "promised_days" in changes:
        item.promised_days = _days(changes["promised_days"], "promised_days")
    if "statutory_days" in changes:
        item.statutory_days = _days(changes["statutory_days"], "statutory_days")
    _limits(item.promised_days, item.statutory_days)
    if "department" in changes:
        item.department = _department(changes["department"])
    if "windows" in changes:
        item.windows = _windows(changes["windows"])
    if "documents" in changes:
        wanted = _documents(changes["documents"])
        kept = [row for row in item.document_rows if row.document in wanted]
        have = {row.document.id for row in kept}
        item.document_rows = kept + [
            ServiceItemDocument(document=d) for d in wanted if d.id not in have
        ]
    if "standards" in changes:
        wanted_s = _standards(changes["standards"])
        kept_s = [row for row in item.standard_rows if row.standard in wanted_s]
        have_s = {row.standard.id for row in kept_s}
        item.standard_rows = kept_s + [
            ServiceItemStandard(standard=s) for s in wanted_s if s.id not in have_s
        ]
    if "active" in changes:
        item.active = bool(changes["active"])


@transactional
def add_item(actor: User, code: str, name: str, **fields) -> ServiceItem:
    """Add a service item; ``fields`` may hold legal_basis, promised_days, statutory_days,
    department (a name), windows (codes), documents (codes) and standards (numbers)."""
    require_office(actor)
    code = check_code(code)
    if item_by_code(code) is not None:
        raise ValidationFailed(
            _("There is already a service item %(code)s.", code=code), field="code"
        )
    unknown = set(fields) - set(ITEM_FIELDS)
    if unknown:
        raise ValidationFailed(_("Unknown fields: %(names)s.", names=", ".join(sorted(unknown))))
    item = ServiceItem(code=code, name="", legal_basis="", active=True)
    apply_item_changes(item, {"name": name, **fields})
    db.session.add(item)
    db.session.flush()
    trail.record("service_item.added", "service_item", code, after=item_snapshot(item), user=actor)
    return item


@transactional
def change_item(actor: User, item: ServiceItem, **changes) -> ServiceItem:
    """Change an item; ``changes`` holds any of :data:`ITEM_FIELDS` (``active=False``
    deactivates it: it leaves the coverage figures and the lists, its history stays)."""
    require_office(actor)
    unknown = set(changes) - set(ITEM_FIELDS)
    if unknown:
        raise ValidationFailed(_("Unknown fields: %(names)s.", names=", ".join(sorted(unknown))))
    before = item_snapshot(item)
    apply_item_changes(item, changes)
    after = item_snapshot(item)
    if after == before:
        raise ValidationFailed(_("Nothing was changed."))
    db.session.flush()
    action = "service_item.changed"
    if before["active"] != after["active"]:
        action = "service_item.deactivated" if not after["active"] else "service_item.reactivated"
    trail.record(action, "service_item", item.code, before, after, user=actor)
    return item


def successor_in_force(standard: ExternalStandard) -> ExternalStandard | None:
    """Follow ``standard``'s chain of replacements to the first one in force, if any."""
    seen = {standard.id}
    current = standard.replaced_by
    while current is not None and current.id not in seen:
        if current.status == "in_force":
            return current
        seen.add(current.id)
        current = current.replaced_by
    return None


@transactional
def take_replacements(actor: User, item: ServiceItem) -> list[str]:
    """Govern ``item`` by the standards in force that replace its replaced or withdrawn
    ones (缺标补标 in one step); return the numbers taken. Refused when none has one."""
    require_office(actor)
    numbers = [row.standard.number for row in item.standard_rows]
    taken = []
    for row in item.standard_rows:
        if row.standard.status == "in_force":
            continue
        successor = successor_in_force(row.standard)
        if successor is not None:
            numbers.remove(row.standard.number)
            if successor.number not in numbers:
                numbers.append(successor.number)
            taken.append(successor.number)
    if not taken:
        raise ValidationFailed(
            _("None of the item's standards has a replacement in force in the register.")
        )
    change_item(actor, item, standards=numbers)
    return taken
