"""Rules for accounts: creating users, checking passwords, issuing API tokens."""

import hashlib
import secrets
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm.attributes import set_committed_value
from werkzeug.security import check_password_hash, generate_password_hash

from qms import trail
from qms.auth.models import ROLES, ApiToken, Department, User, UserRole
from qms.errors import ValidationFailed
from qms.extensions import db
from qms.models import aware, utcnow
from qms.uow import transactional

#: A token's use is recorded at most this often: reads should not write.
TOKEN_USE_RESOLUTION = timedelta(minutes=1)
#: The longest validity a token may be given: a forgotten token should not outlive years.
TOKEN_MAX_DAYS = 730


class AccountError(ValueError):
    """A user or token request that cannot be carried out."""


class PasswordRejected(AccountError):
    """A password refused, in the user's language; ``field`` names the form field."""

    def __init__(self, message: str, field: str = "new"):
        super().__init__(message)
        self.field = field


class AccountLocked(AccountError):
    """Too many wrong passwords: the account waits for an administrator."""


@transactional
def get_or_create_department(name: str, by: User | None = None) -> Department:
    """Return the department called ``name``, creating it when it does not exist yet."""
    name = name.strip()
    if not name:
        raise AccountError("A department name is required.")
    department = db.session.scalar(select(Department).where(Department.name == name))
    if department is None:
        department = Department(name=name)
        db.session.add(department)
        db.session.flush()
        trail.record("department.created", "department", name, after={"name": name}, user=by)
    return department


@transactional
def create_user(
    username: str,
    password: str,
    roles: list[str],
    department: str,
    full_name: str = "",
    email: str | None = None,
    locale: str | None = None,
    by: User | None = None,
) -> User:
    """Create a user in ``department`` holding ``roles``; ``by`` is who did (the trail's actor)."""
    username = username.strip()
    if not username or len(username) > 80 or any(c.isspace() for c in username):
        raise AccountError("A username is required and may not contain spaces.")
    unknown = set(roles) - set(ROLES)
    if unknown or not roles:
        raise AccountError(f"Roles must be among {', '.join(ROLES)}.")
    check_password_policy(password, username, full_name, email)
    if db.session.scalar(select(User).where(User.username == username)):
        raise AccountError(f"User {username} already exists.")
    user = User(
        username=username,
        full_name=full_name,
        email=email,
        locale=locale,
        password_hash=generate_password_hash(
            password, method=current_app.config["QMS_PASSWORD_METHOD"]
        ),
        department=get_or_create_department(department, by=by),
        role_rows=[UserRole(role=r) for r in sorted(set(roles))],
    )
    db.session.add(user)
    db.session.flush()
    trail.record(
        "user.created",
        "user",
        username,
        after={"roles": sorted(set(roles)), "department": department},
        user=by,
    )
    return user


def check_password_policy(password: str, *context: str | None) -> None:
    """Refuse a password that is short or easy to guess, in the user's language.

    zxcvbn knows the common-password lists and keyboard patterns; ``context`` (the
    username, name, email) counts as guessable too.
    """
    if len(password or "") < 8:
        raise PasswordRejected(_("A password needs at least 8 characters."))
    from zxcvbn import zxcvbn

    hints = [c for c in context if c]
    # zxcvbn's cost grows with length; past 100 characters a password is not common.
    score = zxcvbn(password[:100], user_inputs=hints)["score"]
    if score < current_app.config.get("QMS_PASSWORD_MIN_SCORE", 2):
        raise PasswordRejected(
            _("This password is too common or too easy to guess. Choose a longer, less usual one.")
        )


def verify_password(user: User, password: str) -> bool:
    """Return whether ``password`` is the user's password."""
    return bool(password) and check_password_hash(user.password_hash, password)


def active_user_named(username: str | None, field_name: str) -> User | None:
    """Return the active user ``username`` (None for none given), or refuse beside the field."""
    username = (username or "").strip()
    if not username:
        return None
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None or not user.active:
        raise ValidationFailed(_("There is no user %(name)s.", name=username), field=field_name)
    return user


_DUMMY_HASHES: dict[str, str] = {}


def _dummy_hash() -> str:
    """A hash of nothing anyone knows, made with the installation's method."""
    method = current_app.config["QMS_PASSWORD_METHOD"]
    if method not in _DUMMY_HASHES:
        _DUMMY_HASHES[method] = generate_password_hash(secrets.token_hex(16), method=method)
    return _DUMMY_HASHES[method]


def authenticate(username: str, password: str) -> User | None:
    """Return the active user with these credentials, or None.

    An unknown name costs one password check too, so that the answer's time does not
    tell which names exist. A locked account raises :class:`AccountLocked` even with
    the right password. With directory sign-in on, a name that is not a local account
    is checked by the directory (qms.auth.ldap), which may raise DirectoryUnavailable.
    """
    name = (username or "").strip()
    user = db.session.scalar(select(User).where(User.username == name))
    if current_app.config.get("QMS_LDAP_URL") and (user is None or user.source == "ldap"):
        from qms.auth import ldap

        return ldap.authenticate(name, password, user)
    if user is None:
        check_password_hash(_dummy_hash(), password or "")
        return None
    good = verify_password(user, password)
    if not user.active:
        return None
    if user.locked_at is not None:
        raise AccountLocked(user.username)
    if not good:
        _note_failure(user)
        return None
    if user.failed_sign_ins:
        _reset_failures(user)
    return user


@transactional
def _note_failure(user: User) -> None:
    user.failed_sign_ins = (user.failed_sign_ins or 0) + 1
    if user.failed_sign_ins >= current_app.config.get("QMS_LOCKOUT_AFTER", 100):
        user.locked_at = utcnow()
        trail.record("user.locked", "user", user.username, after={"failed": user.failed_sign_ins})


@transactional
def _reset_failures(user: User) -> None:
    user.failed_sign_ins = 0


@transactional
def unlock(user: User, by: User | None = None) -> None:
    """Lift a lockout and forget the wrong passwords."""
    if user.locked_at is None and not user.failed_sign_ins:
        return
    user.locked_at = None
    user.failed_sign_ins = 0
    trail.record("user.unlocked", "user", user.username, user=by)


@transactional
def end_sessions(user: User) -> None:
    """End every session and remember-me cookie of ``user`` (sign-out, password change)."""
    user.session_version = (user.session_version or 0) + 1


def _set_password(user: User, password: str) -> None:
    check_password_policy(password, user.username, user.full_name, user.email)
    user.password_hash = generate_password_hash(
        password, method=current_app.config["QMS_PASSWORD_METHOD"]
    )
    # Sessions elsewhere were opened with the old password: they end.
    end_sessions(user)


def _local_password(user: User) -> None:
    """Refuse to set a password here for an account whose password the directory keeps."""
    if user.source == "ldap":
        raise PasswordRejected(
            _(
                "%(name)s signs in with the directory's password: change it in the "
                "directory (Active Directory or LDAP), not here.",
                name=user.username,
            ),
            field="new",
        )


@transactional
def change_password(user: User, old: str, new: str) -> None:
    """Change one's own password; the old one must be given."""
    _local_password(user)
    if not verify_password(user, old):
        raise PasswordRejected(_("The current password is not correct."), field="current")
    if old == new:
        raise PasswordRejected(_("The new password must differ from the current one."))
    _set_password(user, new)
    user.must_change_password = False
    trail.record("user.password_changed", "user", user.username, user=user)


@transactional
def reset_password(user: User, new: str, by: User | None = None, must_change: bool = True) -> None:
    """Set a password for ``user``, who must choose their own at the next sign-in.

    ``must_change=False`` (the shell's ``set-password --final``) keeps it as it is.
    """
    _local_password(user)
    _set_password(user, new)
    user.must_change_password = must_change
    user.locked_at = None
    user.failed_sign_ins = 0
    trail.record(
        "user.password_reset",
        "user",
        user.username,
        user=by,
        after={"must_change_password": must_change},
    )


def active_admins() -> int:
    """Return how many active accounts hold the admin role."""
    return db.session.scalar(
        select(func.count(User.id.distinct()))
        .join(UserRole, UserRole.user_id == User.id)
        .where(User.active.is_(True), UserRole.role == "admin")
    )


def _keep_an_admin(user: User) -> None:
    """Refuse a change that would leave no active administrator.

    Without one nobody can reach the account pages again; only the shell could help.
    """
    if active_admins() <= 1:
        raise AccountError(
            _(
                "%(name)s is the last active administrator: appoint another one first.",
                name=user.username,
            )
        )


@transactional
def set_active(user: User, active: bool, by: User | None = None) -> None:
    """Switch an account on or off; switching off ends its sessions and tokens' use."""
    if user.active == active:
        return
    if not active and "admin" in user.roles:
        _keep_an_admin(user)
    user.active = active
    if not active:
        end_sessions(user)
    trail.record(
        "user.activated" if active else "user.deactivated",
        "user",
        user.username,
        user=by,
        before={"active": not active},
        after={"active": active},
    )


@transactional
def set_roles(user: User, roles: list[str], by: User | None = None) -> None:
    """Replace the roles ``user`` holds."""
    roles = sorted(set(roles))
    if not roles or set(roles) - set(ROLES):
        raise AccountError(_("Roles must be among %(roles)s.", roles=", ".join(ROLES)))
    before = sorted(user.roles)
    if before == roles:
        return
    if user.active and "admin" in before and "admin" not in roles:
        _keep_an_admin(user)
    # Keep the rows of the roles that stay: a removed and re-added row for the same role
    # would be inserted before the old one is deleted and break the unique constraint.
    kept = [row for row in user.role_rows if row.role in roles]
    user.role_rows = kept + [UserRole(role=r) for r in roles if r not in before]
    trail.record(
        "user.roles_changed",
        "user",
        user.username,
        user=by,
        before={"roles": before},
        after={"roles": roles},
    )


@transactional
def set_department(user: User, department: str, by: User | None = None) -> None:
    """Move ``user`` to ``department`` (created when new)."""
    target = get_or_create_department(department)
    if user.department_id == target.id:
        return
    before = user.department.name
    user.department = target
    trail.record(
        "user.department_changed",
        "user",
        user.username,
        user=by,
        before={"department": before},
        after={"department": target.name},
    )


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transactional
def record_sign_in(user: User) -> None:
    """Leave the sign-in on the trail."""
    trail.record("user.signed_in", "user", user.username, user=user)


@transactional
def update_profile(user: User, full_name: str, email: str | None, locale: str | None) -> None:
    """Save the name, email and language a user gives themselves."""
    user.full_name = full_name.strip()
    user.email = (email or "").strip() or None
    user.locale = locale or None


@transactional
def create_token(user: User, days: int | None = 90, label: str = "") -> str:
    """Issue a new API token for ``user`` and return it; only its digest is kept.

    The token expires after ``days`` (None: never, for the shell's ``qms token`` only).
    """
    if days is not None and days < 1:
        raise AccountError(_("A token must be valid for at least one day."))
    if days is not None and days > TOKEN_MAX_DAYS:
        raise AccountError(
            _("A token may be valid for at most %(days)d days.", days=TOKEN_MAX_DAYS)
        )
    label = (label or "").strip()
    if len(label) > 120:
        raise AccountError(_("A token's label may have at most 120 characters."))
    if not user.active:
        raise AccountError(_("%(name)s is switched off.", name=user.username))
    token = secrets.token_urlsafe(32)
    expires = utcnow() + timedelta(days=days) if days is not None else None
    db.session.add(
        ApiToken(user_id=user.id, token_hash=_digest(token), expires_at=expires, label=label)
    )
    trail.record(
        "token.created",
        "user",
        user.username,
        after={"expires_at": expires.isoformat() if expires else None, "label": label},
    )
    return token


def user_named(username: str) -> User:
    """Return the user ``username``, active or not, or refuse."""
    user = db.session.scalar(select(User).where(User.username == (username or "").strip()))
    if user is None:
        raise AccountError(_("There is no user %(name)s.", name=username))
    return user


def last_sign_ins(users: list[User]) -> dict[str, datetime]:
    """Return when each of ``users`` last signed in, by username, from the trail."""
    AuditEvent = trail.AuditEvent
    names = [u.username for u in users]
    if not names:
        return {}
    rows = db.session.execute(
        select(AuditEvent.object_key, func.max(AuditEvent.at))
        .where(
            AuditEvent.action == "user.signed_in",
            AuditEvent.object_type == "user",
            AuditEvent.object_key.in_(names),
        )
        .group_by(AuditEvent.object_key)
    )
    return {name: aware(at) for name, at in rows}


def tokens_of(user: User) -> list[ApiToken]:
    """Return the user's tokens, newest first, revoked ones included."""
    return list(
        db.session.scalars(
            select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())
        )
    )


@transactional
def revoke_token(user: User, token_id: int, by: User | None = None) -> None:
    """Revoke the user's token ``token_id``; a revoked token never authenticates again."""
    row = db.session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id:
        raise AccountError(_("There is no such token."))
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        trail.record("token.revoked", "user", user.username, user=by, after={"token": row.id})


def token_usable(row: ApiToken) -> bool:
    """Return whether ``row`` may authenticate now (not revoked, not expired)."""
    if row.revoked_at is not None:
        return False
    return row.expires_at is None or aware(row.expires_at) > utcnow()


def token_state(row: ApiToken) -> str:
    """Return "revoked", "expired" or "valid"."""
    if row.revoked_at is not None:
        return "revoked"
    return "valid" if token_usable(row) else "expired"


def user_for_token(token: str) -> User | None:
    """Return the active user owning ``token``, or None."""
    if not token:
        return None
    row = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(token)))
    if row is None or not row.user.active or not token_usable(row):
        return None
    _note_use(row)
    return row.user


def _note_use(row: ApiToken) -> None:
    """Record that ``row`` was used, at most once a :data:`TOKEN_USE_RESOLUTION`.

    The write is its own short transaction on its own connection, so the request's
    transaction stays read-only: a GET takes no write lock (SQLite's is the whole file)
    and a request that later fails does not lose the note, nor hold the row.
    """
    now = utcnow()
    if row.last_used_at is not None and now - aware(row.last_used_at) < TOKEN_USE_RESOLUTION:
        return
    stale = now - TOKEN_USE_RESOLUTION
    with db.engine.begin() as conn:
        conn.execute(
            update(ApiToken)
            .where(ApiToken.id == row.id)
            .where(or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at < stale))
            .values(last_used_at=now)
        )
    # The session's copy follows without becoming a change of the request's own.
    set_committed_value(row, "last_used_at", now)
