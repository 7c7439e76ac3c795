"""The log: Python's logging on standard error, and one line per request.

Under gunicorn and systemd, standard error is the journal; the request line makes
gunicorn's own access log unnecessary (``docs/deploy.md`` switches it off). Each request
carries an id: nginx's ``$request_id`` when nginx sends ``X-Request-ID``, else one made
here. It is echoed in the response's ``X-Request-ID`` header, so a user's report, nginx's
log and this one can be matched line to line.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from urllib.parse import quote

from flask import Flask, g, request

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

#: The logger of the request lines (``rid=… user=… addr=… method=… path=… status=… ms=…``).
requests_log = logging.getLogger("qms.requests")

#: What an incoming X-Request-ID may be: nginx's 32 hex digits, a UUID, any short token.
#: Anything else (spaces, newlines, a page of text) is replaced, never written to the log.
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def init_app(app: Flask) -> None:
    """Send the log to standard error unless the host has set it up, and log each request."""
    # A host that configured logging (pytest, an embedding server) keeps its handlers;
    # a process started by gunicorn or ``flask qms worker`` gets this one: the
    # application's own log and the job runner's (huey) at QMS_LOG_LEVEL, the libraries'
    # (Alembic's progress, …) from warnings up.
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.WARNING, format=FORMAT)
        for name in ("qms", "huey"):
            logging.getLogger(name).setLevel(app.config["QMS_LOG_LEVEL"])
    app.before_request(_start)
    app.after_request(_log)


def _start() -> None:
    given = request.headers.get("X-Request-ID", "")
    g.request_id = given if REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
    g.request_started = time.monotonic()


def _user() -> str:
    # Only a user the request has loaded already: loading one here would cost a query
    # on every request and fail with the database (which /healthz must report, not hit).
    # An API call's token user first: its locale lookup may have loaded an anonymous one.
    for user in (g.get("api_user"), g.get("_login_user")):
        try:
            if user is not None and user.is_authenticated:
                return user.username
        except Exception:  # expired by the rollback of a failed request, the database gone
            return "?"
    return "-"


def _log(response):
    request_id = g.get("request_id") or uuid.uuid4().hex
    response.headers["X-Request-ID"] = request_id
    started = g.get("request_started")
    ms = (time.monotonic() - started) * 1000 if started is not None else 0.0
    # Quoted as on the wire: a decoded path could carry spaces or a newline into the log.
    path = quote(request.path, safe="/:@!$&'()*+,;=-._~")
    fields = {
        "request_id": request_id,
        "user": _user(),
        # The client's, when QMS_PROXIES trusts the proxy in front to name it.
        "addr": request.remote_addr or "-",
        "method": request.method,
        "path": path,
        "status": response.status_code,
        "duration_ms": round(ms, 1),
    }
    # A monitor asks for /healthz every few seconds: its healthy answers only at DEBUG.
    quiet = request.endpoint == "health.healthz" and response.status_code == 200
    requests_log.log(
        logging.DEBUG if quiet else logging.INFO,
        "rid=%s user=%s addr=%s method=%s path=%s status=%s ms=%.1f",
        *fields.values(),
        extra=fields,
    )
    return response
