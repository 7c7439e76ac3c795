"""Sign-in: throttling, lockout, sessions that end, the password policy."""

import time

import pytest
from sqlalchemy import select

from qms.auth.models import User
from qms.auth.services import (
    AccountError,
    PasswordRejected,
    change_password,
    check_password_policy,
    unlock,
)
from qms.extensions import db
from tests.conftest import PASSWORD


def _login(client, username, password=PASSWORD, **extra):
    return client.post("/auth/login", data={"username": username, "password": password, **extra})


def test_twenty_wrong_passwords_throttle_and_then_the_right_one_is_refused(app, users, client):
    for _ in range(20):
        assert _login(client, "staff", "wrong-password").status_code == 200
    refused = _login(client, "staff")
    assert refused.status_code == 429
    assert (
        "_user_id" not in client.get_cookie("session").value
        if client.get_cookie("session")
        else True
    )
    # Another account from the same address is not held back by this one's count.
    assert _login(app.test_client(), "staff2").status_code == 302


def test_the_throttle_ends_when_the_window_passes(app, users, client):
    app.config["QMS_SIGN_IN_LIMIT_ACCOUNT"] = "3 per 2 seconds"
    for _ in range(3):
        _login(client, "staff", "wrong-password")
    assert _login(client, "staff").status_code == 429
    time.sleep(2.2)
    assert _login(client, "staff").status_code == 302


def test_throttle_per_address_counts_all_accounts(app, users, client):
    app.config["QMS_SIGN_IN_LIMIT_ADDRESS"] = "5 per 15 minutes"
    for name in ("a", "b", "c", "d", "e"):
        _login(client, name, "wrong-password")
    assert _login(client, "staff").status_code == 429
    other = app.test_client()
    response = other.post(
        "/auth/login",
        data={"username": "staff", "password": PASSWORD},
        environ_base={"REMOTE_ADDR": "10.0.0.9"},
    )
    assert response.status_code == 302


def test_good_sign_ins_are_not_counted(app, users):
    app.config["QMS_SIGN_IN_LIMIT_ACCOUNT"] = "2 per 15 minutes"
    for _ in range(5):
        client = app.test_client()
        assert _login(client, "staff").status_code == 302


def test_unknown_name_costs_a_password_check_too(app, users, monkeypatch):
    import qms.auth.services as services

    checks = []
    real = services.check_password_hash
    monkeypatch.setattr(
        services, "check_password_hash", lambda h, p: checks.append(h) or real(h, p)
    )
    services.authenticate("nobody-at-all", "whatever-1")
    services.authenticate("staff", "whatever-1")
    assert len(checks) == 2
    # The same method, hence the same cost, as a real hash.
    assert checks[0].split("$")[0] == checks[1].split("$")[0]


def test_lockout_after_the_limit_until_an_admin_unlocks(app, users, client):
    app.config["QMS_LOCKOUT_AFTER"] = 3
    for _ in range(3):
        _login(client, "staff", "wrong-password")
    page = _login(client, "staff").get_data(as_text=True)
    assert "locked" in page
    staff = db.session.scalar(select(User).where(User.username == "staff"))
    assert staff.locked_at is not None
    unlock(staff, by=users["admin"])
    db.session.commit()
    assert _login(client, "staff").status_code == 302


def test_sign_out_then_replaying_the_old_cookies_is_signed_out(app, users):
    client = app.test_client()
    assert _login(client, "staff", remember="y").status_code == 302
    session_cookie = client.get_cookie("session").value
    remember_cookie = client.get_cookie("remember_token").value
    assert client.get("/").status_code == 200
    client.post("/auth/logout")
    assert client.get("/").status_code == 302

    replay = app.test_client()
    replay.set_cookie("session", session_cookie)
    assert replay.get("/").status_code == 302
    replay = app.test_client()
    replay.set_cookie("remember_token", remember_cookie)
    assert replay.get("/").status_code == 302


def test_remember_cookie_signs_in_while_valid(app, users):
    client = app.test_client()
    _login(client, "staff", remember="y")
    remember_cookie = client.get_cookie("remember_token").value
    fresh = app.test_client()
    fresh.set_cookie("remember_token", remember_cookie)
    assert fresh.get("/").status_code == 200


def test_session_is_renewed_at_sign_in(app, users):
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["planted"] = "by-an-attacker"
    _login(client, "staff")
    with client.session_transaction() as sess:
        assert "planted" not in sess
        assert sess["_user_id"].startswith(f"{users['staff'].id}:")


def test_idle_session_ends(app, users, client):
    _login(client, "staff")
    assert client.get("/").status_code == 200
    with client.session_transaction() as sess:
        sess["_seen"] = int(time.time()) - int(app.config["QMS_IDLE_TIMEOUT"].total_seconds()) - 5
    response = client.get("/")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    assert client.get("/").status_code == 302


@pytest.mark.parametrize("password", ["12345678", "password1", "qwertyuiop", "staffstaff"])
def test_common_passwords_are_refused(ctx, password):
    with pytest.raises(PasswordRejected):
        check_password_policy(password, "staff")


def test_policy_message_is_in_the_users_language(app, users, client):
    client.post("/language/zh_Hans", data={"next": "/"})
    _login(client, "staff")
    client.post("/language/zh_Hans", data={"next": "/"})
    page = client.post(
        "/auth/password",
        data={"current": PASSWORD, "new": "12345678", "confirm": "12345678"},
    ).get_data(as_text=True)
    assert "This password is too common" not in page
    assert "密码" in page


def test_change_own_password_asks_for_the_old_one(app, users, client):
    _login(client, "staff")
    page = client.post(
        "/auth/password",
        data={"current": "wrong", "new": "a-new-long-phrase-7", "confirm": "a-new-long-phrase-7"},
    ).get_data(as_text=True)
    assert "The current password is not correct." in page
    response = client.post(
        "/auth/password",
        data={"current": PASSWORD, "new": "a-new-long-phrase-7", "confirm": "a-new-long-phrase-7"},
    )
    assert response.status_code == 302
    assert client.get("/").status_code == 200  # this session carries on
    client.post("/auth/logout")
    assert _login(client, "staff").status_code == 200
    assert _login(client, "staff", "a-new-long-phrase-7").status_code == 302


def test_change_password_service_refuses_the_same_password(app, users):
    with pytest.raises(AccountError):
        change_password(users["staff"], PASSWORD, PASSWORD)
