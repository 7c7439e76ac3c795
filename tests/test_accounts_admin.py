"""Account lifecycle: the administrators' pages, one's own tokens, the shell commands."""

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from qms import trail
from qms.auth.models import ApiToken, User
from qms.auth.services import (
    AccountError,
    create_token,
    create_user,
    reset_password,
    set_active,
    set_roles,
    verify_password,
)
from qms.extensions import db
from tests.conftest import PASSWORD

NEW = "violet-harbour-77"


class OwnContextClient(FlaskClient):
    """A test client whose every request has an application context of its own.

    The ``users`` fixture keeps one context pushed for the whole test, and a request
    reuses it, ``g`` included, where Flask-Login keeps the signed-in user: a second
    client would be served as whoever the first one was.
    """

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture(autouse=True)
def _own_contexts(app):
    app.test_client_class = OwnContextClient


def _login(client, username, password=PASSWORD):
    return client.post("/auth/login", data={"username": username, "password": password})


def _user(username) -> User:
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.username == username))


def _actions(username) -> list[str]:
    return [e.action for e in trail.events_for("user", username)]


@pytest.fixture
def admin(users, client):
    _login(client, "admin")
    return client


# --- who may ---------------------------------------------------------------------------

ADMIN_PAGES = [
    ("get", "/admin/users/"),
    ("get", "/admin/users/staff"),
    ("post", "/admin/users/staff/password"),
    ("post", "/admin/users/staff/active"),
    ("post", "/admin/users/staff/roles"),
    ("post", "/admin/users/staff/department"),
    ("post", "/admin/users/staff/unlock"),
    ("post", "/admin/users/staff/tokens/1/revoke"),
]


@pytest.mark.parametrize("username", ["staff", "author", "approver", "auditor"])
@pytest.mark.parametrize("method, url", ADMIN_PAGES)
def test_non_admins_get_403_on_every_account_page(users, client, username, method, url):
    _login(client, username)
    assert getattr(client, method)(url).status_code == 403
    assert _user("staff").active and _user("staff").roles == {"staff"}


def test_anonymous_is_sent_to_sign_in(users, client):
    assert client.get("/admin/users/").status_code == 302
    assert client.get("/auth/tokens").status_code == 302


def test_menu_shows_accounts_to_admins_only(users, app):
    admin = app.test_client()
    _login(admin, "admin")
    assert 'href="/admin/users/"' in admin.get("/").get_data(as_text=True)
    staff = app.test_client()
    _login(staff, "staff")
    assert 'href="/admin/users/"' not in staff.get("/").get_data(as_text=True)


# --- the list ----------------------------------------------------------------------------


def test_list_shows_department_roles_state_and_last_sign_in(admin, users):
    set_active(users["auditor"], False)
    db.session.commit()
    page = admin.get("/admin/users/").get_data(as_text=True)
    assert "Information Technology Department" in page and "Administrator" in page
    assert "Switched off" in page
    assert "Never" in page  # staff has not signed in
    assert page.count("Never") == len(users) - 1  # the admin just signed in


def test_list_filters_by_department_and_state(admin, users):
    dept = users["staff"].department_id
    page = admin.get(f"/admin/users/?department={dept}").get_data(as_text=True)
    assert ">staff<" in page and ">author2<" in page and ">approver<" not in page
    set_active(users["auditor"], False)
    db.session.commit()
    page = admin.get("/admin/users/?state=inactive").get_data(as_text=True)
    assert ">auditor<" in page and ">staff<" not in page
    page = admin.get("/admin/users/?state=active").get_data(as_text=True)
    assert ">auditor<" not in page and ">staff<" in page


def test_unknown_user_page_is_404(admin):
    assert admin.get("/admin/users/ghost").status_code == 404


# --- reset, switch off, roles, department, unlock -----------------------------------------


def test_reset_password_forces_a_new_one_at_next_sign_in(admin, users, app):
    response = admin.post("/admin/users/staff/password", data={"new": NEW, "confirm": NEW})
    assert response.status_code == 302
    staff = _user("staff")
    assert staff.must_change_password and verify_password(staff, NEW)
    assert "user.password_reset" in _actions("staff")
    event = trail.events_for("user", "staff")[-1]
    assert event.user_id == users["admin"].id

    client = app.test_client()
    assert _login(client, "staff", NEW).status_code == 302
    # Every page sends them to the change-password page until they choose their own.
    for url in ("/", "/documents/", "/auth/profile", "/auth/tokens"):
        response = client.get(url)
        assert response.status_code == 302 and response.location.endswith("/auth/password")
    own = "amber-lantern-42"
    done = client.post("/auth/password", data={"current": NEW, "new": own, "confirm": own})
    assert done.status_code == 302
    assert client.get("/").status_code == 200
    assert not _user("staff").must_change_password


def test_reset_password_ends_the_users_sessions(admin, users, app):
    client = app.test_client()
    _login(client, "staff")
    assert client.get("/").status_code == 200
    admin.post("/admin/users/staff/password", data={"new": NEW, "confirm": NEW})
    assert client.get("/").status_code == 302


@pytest.mark.parametrize(
    "data, message",
    [
        ({"new": "12345678", "confirm": "12345678"}, "too common"),
        ({"new": NEW, "confirm": NEW + "x"}, "The two passwords differ."),
        ({"new": "short", "confirm": "short"}, "at least 8 characters"),
    ],
)
def test_reset_password_refuses_bad_passwords(admin, users, data, message):
    response = admin.post("/admin/users/staff/password", data=data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    staff = _user("staff")
    assert verify_password(staff, PASSWORD) and not staff.must_change_password
    assert "user.password_reset" not in _actions("staff")


def test_switching_off_ends_sessions_and_refuses_sign_in(admin, users, app):
    client = app.test_client()
    _login(client, "staff")
    assert client.get("/").status_code == 200
    response = admin.post("/admin/users/staff/active", data={"active": "0"})
    assert response.status_code == 302
    assert not _user("staff").active
    assert "user.deactivated" in _actions("staff")
    # The open session has ended, and the password no longer signs in.
    assert client.get("/").status_code == 302
    assert _login(app.test_client(), "staff").status_code == 200

    admin.post("/admin/users/staff/active", data={"active": "1"})
    assert _user("staff").active and "user.activated" in _actions("staff")
    assert _login(app.test_client(), "staff").status_code == 302


def test_a_switched_off_accounts_token_is_401(app, users, client):
    token = create_token(users["staff"], 30, "script")
    db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/documents", headers=headers).status_code == 200
    set_active(users["staff"], False, by=users["admin"])
    db.session.commit()
    assert client.get("/api/v1/documents", headers=headers).status_code == 401
    set_active(users["staff"], True, by=users["admin"])
    db.session.commit()
    assert client.get("/api/v1/documents", headers=headers).status_code == 200


def test_change_roles_and_department_are_trail_events(admin, users):
    response = admin.post("/admin/users/staff/roles", data={"roles": ["staff", "author"]})
    assert response.status_code == 302
    assert _user("staff").roles == {"staff", "author"}
    response = admin.post("/admin/users/staff/department", data={"department": "Archive"})
    assert response.status_code == 302
    assert _user("staff").department.name == "Archive"
    events = {e.action: e for e in trail.events_for("user", "staff")}
    assert events["user.roles_changed"].after == {"roles": ["author", "staff"]}
    assert events["user.roles_changed"].before == {"roles": ["staff"]}
    assert events["user.department_changed"].after == {"department": "Archive"}
    assert events["user.department_changed"].user_id == users["admin"].id


def test_roles_form_refuses_no_role_and_unknown_roles(admin, users):
    assert admin.post("/admin/users/staff/roles", data={}).status_code == 422
    response = admin.post("/admin/users/staff/roles", data={"roles": ["boss"]})
    assert response.status_code == 422
    assert _user("staff").roles == {"staff"}


def test_empty_department_is_refused(admin, users):
    response = admin.post("/admin/users/staff/department", data={"department": " "})
    assert response.status_code == 422
    assert _user("staff").department.name == "Service Hall"


def test_admin_lifts_a_lockout(admin, users, app):
    app.config["QMS_LOCKOUT_AFTER"] = 2
    other = app.test_client()
    for _ in range(2):
        _login(other, "staff", "wrong-password")
    assert _user("staff").locked_at is not None
    page = admin.get("/admin/users/staff").get_data(as_text=True)
    assert "Locked" in page and "Unlock" in page
    assert admin.post("/admin/users/staff/unlock").status_code == 302
    assert _user("staff").locked_at is None and "user.unlocked" in _actions("staff")
    assert _login(other, "staff").status_code == 302


def test_last_active_admin_cannot_switch_off_or_drop_admin_from_themselves(admin, users):
    page = admin.post("/admin/users/admin/active", data={"active": "0"}, follow_redirects=True)
    assert "last active administrator" in page.get_data(as_text=True)
    assert _user("admin").active
    page = admin.post("/admin/users/admin/roles", data={"roles": ["staff"]}, follow_redirects=True)
    assert "last active administrator" in page.get_data(as_text=True)
    assert _user("admin").roles == {"admin"}
    assert "user.deactivated" not in _actions("admin")


def test_with_a_second_admin_the_first_may_step_down(admin, users):
    set_roles(users["approver"], ["approver", "admin"])
    db.session.commit()
    response = admin.post("/admin/users/admin/roles", data={"roles": ["staff"]})
    assert response.status_code == 302
    assert _user("admin").roles == {"staff"}
    # Now approver is the last one: the service refuses whoever asks, the shell too.
    with pytest.raises(AccountError, match="last active administrator"):
        set_active(_user("approver"), False)


def test_a_switched_off_admin_does_not_count(ctx, users):
    second = create_user("admin2", PASSWORD, ["admin"], "IT")
    set_active(second, False, by=users["admin"])
    db.session.commit()
    with pytest.raises(AccountError):
        set_roles(users["admin"], ["staff"], by=users["admin"])


# --- tokens --------------------------------------------------------------------------------


def test_own_tokens_page_creates_shows_once_lists_and_revokes(users, client, app):
    _login(client, "staff")
    response = client.post("/auth/tokens", data={"label": "nightly export", "days": "30"})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    row = db.session.scalar(select(ApiToken).where(ApiToken.user_id == users["staff"].id))
    assert row.label == "nightly export"
    secret = page.split('id="new-token">', 1)[1].split("<", 1)[0]
    # Shown once: the list page does not carry it again.
    assert secret not in client.get("/auth/tokens").get_data(as_text=True)

    api = app.test_client()
    headers = {"Authorization": f"Bearer {secret}"}
    assert api.get("/api/v1/documents", headers=headers).status_code == 200
    listed = client.get("/auth/tokens").get_data(as_text=True)
    assert "nightly export" in listed and "Valid" in listed

    assert client.post(f"/auth/tokens/{row.id}/revoke").status_code == 302
    assert api.get("/api/v1/documents", headers=headers).status_code == 401
    assert "Revoked" in client.get("/auth/tokens").get_data(as_text=True)
    assert {"token.created", "token.revoked"} <= set(_actions("staff"))


@pytest.mark.parametrize("days", ["0", "731", "abc", ""])
def test_token_expiry_must_be_between_one_and_730_days(users, client, days):
    _login(client, "staff")
    response = client.post("/auth/tokens", data={"label": "x", "days": days})
    assert response.status_code == 422
    assert db.session.scalar(select(ApiToken)) is None


def test_token_service_refuses_too_long_an_expiry(ctx, users):
    with pytest.raises(AccountError):
        create_token(users["staff"], 5000)


def test_nobody_revokes_anothers_token_on_their_own_page(users, client):
    token_id = _token_id(users["author"])
    _login(client, "staff")
    assert client.post(f"/auth/tokens/{token_id}/revoke").status_code == 404
    db.session.expire_all()
    assert db.session.get(ApiToken, token_id).revoked_at is None


def _token_id(user, days=30, label="ci") -> int:
    create_token(user, days, label)
    db.session.commit()
    return db.session.scalar(
        select(ApiToken.id).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())
    )


def test_admin_sees_and_revokes_a_users_tokens(admin, users):
    token_id = _token_id(users["staff"], label="robot")
    page = admin.get("/admin/users/staff").get_data(as_text=True)
    assert "robot" in page and "Valid" in page
    assert admin.post(f"/admin/users/staff/tokens/{token_id}/revoke").status_code == 302
    db.session.expire_all()
    assert db.session.get(ApiToken, token_id).revoked_at is not None
    event = [e for e in trail.events_for("user", "staff") if e.action == "token.revoked"][0]
    assert event.user_id == users["admin"].id
    # A token of someone else under this user's URL is not found.
    other = _token_id(users["author"])
    assert admin.post(f"/admin/users/staff/tokens/{other}/revoke").status_code == 404


# --- the profile bug ----------------------------------------------------------------------


def test_profile_without_an_email_field_saves(users, client):
    _login(client, "staff")
    response = client.post("/auth/profile", data={"full_name": "Stef", "locale": ""})
    assert response.status_code == 302
    assert _user("staff").full_name == "Stef"


def test_profile_with_an_email_saves_and_a_bad_one_is_answered(users, client):
    _login(client, "staff")
    response = client.post(
        "/auth/profile", data={"full_name": "S", "email": "s@example.org", "locale": ""}
    )
    assert response.status_code == 302 and _user("staff").email == "s@example.org"
    response = client.post(
        "/auth/profile", data={"full_name": "S", "email": "not-an-address", "locale": ""}
    )
    assert response.status_code == 200
    assert "This is not an email address." in response.get_data(as_text=True)
    assert _user("staff").email == "s@example.org"


# --- the shell -----------------------------------------------------------------------------


def test_create_user_reads_one_line_from_stdin(app, runner):
    result = runner.invoke(
        args=["qms", "create-user", "li", "--role", "staff", "--department", "D"],
        input=NEW + "\n",
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert verify_password(_user("li"), NEW)


def test_create_user_reads_the_same_line_twice_and_refuses_two_different(app, runner):
    args = ["qms", "create-user", "li", "--role", "staff", "--department", "D"]
    result = runner.invoke(args=args, input=f"{NEW}\n{NEW}\n")
    assert result.exit_code == 0, result.output
    args[2] = "mo"
    result = runner.invoke(args=args, input=f"{NEW}\n{NEW}x\n")
    assert result.exit_code != 0 and "differ" in result.output
    with app.app_context():
        assert _user("mo") is None


def test_create_user_on_a_terminal_asks_twice(app, runner, monkeypatch):
    monkeypatch.setattr("qms.cli._stdin_is_terminal", lambda: True)
    args = ["qms", "create-user", "li", "--role", "staff", "--department", "D"]
    result = runner.invoke(args=args, input=f"{NEW}\n{NEW}\n")
    assert result.exit_code == 0, result.output
    assert "Repeat for confirmation" in result.output and NEW not in result.output
    with app.app_context():
        assert verify_password(_user("li"), NEW)


def test_create_user_refuses_a_password_on_the_command_line(app, runner):
    args = ["qms", "create-user", "li", "--role", "staff", "--department", "D"]
    result = runner.invoke(args=[*args, "--password", NEW])
    assert result.exit_code == 2
    assert "standard input" in result.output and "--password" in result.output
    with app.app_context():
        assert _user("li") is None


def test_set_password_from_the_shell_forces_a_change(app, runner, users):
    result = runner.invoke(args=["qms", "set-password", "staff"], input=NEW + "\n")
    assert result.exit_code == 0, result.output
    staff = _user("staff")
    assert verify_password(staff, NEW) and staff.must_change_password
    result = runner.invoke(args=["qms", "set-password", "staff", "--final"], input=PASSWORD + "\n")
    assert result.exit_code == 0 and not _user("staff").must_change_password
    result = runner.invoke(args=["qms", "set-password", "staff"], input="12345678\n")
    assert result.exit_code != 0 and "too common" in result.output
    assert runner.invoke(args=["qms", "set-password", "ghost"], input=NEW).exit_code != 0


def test_deactivate_activate_set_roles_unlock_from_the_shell(app, runner, users):
    assert runner.invoke(args=["qms", "deactivate", "staff"]).exit_code == 0
    assert not _user("staff").active
    assert runner.invoke(args=["qms", "activate", "staff"]).exit_code == 0
    assert _user("staff").active
    result = runner.invoke(args=["qms", "set-roles", "staff", "author", "auditor"])
    assert result.exit_code == 0 and _user("staff").roles == {"author", "auditor"}
    result = runner.invoke(args=["qms", "set-roles", "staff", "boss"])
    assert result.exit_code != 0 and "Roles" in result.output
    result = runner.invoke(args=["qms", "deactivate", "admin"])
    assert result.exit_code != 0 and "last active administrator" in result.output
    staff = _user("staff")
    staff.failed_sign_ins = 3
    db.session.commit()
    assert runner.invoke(args=["qms", "unlock", "staff"]).exit_code == 0
    assert _user("staff").failed_sign_ins == 0
    assert {"user.deactivated", "user.activated", "user.roles_changed", "user.unlocked"} <= set(
        _actions("staff")
    )


def test_tokens_and_revoke_token_from_the_shell(app, runner, users):
    assert "no API token" in runner.invoke(args=["qms", "tokens", "staff"]).output
    token_id = _token_id(users["staff"], label="backup robot")
    listed = runner.invoke(args=["qms", "tokens", "staff"]).output
    assert "backup robot" in listed and "valid" in listed and str(token_id) in listed
    result = runner.invoke(args=["qms", "revoke-token", "staff", str(token_id)])
    assert result.exit_code == 0, result.output
    assert "revoked" in runner.invoke(args=["qms", "tokens", "staff"]).output
    result = runner.invoke(args=["qms", "revoke-token", "author", str(token_id)])
    assert result.exit_code != 0
    assert runner.invoke(args=["qms", "tokens", "ghost"]).exit_code != 0


def test_reset_password_service_records_who(ctx, users):
    reset_password(users["staff"], NEW, by=users["admin"])
    db.session.commit()
    event = trail.events_for("user", "staff")[-1]
    assert event.action == "user.password_reset" and event.user_id == users["admin"].id
