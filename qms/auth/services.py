"""Rules for accounts: creating users, checking passwords, issuing API tokens."""

import hashlib
import secrets
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import or_, select, update
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


class AccountError(ValueError):
    """A user or token request that cannot be carried out."""


@transactional
def get_or_create_department(name: str) -> Department:
    """Return the department called ``name``, creating it when it does not exist yet."""
    name = name.strip()
    if not name:
        raise AccountError("A department name is required.")
    department = db.session.scalar(select(Department).where(Department.name == name))
    if department is None:
        department = Department(name=name)
        db.session.add(department)
        db.session.flush()
        trail.record("department.created", "department", name, after={"name": name})
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
) -> User:
    """Create a user in ``department`` holding ``roles``."""
    username = username.strip()
    if not username or len(username) > 80 or any(c.isspace() for c in username):
        raise AccountError("A username is required and may not contain spaces.")
    unknown = set(roles) - set(ROLES)
    if unknown or not roles:
        raise AccountError(f"Roles must be among {', '.join(ROLES)}.")
    if len(password) < 8:
        raise AccountError("A password needs at least 8 characters.")
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
        department=get_or_create_department(department),
        role_rows=[UserRole(role=r) for r in sorted(set(roles))],
    )
    db.session.add(user)
    db.session.flush()
    trail.record(
        "user.created",
        "user",
        username,
        after={"roles": sorted(set(roles)), "department": department},
    )
    return user


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


def authenticate(username: str, password: str) -> User | None:
    """Return the active user with these credentials, or None."""
    user = db.session.scalar(select(User).where(User.username == username.strip()))
    if user is None or not user.active or not verify_password(user, password):
        return None
    return user


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
def create_token(user: User) -> str:
    """Issue a new API token for ``user`` and return it; only its digest is kept."""
    token = secrets.token_urlsafe(32)
    db.session.add(ApiToken(user_id=user.id, token_hash=_digest(token)))
    trail.record("token.created", "user", user.username)
    return token


def user_for_token(token: str) -> User | None:
    """Return the active user owning ``token``, or None."""
    if not token:
        return None
    row = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(token)))
    if row is None or not row.user.active:
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
