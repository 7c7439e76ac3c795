"""The web's own defences: headers on every response, cookies, no state change on GET."""

import pytest

from tests.conftest import PASSWORD


def _pages(app):
    """Every GET endpoint that needs no URL argument, plus a 404 and a static file."""
    paths = sorted(
        {
            rule.rule
            for rule in app.url_map.iter_rules()
            if "GET" in rule.methods and not rule.arguments
        }
    )
    return [*paths, "/no/such/page", "/static/js/qms.js"]


def _assert_headers(response, path):
    csp = response.headers.get("Content-Security-Policy", "")
    assert "script-src 'self'" in csp, path
    assert "unsafe-inline" not in csp.split("script-src", 1)[1].split(";", 1)[0], path
    assert "frame-ancestors 'none'" in csp, path
    assert response.headers.get("X-Frame-Options") == "DENY", path
    assert response.headers.get("X-Content-Type-Options") == "nosniff", path
    assert response.headers.get("Referrer-Policy") == "strict-origin-when-cross-origin", path


def test_headers_on_every_page_signed_out(app, client):
    for path in _pages(app):
        response = client.get(path)
        _assert_headers(response, path)
        response.close()


def test_headers_on_every_page_signed_in(app, users, client, auth):
    auth.login("admin")
    for path in _pages(app):
        response = client.get(path)
        # /healthz answers 503 by design here: no job worker runs beside the tests.
        assert response.status_code < 500 or path == "/healthz", path
        _assert_headers(response, path)
        response.close()


def test_no_hsts_on_plain_http_by_default(client):
    assert "Strict-Transport-Security" not in client.get("/auth/login").headers


def test_https_configuration_sends_hsts_and_secure_cookies(tmp_path, monkeypatch):
    from qms import create_app

    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "x",
            "QMS_INSTANCE": str(tmp_path),
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'db.sqlite'}",
            "QMS_HTTPS": True,
        }
    )
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]
    response = app.test_client().get("/auth/login", base_url="https://localhost")
    assert "max-age=" in response.headers["Strict-Transport-Security"]


def test_session_and_remember_cookies_are_httponly_and_samesite(users, client):
    response = client.post(
        "/auth/login", data={"username": "staff", "password": PASSWORD, "remember": "y"}
    )
    cookies = response.headers.getlist("Set-Cookie")
    assert cookies
    for cookie in cookies:
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie, cookie
        assert "Secure" not in cookie
    remember = next(c for c in cookies if c.startswith("remember_token="))
    # Two weeks, not Flask-Login's default year.
    assert "Max-Age=1209600" in remember or "Expires=" in remember


def test_templates_hold_no_inline_script_or_handler():
    import re
    from pathlib import Path

    from qms import ROOT

    for path in (ROOT / "templates").rglob("*.html"):
        text = path.read_text()
        for tag in re.findall(r"<script\b[^>]*>", text):
            assert "src=" in tag or 'type="application/json"' in tag, (path, tag)
        assert not re.search(r"\son[a-z]+\s*=", text), path
        assert "javascript:" not in text, path
    assert Path(ROOT / "qms/static/js/qms.js").exists()


def test_language_switch_is_a_post(users, client, auth):
    auth.login("staff")
    assert client.get("/language/zh_Hans").status_code == 405
    assert users["staff"].locale is None
    response = client.post("/language/zh_Hans", data={"next": "/"})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert users["staff"].locale == "zh_Hans"


@pytest.mark.parametrize("path", ["/auth/login"])
def test_csp_blocks_framing_of_sign_in(client, path):
    assert client.get(path).headers["X-Frame-Options"] == "DENY"
