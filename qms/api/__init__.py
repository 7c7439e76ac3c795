"""The JSON API under ``/api/v1``: bearer tokens, JSON errors, an OpenAPI document.

flask-smorest builds ``/api/v1/openapi.json`` from the marshmallow schemas of each
resource; every domain adds its own blueprint in :func:`register_api`.
"""

from flask import abort, g, request
from flask_smorest import Api
from marshmallow import Schema, fields, validate

from qms.auth.services import user_for_token
from qms.extensions import csrf, db


class ErrorSchema(Schema):
    error = fields.String(required=True)
    detail = fields.Raw(allow_none=True)


class PagingQuery(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


def paged(page_obj) -> dict:
    """Return a Flask-SQLAlchemy page as ``{items, page, per_page, total, pages}``."""
    return {
        "items": page_obj.items,
        "page": page_obj.page,
        "per_page": page_obj.per_page,
        "total": page_obj.total,
        "pages": page_obj.pages,
    }


def page_of(stmt, args: dict) -> dict:
    """Run a list query one page at a time, as ``page`` and ``per_page`` in ``args`` ask."""
    page = db.paginate(stmt, page=args["page"], per_page=args["per_page"], error_out=False)
    return paged(page)


def authenticate() -> None:
    """Require ``Authorization: Bearer TOKEN``; cookies are ignored, so no CSRF is possible."""
    header = request.headers.get("Authorization", "")
    scheme, _sep, token = header.partition(" ")
    user = user_for_token(token.strip()) if scheme.lower() == "bearer" else None
    if user is None:
        abort(401, description="A valid API token is required: Authorization: Bearer TOKEN.")
    g.api_user = user


# One module per domain, each with a flask-smorest Blueprint named ``blp``.
API_BLUEPRINTS = (
    "qms.api.documents",
    "qms.api.audits",
    "qms.api.records",
    "qms.api.search",
    "qms.api.nonconformities",
    "qms.api.actions",
    "qms.api.objectives",
)


def register_api(app) -> Api:
    """Register every API blueprint; each authenticates by bearer token.

    The Api object holds the app's OpenAPI spec, so each app gets its own.
    """
    from importlib import import_module

    api = Api(app)
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    api.spec.options["security"] = [{"bearerAuth": []}]
    for module in API_BLUEPRINTS:
        blp = import_module(module).blp
        csrf.exempt(blp)
        api.register_blueprint(blp, url_prefix=f"/api/v1{blp.url_prefix or ''}")
    return api
