"""Directory sign-in: bind to LDAP or Active Directory as the user, keep a local copy.

Off while ``QMS_LDAP_URL`` is empty. When on, a name that is not a local account is
checked by binding to the directory with the password given, either straight to a DN
made from a template (``QMS_LDAP_BIND_DN``) or to the one entry a search finds
(``QMS_LDAP_BASE_DN`` + ``QMS_LDAP_USER_FILTER``, as Active Directory needs). On
success the local user is created or brought up to date (name, email, department,
roles from the directory groups), each change a trail event, and the sign-in goes on
as a local one would: sessions, throttling and lockout are the same code.

Local accounts (``source == "local"``) never ask the directory, so they keep working
when it is down, and a directory entry of the same name cannot take one over.
"""

import contextlib
import json
import logging
import os
import re
import ssl
import warnings
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import select

from qms import trail
from qms.auth.models import ROLES, User, UserRole
from qms.auth.services import (
    AccountLocked,
    _note_failure,
    _reset_failures,
    end_sessions,
    get_or_create_department,
    set_department,
    set_roles,
)
from qms.extensions import db
from qms.uow import transactional

log = logging.getLogger(__name__)

#: ``User.source`` of accounts this module created.
SOURCE = "ldap"

#: A password hash no password matches: a directory user's password stays in the directory.
UNUSABLE_PASSWORD = "!directory"

# LDAP result codes (RFC 4511) that mean "ask again later" rather than "refused".
_BUSY = {51, 52, 80}


class DirectoryUnavailable(Exception):
    """The directory cannot be asked now: down, unreachable, or misconfigured."""


@dataclass
class DirectoryEntry:
    """What the directory says about a user who has just bound."""

    username: str
    dn: str
    full_name: str = ""
    email: str | None = None
    department: str | None = None
    groups: list[str] = field(default_factory=list)


def enabled() -> bool:
    """Return whether directory sign-in is configured."""
    return bool(current_app.config.get("QMS_LDAP_URL"))


def _ldap3():
    with warnings.catch_warnings():
        # pyasn1 0.6 warns about names ldap3 2.9 still imports; nothing here to act on.
        warnings.simplefilter("ignore", DeprecationWarning)
        import ldap3
    return ldap3


# --- configuration -------------------------------------------------------------------


def _normalize_dn(dn: str) -> str:
    """Lower-case a DN (or a bare name) and drop the spaces around its commas and =."""
    parts = re.split(r"(?<!\\),", dn.strip())
    out = []
    for part in parts:
        attr, sep, value = part.partition("=")
        out.append(f"{attr.strip().lower()}={value.strip().lower()}" if sep else part.strip())
    return ",".join(out).lower()


def parse_group_roles(text: str | None) -> dict[str, set[str]]:
    """Read ``QMS_LDAP_GROUP_ROLES``: JSON ``{"group": "role" | [roles]}`` or
    ``group:role[,role];…``, where a group is its DN, ``cn=name`` or the bare name.

    Raises ValueError naming what is wrong (an unknown role, an entry without roles).
    """
    text = (text or "").strip()
    if not text:
        return {}
    if text.startswith("{"):
        raw = json.loads(text)
        if not isinstance(raw, dict):
            raise ValueError("QMS_LDAP_GROUP_ROLES must be a JSON object")
        items = [(k, v if isinstance(v, list) else [v]) for k, v in raw.items()]
    else:
        items = []
        for part in filter(None, (p.strip() for p in text.split(";"))):
            # A DN may hold ":" itself; the roles come after the last one.
            group, sep, roles = part.rpartition(":")
            if not sep or not group.strip():
                raise ValueError(f"QMS_LDAP_GROUP_ROLES: {part!r} is not group:role")
            items.append((group, roles.split(",")))
    mapping: dict[str, set[str]] = {}
    for group, roles in items:
        wanted = {str(r).strip() for r in roles if str(r).strip()}
        unknown = wanted - set(ROLES)
        if unknown or not wanted:
            raise ValueError(
                f"QMS_LDAP_GROUP_ROLES: roles of {group!r} must be among {', '.join(ROLES)}"
            )
        mapping.setdefault(_normalize_dn(group), set()).update(wanted)
    return mapping


def _default_roles(config) -> set[str]:
    roles = {r.strip() for r in (config.get("QMS_LDAP_DEFAULT_ROLES") or "").split(",")}
    roles.discard("")
    if roles - set(ROLES):
        raise ValueError(f"QMS_LDAP_DEFAULT_ROLES must be among {', '.join(ROLES)}")
    return roles


def check_config(config) -> None:
    """Refuse, at start-up, a directory configuration that cannot work."""
    if not config.get("QMS_LDAP_URL"):
        return
    if not config.get("QMS_LDAP_BIND_DN") and not config.get("QMS_LDAP_BASE_DN"):
        raise ValueError("QMS_LDAP_URL needs QMS_LDAP_BIND_DN or QMS_LDAP_BASE_DN")
    if config.get("QMS_LDAP_BIND_DN") and "{username}" not in config["QMS_LDAP_BIND_DN"]:
        raise ValueError("QMS_LDAP_BIND_DN must contain {username}")
    if config.get("QMS_LDAP_CA_FILE") and not os.path.isfile(config["QMS_LDAP_CA_FILE"]):
        raise ValueError(f"QMS_LDAP_CA_FILE: there is no file {config['QMS_LDAP_CA_FILE']}")
    parse_group_roles(config.get("QMS_LDAP_GROUP_ROLES"))
    _default_roles(config)


def roles_for(groups: list[str], config) -> set[str]:
    """Return the QMS roles that membership of ``groups`` (DNs) grants."""
    mapping = parse_group_roles(config.get("QMS_LDAP_GROUP_ROLES"))
    roles = set(_default_roles(config))
    for dn in groups:
        full = _normalize_dn(dn)
        rdn = full.split(",", 1)[0]
        for key in (full, rdn, rdn.partition("=")[2]):
            roles |= mapping.get(key, set())
    return roles


# --- the directory -------------------------------------------------------------------


def _server(config):
    ldap3 = _ldap3()
    from ldap3.core.exceptions import LDAPException

    try:
        # ldaps:// is recognised from the URL; its certificate is always checked.
        tls = ldap3.Tls(
            validate=ssl.CERT_REQUIRED, ca_certs_file=config.get("QMS_LDAP_CA_FILE") or None
        )
        # ldap3 takes scheme://host:port only; "ldap://host/" is common in configurations.
        return ldap3.Server(
            config["QMS_LDAP_URL"].strip().rstrip("/"),
            connect_timeout=config["QMS_LDAP_TIMEOUT"],
            get_info=ldap3.NONE,
            tls=tls,
        )
    except LDAPException as exc:
        raise DirectoryUnavailable(f"QMS_LDAP_URL: {exc}") from exc


def _bind(server, dn: str | None, password: str | None, config):
    """Return a connection bound as ``dn`` (anonymous for None), or None if refused.

    Raises DirectoryUnavailable when the server cannot be reached or answers busy.
    """
    ldap3 = _ldap3()
    from ldap3.core.exceptions import LDAPException

    conn = ldap3.Connection(
        server,
        user=dn,
        password=password,
        authentication=ldap3.SIMPLE if dn else ldap3.ANONYMOUS,
        receive_timeout=config["QMS_LDAP_TIMEOUT"],
        read_only=True,
        auto_referrals=False,
        raise_exceptions=False,
    )
    try:
        bound = conn.bind()
    except LDAPException as exc:
        _close(conn)
        raise DirectoryUnavailable(f"{type(exc).__name__}: {exc}") from exc
    if bound:
        return conn
    _close(conn)
    code = (conn.result or {}).get("result")
    if code in _BUSY:
        raise DirectoryUnavailable(f"bind answered {conn.result.get('description')}")
    return None


def _close(conn) -> None:
    """Close the connection's socket, whatever state the bind left it in."""
    from ldap3.core.exceptions import LDAPException

    with contextlib.suppress(LDAPException):
        conn.unbind()
    # ldap3 2.9 leaves the socket of a failed connect open.
    sock = getattr(conn, "socket", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.close()


def _search(conn, base: str, query: str, attributes: list[str], scope: str | None = None):
    """Return ``[(dn, attributes)]`` the search finds; a refused search finds nothing."""
    ldap3 = _ldap3()
    from ldap3.core.exceptions import LDAPException

    try:
        conn.search(base, query, search_scope=scope or ldap3.SUBTREE, attributes=attributes)
    except LDAPException as exc:
        raise DirectoryUnavailable(f"{type(exc).__name__}: {exc}") from exc
    if (conn.result or {}).get("result") in _BUSY:
        raise DirectoryUnavailable(f"search answered {conn.result.get('description')}")
    return [
        (item["dn"], item.get("attributes") or {})
        for item in conn.response or []
        if item.get("type") == "searchResEntry"
    ]


def _values(attributes: dict, name: str) -> list[str]:
    if not name:
        return []
    for key, value in attributes.items():
        if key.lower() == name.lower():
            values = value if isinstance(value, list) else [value]
            return [str(v) for v in values if v not in (None, "", b"")]
    return []


def _first(attributes: dict, *names: str) -> str:
    for name in names:
        values = _values(attributes, name)
        if values:
            return values[0].strip()
    return ""


def bind_user(username: str, password: str) -> DirectoryEntry | None:
    """Bind to the directory as ``username`` with ``password``.

    Returns the user's entry, or None when the directory refuses the credentials or
    knows no such user. Raises DirectoryUnavailable when it cannot be asked.
    """
    if not username or not password:
        # An empty password is an "unauthenticated bind", which some servers accept.
        return None
    ldap3 = _ldap3()
    from ldap3.utils.conv import escape_filter_chars
    from ldap3.utils.dn import escape_rdn

    config = current_app.config
    server = _server(config)
    user_attr = config["QMS_LDAP_USERNAME_ATTR"]
    department_attr = config.get("QMS_LDAP_DEPARTMENT_ATTR") or ""
    wanted = [user_attr, "displayName", "cn", "mail", "memberOf"]
    if department_attr:
        wanted.append(department_attr)
    if config.get("QMS_LDAP_BIND_DN"):
        dn = config["QMS_LDAP_BIND_DN"].format(username=escape_rdn(username))
        conn = _bind(server, dn, password, config)
        if conn is None:
            return None
        try:
            found = _search(conn, dn, "(objectClass=*)", wanted, scope=ldap3.BASE)
        except DirectoryUnavailable:
            _close(conn)
            raise
        attributes = found[0][1] if found else {}
    else:
        service = _bind(
            server,
            config.get("QMS_LDAP_BIND_USER") or None,
            config.get("QMS_LDAP_BIND_PASSWORD") or None,
            config,
        )
        if service is None:
            raise DirectoryUnavailable("the directory refused the service account")
        try:
            query = config["QMS_LDAP_USER_FILTER"].format(username=escape_filter_chars(username))
            found = _search(service, config["QMS_LDAP_BASE_DN"], query, wanted)
        finally:
            _close(service)
        if len(found) != 1:
            # None, or a filter that is not specific enough: nobody to bind as.
            return None
        dn, attributes = found[0]
        conn = _bind(server, dn, password, config)
        if conn is None:
            return None
    try:
        groups = _values(attributes, "memberOf")
        if config.get("QMS_LDAP_GROUP_BASE"):
            query = config["QMS_LDAP_GROUP_FILTER"].format(
                dn=escape_filter_chars(dn), username=escape_filter_chars(username)
            )
            groups += [g for g, _ in _search(conn, config["QMS_LDAP_GROUP_BASE"], query, ["cn"])]
    finally:
        _close(conn)
    return DirectoryEntry(
        username=_first(attributes, user_attr) or username,
        dn=dn,
        full_name=_first(attributes, "displayName", "cn")[:200],
        email=_first(attributes, "mail")[:200] or None,
        department=_first(attributes, department_attr)[:120] or None,
        groups=groups,
    )


# --- the local copy ------------------------------------------------------------------


def _valid_name(username: str) -> bool:
    return bool(username) and len(username) <= 80 and not any(c.isspace() for c in username)


def authenticate(username: str, password: str, user: User | None) -> User | None:
    """Sign ``username`` in against the directory; ``user`` is the local copy, if any.

    Returns the synchronised local user or None; raises AccountLocked for a locked
    copy (without asking the directory) and DirectoryUnavailable.
    """
    if user is not None:
        if not user.active:
            return None
        if user.locked_at is not None:
            raise AccountLocked(user.username)
    if not password or not _valid_name(username):
        return None
    try:
        entry = bind_user(username, password)
    except DirectoryUnavailable as exc:
        log.warning("directory sign-in of %s unavailable: %s", username, exc)
        raise
    if entry is None:
        if user is not None:
            _note_failure(user)
        return None
    return sync_user(entry)


@transactional
def sync_user(entry: DirectoryEntry) -> User | None:
    """Create or update the local user of a directory entry that has just bound.

    Returns None when the entry may not sign in here: the name belongs to a local
    account, the copy is switched off, or no group grants a role.
    """
    config = current_app.config
    if not _valid_name(entry.username):
        log.warning("directory user %r has a name this system cannot use", entry.username)
        return None
    user = db.session.scalar(select(User).where(User.username == entry.username))
    if user is not None and user.source != SOURCE:
        log.warning("directory user %s has the name of a local account", entry.username)
        return None
    if user is not None and not user.active:
        return None
    if user is not None and user.locked_at is not None:
        raise AccountLocked(user.username)
    roles = sorted(roles_for(entry.groups, config))
    if not roles:
        if user is not None:
            # Out of every mapped group: not even a remember-me cookie lets them in.
            end_sessions(user)
        log.info("directory user %s is in no group that grants a role", entry.username)
        return None
    if user is None:
        department = entry.department or config["QMS_LDAP_DEFAULT_DEPARTMENT"]
        user = User(
            username=entry.username,
            full_name=entry.full_name,
            email=entry.email,
            password_hash=UNUSABLE_PASSWORD,
            source=SOURCE,
            department=get_or_create_department(department),
            role_rows=[UserRole(role=r) for r in roles],
        )
        db.session.add(user)
        db.session.flush()
        trail.record(
            "user.created",
            "user",
            user.username,
            after={"roles": roles, "department": department, "source": SOURCE},
        )
        return user
    before = {"full_name": user.full_name, "email": user.email}
    after = {"full_name": entry.full_name, "email": entry.email}
    if before != after:
        user.full_name, user.email = entry.full_name, entry.email
        trail.record("user.directory_updated", "user", user.username, before=before, after=after)
    set_roles(user, roles)
    if entry.department:
        set_department(user, entry.department)
    if user.failed_sign_ins:
        _reset_failures(user)
    return user
