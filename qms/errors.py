"""Error types the services raise, and how pages and the API show them."""

from flask import abort, jsonify, render_template, request
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException

from qms.extensions import db


class ServiceError(Exception):
    """A rule of the quality system refused a request; ``message`` is already localised."""

    status = 422

    def __init__(self, message: str, field: str | None = None, detail=None):
        super().__init__(message)
        self.message = str(message)
        self.field = field
        self.detail = detail


class BadRequest(ServiceError):
    """The request itself cannot be read (a malformed body, say)."""

    status = 400


class ValidationFailed(ServiceError):
    status = 422


class PermissionDenied(ServiceError):
    status = 403


class NotFound(ServiceError):
    status = 404


class Conflict(ServiceError):
    status = 409


def wants_json() -> bool:
    return request.path.startswith("/api/")


def _webargs_detail(messages: dict) -> dict:
    """Flatten webargs' ``{location: {field: [...]}}`` into ``{field: [...]}``.

    A message about a location as a whole (``{"json": ["Invalid JSON body."]}``) stays
    under the location's name.
    """
    detail = {}
    for location, found in messages.items():
        if isinstance(found, dict):
            detail.update(found)
        else:
            detail[location] = found if isinstance(found, list) else [found]
    return detail


def init_app(app) -> None:
    """Render HTTP errors as localised pages, or as JSON under ``/api/``."""

    @app.url_value_preprocessor
    def refuse_nul_in_path(_endpoint, values):
        # No code, number or label holds a NUL; PostgreSQL would refuse the lookup.
        if values and any("\x00" in str(value) for value in values.values()):
            abort(404)
        # No id is beyond a 32-bit integer column; PostgreSQL would refuse the lookup.
        if values and any(isinstance(v, int) and not 0 <= v < 2**31 for v in values.values()):
            abort(404)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if wants_json():
            # webargs puts per-field messages in exc.data: {"json": {"field": [...]}}.
            messages = (getattr(exc, "data", None) or {}).get("messages")
            if messages:
                detail = _webargs_detail(messages)
                return jsonify(error=_("The request is not valid."), detail=detail), exc.code
            return jsonify(error=exc.name, detail=exc.description), exc.code
        template = f"errors/{exc.code}.html" if exc.code in (403, 404) else "errors/generic.html"
        return render_template(template, error=exc), exc.code

    @app.errorhandler(ServiceError)
    def service_error(exc: ServiceError):
        # The unit of work that raised this has already rolled back.
        if wants_json():
            detail = exc.detail
            if detail is None and exc.field:
                detail = {exc.field: [exc.message]}
            return jsonify(error=exc.message, detail=detail), exc.status
        return render_template("errors/generic.html", error=exc), exc.status

    @app.errorhandler(500)
    def internal_error(exc):
        # A safety net: work outside a unit of work may have left a failed transaction,
        # and this page's own queries (the menu, the user) must not fail on it.
        db.session.rollback()
        if wants_json():
            return jsonify(error="Internal Server Error", detail=None), 500
        return render_template("errors/500.html"), 500
