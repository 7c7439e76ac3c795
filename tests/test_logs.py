"""The request log: one line per request with its id, user, method, path, status and time."""

import logging
import re
from pathlib import Path

import pytest
from flask_login import current_user
from sqlalchemy import text

from qms import create_app, jobs
from qms.auth.services import create_token
from qms.extensions import db
from tests.conftest import _config

LINE = re.compile(
    r"rid=(?P<rid>\S+) user=(?P<user>\S+) addr=(?P<addr>\S+)"
    r" method=(?P<method>[A-Z]+) path=(?P<path>\S+)"
    r" status=(?P<status>\d{3}) ms=(?P<ms>\d+\.\d)"
)


@pytest.fixture
def lines(caplog):
    """The request lines logged so far, parsed."""
    caplog.set_level(logging.INFO, logger="qms.requests")

    def parsed() -> list[dict]:
        found = []
        for record in caplog.records:
            if record.name == "qms.requests":
                match = LINE.fullmatch(record.getMessage())
                assert match, record.getMessage()
                found.append(match.groupdict())
        return found

    return parsed


def test_each_request_is_one_line_naming_the_signed_in_user(client, auth, users, lines):
    auth.login("author")
    client.get("/documents/", headers={"X-Request-ID": "5f0c1e2d3a4b5c6d7e8f901234567890"})
    *_before, line = lines()
    assert line == {
        "rid": "5f0c1e2d3a4b5c6d7e8f901234567890",
        "user": "author",
        "addr": "127.0.0.1",
        "method": "GET",
        "path": "/documents/",
        "status": "200",
        "ms": line["ms"],
    }
    assert float(line["ms"]) > 0


def test_an_anonymous_request_is_logged_with_a_dash_and_its_redirect(client, lines):
    client.get("/documents/")
    (line,) = lines()
    assert (line["user"], line["method"], line["status"]) == ("-", "GET", "302")


def test_the_sign_in_is_logged_by_method_and_status(client, users, lines):
    client.post("/auth/login", data={"username": "staff", "password": "wrong-password-1"})
    (line,) = lines()
    assert (line["method"], line["path"], line["status"]) == ("POST", "/auth/login", "200")


def test_the_request_id_from_nginx_is_echoed(client):
    response = client.get("/auth/login", headers={"X-Request-ID": "abc-123.def_4"})
    assert response.headers["X-Request-ID"] == "abc-123.def_4"


def test_without_a_request_id_one_is_made_and_echoed(client, lines):
    first = client.get("/auth/login").headers["X-Request-ID"]
    second = client.get("/auth/login").headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", first) and first != second
    assert [line["rid"] for line in lines()] == [first, second]


@pytest.mark.parametrize("given", ["two words", "a" * 129, "x;rid=forged", "é"])
def test_a_request_id_that_could_garble_the_log_is_replaced(client, given):
    response = client.get("/auth/login", headers={"X-Request-ID": given})
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])


def test_a_path_is_logged_as_on_the_wire_never_with_a_newline(client, lines):
    client.get("/documents/QP-07%0Aforged%20line")
    (line,) = lines()
    assert line["path"] == "/documents/QP-07%0Aforged%20line"


def test_a_not_found_is_logged_with_its_status(client, auth, users, lines):
    auth.login("staff")
    client.get("/no-such-page")
    assert lines()[-1]["status"] == "404"


def test_an_api_call_is_logged_with_the_tokens_user(client, ctx, users, lines):
    token = create_token(users["auditor"], label="test")
    client.get("/api/v1/documents", headers={"Authorization": f"Bearer {token}"})
    line = lines()[-1]
    assert (line["user"], line["path"], line["status"]) == ("auditor", "/api/v1/documents", "200")


def test_behind_nginx_the_clients_address_is_the_forwarded_one(app, lines):
    proxied = create_app(
        {
            **_config(Path(app.config["QMS_INSTANCE"]), app.config["SQLALCHEMY_DATABASE_URI"]),
            "QMS_PROXIES": 1,
        }
    )
    headers = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}
    proxied.test_client().get("/auth/login", headers=headers)
    (line,) = lines()
    assert line["addr"] == "203.0.113.7"


def test_without_a_trusted_proxy_a_forwarded_address_is_ignored(client, lines):
    client.get("/auth/login", headers={"X-Forwarded-For": "203.0.113.7"})
    (line,) = lines()
    assert line["addr"] == "127.0.0.1"


def test_a_healthy_health_check_is_logged_at_debug_only_a_failing_one_always(app, client, caplog):
    caplog.set_level(logging.INFO, logger="qms.requests")
    client.get("/healthz")  # no worker has started: 503
    with app.app_context():
        jobs.beat()
    client.get("/healthz")
    logged = [r for r in caplog.records if r.name == "qms.requests"]
    assert [(r.levelname, r.status) for r in logged] == [("INFO", 503)]


def test_a_server_error_is_logged_with_its_user_and_request_id(app, client, auth, users, lines):
    @app.get("/test-fails")
    def fails():
        assert current_user.username == "staff"
        db.session.execute(text("SELECT no_such_column FROM no_such_table"))

    app.testing = False  # the error handler answers (and rolls the session back)
    auth.login("staff")
    response = client.get("/test-fails", headers={"X-Request-ID": "failing-1"})
    assert response.status_code == 500 and response.headers["X-Request-ID"] == "failing-1"
    line = lines()[-1]
    assert (line["rid"], line["user"], line["status"]) == ("failing-1", "staff", "500")
