"""Which departments' records and complaints each role sees: the one table.

Staff see what concerns their own department; a role whose work spans departments
(the quality office, auditors, administrators) sees every department's. Pages, the API,
search and the CSV/XLSX exports all ask this module, so no list or lookup can show
more than the detail page would. Something a user may not see answers 404, as if it
did not exist, so that numbers cannot be probed.
"""

from __future__ import annotations

from sqlalchemy import false, or_

#: Everything of that kind, in every department.
ALL = "all"
#: Only what concerns the user's own department, and what the user raised.
DEPARTMENT = "department"

#: role -> {kind: scope}. A user holding several roles gets the widest scope of any;
#: a role missing here (or a kind missing for a role) sees its own department's.
VISIBILITY: dict[str, dict[str, str]] = {
    "staff": {"record": DEPARTMENT, "complaint": DEPARTMENT},
    "author": {"record": DEPARTMENT, "complaint": DEPARTMENT},
    # Auditors take evidence from every department's records and complaint handling.
    "auditor": {"record": ALL, "complaint": ALL},
    # The quality office (management representative) answers for the whole system.
    "approver": {"record": ALL, "complaint": ALL},
    # Top management approves the manual and reviews the whole system's performance.
    "top_management": {"record": ALL, "complaint": ALL},
    "admin": {"record": ALL, "complaint": ALL},
}

KINDS = ("record", "complaint")


def scope(user, kind: str) -> str:
    """Return :data:`ALL` or :data:`DEPARTMENT`: how much of ``kind`` ``user`` sees."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}")
    for role in getattr(user, "roles", ()):
        if VISIBILITY.get(role, {}).get(kind) == ALL:
            return ALL
    return DEPARTMENT


def sees_all(user, kind: str) -> bool:
    """Return whether ``user`` sees every department's ``kind``."""
    return scope(user, kind) == ALL


def can_see(user, kind: str, department_id: int | None, owner_id: int | None = None) -> bool:
    """Return whether ``user`` may see one item of ``kind`` of that department and raiser."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if sees_all(user, kind):
        return True
    return department_id == user.department_id or (owner_id is not None and owner_id == user.id)


def restrict(stmt, user, kind: str, department_column, owner_column=None):
    """Narrow a select() to the items of ``kind`` that ``user`` sees."""
    clause = visible_clause(user, kind, department_column, owner_column)
    return stmt if clause is None else stmt.where(clause)


def visible_clause(user, kind: str, department_column, owner_column=None):
    """Return the SQL condition for what ``user`` sees of ``kind``, or None for everything."""
    if user is None or not getattr(user, "is_authenticated", False):
        return false()
    if sees_all(user, kind):
        return None
    own = department_column == user.department_id
    return own if owner_column is None else or_(own, owner_column == user.id)
