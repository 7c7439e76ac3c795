"""The web's own defences: security headers and cookie settings on every response.

Flask-Talisman sets the headers; its HTTPS redirect and HSTS stay off unless the
installation says it is served over HTTPS (``QMS_HTTPS``), because the embedded
default runs on plain HTTP behind nothing.
"""

from flask import Flask, current_app, request
from flask_limiter import Limiter
from flask_talisman import Talisman

talisman = Talisman()

#: No inline script and no other origin: every script is a served file under /static.
#: Styles keep 'unsafe-inline' for the few style="" attributes in templates; scripts,
#: which is what an attacker needs, do not.
CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": ["'self'", "'unsafe-inline'"],
    "img-src": ["'self'", "data:"],
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def init_app(app: Flask) -> None:
    """Install the headers and make the cookies' Secure flag follow ``QMS_HTTPS``."""
    https = bool(app.config["QMS_HTTPS"])
    app.config["SESSION_COOKIE_SECURE"] = https
    app.config["REMEMBER_COOKIE_SECURE"] = https
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config["QMS_RATELIMIT_STORAGE"])
    limiter.init_app(app)
    talisman.init_app(
        app,
        force_https=False,
        strict_transport_security=https,
        strict_transport_security_max_age=app.config["QMS_HSTS_SECONDS"],
        session_cookie_secure=https,
        session_cookie_http_only=True,
        content_security_policy=CONTENT_SECURITY_POLICY,
        frame_options="DENY",
        referrer_policy="strict-origin-when-cross-origin",
        # Chromium's feature list; nothing here uses the camera, microphone or location.
        permissions_policy={"camera": "()", "microphone": "()", "geolocation": "()"},
    )


def _client_address() -> str:
    return request.remote_addr or "unknown"


def _account() -> str:
    # Case and spaces do not make a new account to guess at.
    return "account:" + (request.form.get("username") or "").strip().lower()


def _failed(response) -> bool:
    # Only wrong passwords count: a good sign-in redirects (302) and costs nothing.
    return response.status_code != 302


limiter = Limiter(key_func=_client_address, default_limits=[], headers_enabled=False)

#: Wrong passwords allowed per account and per address in the window; past them every
#: attempt, even the right password, is refused until the window has passed.
sign_in_per_account = limiter.shared_limit(
    lambda: current_app.config["QMS_SIGN_IN_LIMIT_ACCOUNT"],
    scope="sign-in-account",
    key_func=_account,
    methods=["POST"],
    deduct_when=_failed,
)
sign_in_per_address = limiter.shared_limit(
    lambda: current_app.config["QMS_SIGN_IN_LIMIT_ADDRESS"],
    scope="sign-in-address",
    methods=["POST"],
    deduct_when=_failed,
)
