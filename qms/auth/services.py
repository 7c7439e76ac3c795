"""Rules for accounts: creating users, checking passwords, issuing API tokens."""

import hashlib
import secrets

from flask import current_app
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from qms import trail
from qms.auth.models import ROLES, ApiToken, Department, User, UserRole
from qms.extensions import db
from qms.models import utcnow


class AccountError(ValueError):
    """A user or token request that cannot be carried out."""


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


def create_user(
    username: str,
    password: str,
    roles: list[str],
    department: str,
    full_name: str = "",
    email: str | None = None,
    locale: str | None = None,
) -> User:
    """Create a user in ``department`` holding ``roles``; the caller commits."""
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


def authenticate(username: str, password: str) -> User | None:
    """Return the active user with these credentials, or None."""
    user = db.session.scalar(select(User).where(User.username == username.strip()))
    if user is None or not user.active or not verify_password(user, password):
        return None
    return user


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


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
    row.last_used_at = utcnow()
    db.session.commit()
    return row.user
