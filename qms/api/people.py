"""API resources for accounts and departments: administrators keep them, as on the pages.

The account services raise :class:`~qms.auth.services.AccountError` (the pages flash it);
here it answers 422 with the same message. No password hash ever leaves the server.
"""

from contextlib import contextmanager

from flask import g
from flask.views import MethodView
from flask_babel import gettext as _
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import func, or_, select

from qms.api import PagingQuery, authenticate, page_of
from qms.api.refusals import refusals
from qms.auth import permissions, services
from qms.auth.models import ROLES, Department, User
from qms.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from qms.extensions import db

blp = Blueprint(
    "api_people",
    __name__,
    description="Accounts, their roles and departments (administrators keep them)",
)
blp.before_request(authenticate)


class UserSchema(Schema):
    username = fields.String()
    full_name = fields.String()
    department = fields.String(attribute="department.name")
    roles = fields.Method("get_roles")
    active = fields.Boolean()

    def get_roles(self, user: User):
        return sorted(user.roles)


class UserDetailSchema(UserSchema):
    email = fields.String(allow_none=True)
    locale = fields.String(allow_none=True)
    source = fields.String(metadata={"description": "local, or ldap (signs in at the directory)"})
    locked = fields.Method("get_locked")
    must_change_password = fields.Boolean()
    created_at = fields.DateTime()
    last_sign_in = fields.Method("get_last_sign_in")

    def get_locked(self, user: User) -> bool:
        return user.locked_at is not None

    def get_last_sign_in(self, user: User):
        when = services.last_sign_ins([user]).get(user.username)
        return when.isoformat() if when else None


class UserPageSchema(Schema):
    items = fields.List(fields.Nested(UserSchema))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()
    pages = fields.Integer()


class UserListQuery(PagingQuery):
    department = fields.String(metadata={"description": "Only this department, by name"})
    active = fields.Boolean()
    role = fields.String(validate=validate.OneOf(ROLES))
    q = fields.String(metadata={"description": "In the username or the full name"})


class UserCreateSchema(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=80))
    password = fields.String(
        required=True,
        load_only=True,
        metadata={"description": "The first password; the user must change it at sign-in"},
    )
    roles = fields.List(
        fields.String(validate=validate.OneOf(ROLES)),
        required=True,
        validate=validate.Length(min=1),
    )
    department = fields.String(required=True, validate=validate.Length(min=1, max=120))
    full_name = fields.String(load_default="", validate=validate.Length(max=200))
    email = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))


class ActiveSchema(Schema):
    active = fields.Boolean(required=True)


class RolesSchema(Schema):
    roles = fields.List(fields.String(validate=validate.OneOf(ROLES)), required=True)


class DepartmentMoveSchema(Schema):
    department = fields.String(required=True, validate=validate.Length(min=1, max=120))


class DepartmentSchema(Schema):
    name = fields.String()
    users = fields.Integer(metadata={"description": "Active accounts in it"})


class DepartmentListSchema(Schema):
    items = fields.List(fields.Nested(DepartmentSchema))


class DepartmentCreateSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))


def _require_admin() -> None:
    if not permissions.can_manage_users(g.api_user):
        raise PermissionDenied(_("Only an administrator keeps the accounts."))


@contextmanager
def _account_rules(field: str | None = None):
    """Answer an account service's refusal as 422 with its message, as the pages show it."""
    try:
        yield
    except services.PasswordRejected as exc:
        raise ValidationFailed(str(exc), field="password") from None
    except services.AccountError as exc:
        raise ValidationFailed(str(exc), field=field) from None


def _user(username: str) -> User:
    _require_admin()
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(_("There is no user %(name)s.", name=username))
    return user


def _detail(user: User) -> User:
    db.session.refresh(user)
    return user


@blp.route("/users")
class Users(MethodView):
    @blp.arguments(UserListQuery, location="query")
    @blp.response(200, UserPageSchema)
    @refusals(blp, 403)
    def get(self, args):
        """List the accounts by department, state, role or name (administrators)."""
        _require_admin()
        stmt = select(User).order_by(User.username)
        if args.get("department"):
            stmt = stmt.join(Department).where(Department.name == args["department"])
        if "active" in args:
            stmt = stmt.where(User.active.is_(args["active"]))
        if args.get("role"):
            stmt = stmt.where(User.role_rows.any(role=args["role"]))
        if args.get("q"):
            pattern = f"%{args['q'].strip().lower()}%"
            stmt = stmt.where(
                or_(
                    func.lower(User.username).like(pattern),
                    func.lower(User.full_name).like(pattern),
                )
            )
        return page_of(stmt, args)

    @blp.arguments(UserCreateSchema)
    @blp.response(201, UserDetailSchema)
    @refusals(blp, 403, 409)
    def post(self, data):
        """Create a local account (administrators); the password must pass the policy."""
        _require_admin()
        username = data["username"].strip()
        if db.session.scalar(select(User.id).where(User.username == username)):
            raise Conflict(_("There is already a user %(name)s.", name=username), field="username")
        with _account_rules("username"):
            user = services.create_user(
                username,
                data["password"],
                data["roles"],
                data["department"],
                full_name=data["full_name"].strip(),
                email=(data["email"] or "").strip() or None,
                by=g.api_user,
            )
        return _detail(user)


@blp.route("/users/<username>")
@blp.response(200, UserDetailSchema)
@refusals(blp, 403, 404)
def get_user(username):
    """Show one account: its roles, department, state and last sign-in (administrators)."""
    return _user(username)


@blp.route("/users/<username>/active", methods=["PUT"])
@blp.arguments(ActiveSchema)
@blp.response(200, UserDetailSchema)
@refusals(blp, 403, 404)
def put_active(data, username):
    """Switch the account on or off; off ends its sessions and stops its tokens."""
    user = _user(username)
    with _account_rules("active"):
        services.set_active(user, data["active"], by=g.api_user)
    return _detail(user)


@blp.route("/users/<username>/roles", methods=["PUT"])
@blp.arguments(RolesSchema)
@blp.response(200, UserDetailSchema)
@refusals(blp, 403, 404)
def put_roles(data, username):
    """Replace the roles the account holds; the last administrator keeps the role."""
    user = _user(username)
    with _account_rules("roles"):
        services.set_roles(user, data["roles"], by=g.api_user)
    return _detail(user)


@blp.route("/users/<username>/department", methods=["PUT"])
@blp.arguments(DepartmentMoveSchema)
@blp.response(200, UserDetailSchema)
@refusals(blp, 403, 404)
def put_department(data, username):
    """Move the account to another department (created when new)."""
    user = _user(username)
    with _account_rules("department"):
        services.set_department(user, data["department"], by=g.api_user)
    return _detail(user)


class PasswordResetSchema(Schema):
    password = fields.String(
        required=True,
        load_only=True,
        metadata={"description": "A password the user must replace at the next sign-in"},
    )


@blp.route("/users/<username>/password", methods=["PUT"])
@blp.arguments(PasswordResetSchema)
@blp.response(200, UserDetailSchema)
@refusals(blp, 403, 404)
def put_password(data, username):
    """Set a password the user must replace at the next sign-in (local accounts)."""
    user = _user(username)
    with _account_rules("password"):
        services.reset_password(user, data["password"], by=g.api_user)
    return _detail(user)


@blp.route("/users/<username>/unlock", methods=["POST"])
@blp.response(200, UserDetailSchema)
@refusals(blp, 403, 404)
def unlock(username):
    """Lift the lockout after too many wrong passwords."""
    user = _user(username)
    services.unlock(user, by=g.api_user)
    return _detail(user)


@blp.route("/departments")
class Departments(MethodView):
    @blp.response(200, DepartmentListSchema)
    def get(self):
        """List the departments, with how many active accounts each has."""
        counts = dict(
            db.session.execute(
                select(User.department_id, func.count(User.id))
                .where(User.active.is_(True))
                .group_by(User.department_id)
            ).all()
        )
        departments = db.session.scalars(select(Department).order_by(Department.name))
        return {"items": [{"name": d.name, "users": counts.get(d.id, 0)} for d in departments]}

    @blp.arguments(DepartmentCreateSchema)
    @blp.response(201, DepartmentSchema)
    @refusals(blp, 403, 409)
    def post(self, data):
        """Add a department (administrators)."""
        _require_admin()
        name = data["name"].strip()
        if db.session.scalar(select(Department.id).where(Department.name == name)):
            raise Conflict(_("There is already a department %(name)s.", name=name), field="name")
        with _account_rules("name"):
            department = services.get_or_create_department(name, by=g.api_user)
        return {"name": department.name, "users": 0}
