"""The JSON API under ``/api/v1``: bearer tokens, JSON errors, an OpenAPI document.

flask-smorest builds ``/api/v1/openapi.json`` from the marshmallow schemas of each
resource; every domain adds its own blueprint in :func:`register_api`.
"""

import json

from flask import abort, g, request
from flask_babel import gettext as _
from flask_smorest import Api
from marshmallow import Schema, fields, validate

from qms import text
from qms.auth.services import user_for_token
from qms.errors import BadRequest, ValidationFailed
from qms.extensions import csrf, db

#: Deeper bodies are refused before anything recurses into them; no API body needs 10.
MAX_DEPTH = 32


class ErrorSchema(Schema):
    """What every API error answers (see qms.errors): a message and, per field, details."""

    error = fields.String(required=True, metadata={"description": "What went wrong, localised"})
    detail = fields.Raw(
        allow_none=True,
        metadata={"description": "Messages by field name, or a sentence about the request"},
    )


class QmsApi(Api):
    # The OpenAPI document names the error body the API really sends, not flask-smorest's.
    ERROR_SCHEMA = ErrorSchema


class PagingQuery(Schema):
    # Bounded, so that the row offset always fits the database's integers.
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
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


def page_list(items: list, args: dict) -> dict:
    """Return one page of a list a service already built, shaped as :func:`paged` does."""
    page, per_page = args["page"], args["per_page"]
    return {
        "items": items[(page - 1) * per_page : page * per_page],
        "page": page,
        "per_page": per_page,
        "total": len(items),
        "pages": -(-len(items) // per_page),
    }


def authenticate() -> None:
    """Require ``Authorization: Bearer TOKEN``, then a readable body.

    Every API blueprint runs this before its views. Cookies are ignored, so no CSRF is
    possible.
    """
    header = request.headers.get("Authorization", "")
    scheme, _sep, token = header.partition(" ")
    user = user_for_token(token.strip()) if scheme.lower() == "bearer" else None
    if user is None:
        abort(401, description="A valid API token is required: Authorization: Bearer TOKEN.")
    g.api_user = user
    check_json_body()


def _refuse_constant(name: str):
    raise ValueError(_("%(name)s is not a JSON value.", name=name))


def check_json_body() -> None:
    """Refuse a JSON body that webargs and the database could not take.

    Malformed JSON, invalid UTF-8, nesting deeper than :data:`MAX_DEPTH`, a body that is
    not an object and a lone surrogate answer 400; a NUL character in a string answers
    422. Either way the detail names the field, the way marshmallow nests its messages.
    """
    if not request.is_json:
        return  # webargs reads only JSON bodies; the form and query string are cleaned
    data = request.get_data(cache=True)
    if not data:
        return
    try:
        body = json.loads(data.decode("utf-8"), parse_constant=_refuse_constant)
    except UnicodeDecodeError as exc:
        _malformed(_("The request body is not valid UTF-8 (byte %(at)s).", at=exc.start))
    except RecursionError:
        _malformed(_("The request body is nested too deeply."))
    except ValueError as exc:  # json.JSONDecodeError, too many digits, NaN
        _malformed(_("The request body is not valid JSON: %(error)s", error=str(exc)))
    if not isinstance(body, dict):
        _malformed(_("The request body must be a JSON object."))
    _check_strings(body)


def _malformed(reason: str):
    raise BadRequest(reason, detail={"json": [reason]})


def _check_strings(body: dict) -> None:
    """Walk ``body`` without recursion; raise on the first string that cannot be stored."""
    stack: list[tuple[tuple, object]] = [((), body)]
    while stack:
        path, value = stack.pop()
        if len(path) > MAX_DEPTH:
            _malformed(_("The request body is nested too deeply."))
        if isinstance(value, dict):
            for key, item in value.items():
                _check_string(path + (key,), key)
                stack.append((path + (key,), item))
        elif isinstance(value, list):
            stack.extend((path + (index,), item) for index, item in enumerate(value))
        elif isinstance(value, str):
            _check_string(path, value)


def _check_string(path: tuple, value: str) -> None:
    reason = text.problem(value)
    if reason is None:
        return
    detail: dict | list = [reason]
    for key in reversed(path):
        detail = {text.clean(key): detail}
    error = BadRequest if text.has_surrogate(value) else ValidationFailed
    raise error(reason, detail=detail)


# One module per domain, each with a flask-smorest Blueprint named ``blp``.
API_BLUEPRINTS = (
    "qms.api.documents",
    "qms.api.audits",
    "qms.api.records",
    "qms.api.search",
    "qms.api.nonconformities",
    "qms.api.actions",
    "qms.api.objectives",
    "qms.api.training",
    "qms.api.context",
    "qms.api.changes",
    "qms.api.risks",
    "qms.api.suppliers",
    "qms.api.standards",
    "qms.api.equipment",
    "qms.api.reviews",
    "qms.api.feedback",
    "qms.api.change_requests",
    "qms.api.reading",
    "qms.api.programme",
    "qms.api.people",
    "qms.api.trail",
    "qms.api.webhooks",
    "qms.api.service_items",
    "qms.api.ratings",
    "qms.api.evaluation",
)


def register_api(app) -> Api:
    """Register every API blueprint; each authenticates by bearer token.

    The Api object holds the app's OpenAPI spec, so each app gets its own.
    """
    from importlib import import_module

    api = QmsApi(app)
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    api.spec.options["security"] = [{"bearerAuth": []}]
    for module in API_BLUEPRINTS:
        blp = import_module(module).blp
        csrf.exempt(blp)
        api.register_blueprint(blp, url_prefix=f"/api/v1{blp.url_prefix or ''}")
    return api
