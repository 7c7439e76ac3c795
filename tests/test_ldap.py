"""Directory sign-in against a real OpenLDAP server (Debian's slapd) the tests start."""

import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from qms.auth import ldap
from qms.auth.models import User
from qms.auth.services import authenticate, create_user, verify_password
from qms.extensions import db
from qms.trail import AuditEvent
from tests.conftest import PASSWORD

SLAPD = Path("/usr/sbin/slapd")
SUFFIX = "dc=example,dc=org"
ADMIN_DN = f"cn=admin,{SUFFIX}"
ADMIN_PASSWORD = "admin-secret-1"
PASSWORDS = {"alice": "alice-secret-7", "bob": "bob-secret-7", "carol": "carol-secret-7"}
GROUP_ROLES = (
    f"cn=qms-approvers,ou=groups,{SUFFIX}:approver;qms-staff:staff;cn=qms-authors:author,staff"
)

pytestmark = pytest.mark.skipif(
    not SLAPD.exists(), reason="OpenLDAP's slapd is not installed (apt-get install slapd)"
)

SLAPD_CONF = """\
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile {tmp}/slapd.pid
database mdb
maxsize 10485760
suffix "{suffix}"
rootdn "{admin}"
rootpw {admin_password}
directory {tmp}/db
access to attrs=userPassword by self write by anonymous auth by * none
access to * by users read by * none
"""


def _person(uid: str, name: str, department: str) -> str:
    return f"""
dn: uid={uid},ou=people,{SUFFIX}
objectClass: inetOrgPerson
uid: {uid}
cn: {name}
sn: {name.split()[-1]}
displayName: {name}
mail: {uid}@example.org
departmentNumber: {department}
userPassword: {PASSWORDS[uid]}
"""


def _group(cn: str, *members: str) -> str:
    lines = "".join(f"member: uid={m},ou=people,{SUFFIX}\n" for m in members)
    return f"\ndn: cn={cn},ou=groups,{SUFFIX}\nobjectClass: groupOfNames\ncn: {cn}\n{lines}"


LDIF = (
    f"""dn: {SUFFIX}
objectClass: dcObject
objectClass: organization
o: Example
dc: example

dn: ou=people,{SUFFIX}
objectClass: organizationalUnit
ou: people

dn: ou=groups,{SUFFIX}
objectClass: organizationalUnit
ou: groups
"""
    + _person("alice", "Alice Liddell", "Quality Office")
    + _person("bob", "Bob Builder", "Service Hall")
    + _person("carol", "Carol Singer", "Service Hall")
    + _group("qms-approvers", "alice")
    + _group("qms-staff", "alice", "carol")
    + _group("qms-authors", "bob")
    + _group("unrelated", "bob", "carol")
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ldap_tool(tool: str, url: str, ldif: str) -> None:
    subprocess.run(
        [shutil.which(tool) or tool, "-x", "-H", url, "-D", ADMIN_DN, "-w", ADMIN_PASSWORD],
        input=ldif,
        text=True,
        check=True,
        capture_output=True,
    )


@pytest.fixture(scope="module")
def slapd(tmp_path_factory):
    """A slapd of our own on a free port, loaded with people and groups; its URL."""
    tmp = tmp_path_factory.mktemp("slapd")
    (tmp / "db").mkdir()
    conf = tmp / "slapd.conf"
    conf.write_text(
        SLAPD_CONF.format(tmp=tmp, suffix=SUFFIX, admin=ADMIN_DN, admin_password=ADMIN_PASSWORD)
    )
    url = f"ldap://127.0.0.1:{_free_port()}/"
    log = (tmp / "slapd.log").open("w")
    # -d 0: stay in the foreground, so the fixture owns the process and stops it.
    proc = subprocess.Popen(
        [str(SLAPD), "-d", "0", "-h", url, "-f", str(conf)], stdout=log, stderr=log
    )
    try:
        port = int(url.rsplit(":", 1)[1].strip("/"))
        deadline = time.monotonic() + 15
        while True:
            if proc.poll() is not None:
                pytest.fail(f"slapd exited: {(tmp / 'slapd.log').read_text()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("slapd did not start listening")
                time.sleep(0.05)
        _ldap_tool("ldapadd", url, LDIF)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


@pytest.fixture
def directory(app, slapd):
    """Directory sign-in switched on: bind straight to a DN made from the name."""
    app.config.update(
        QMS_LDAP_URL=slapd,
        QMS_LDAP_BIND_DN=f"uid={{username}},ou=people,{SUFFIX}",
        QMS_LDAP_GROUP_BASE=f"ou=groups,{SUFFIX}",
        QMS_LDAP_GROUP_ROLES=GROUP_ROLES,
        QMS_LDAP_DEPARTMENT_ATTR="departmentNumber",
        QMS_LDAP_TIMEOUT=5,
    )
    ldap.check_config(app.config)
    return slapd


@pytest.fixture
def search_mode(app, directory):
    """Directory sign-in that finds the user by a filter first, as Active Directory needs."""
    app.config.update(
        QMS_LDAP_BIND_DN="",
        QMS_LDAP_BASE_DN=f"ou=people,{SUFFIX}",
        # Only the Quality Office may use this system: a filter an injection could widen.
        QMS_LDAP_USER_FILTER="(&(objectClass=inetOrgPerson)(uid={username})"
        "(departmentNumber=Quality Office))",
        QMS_LDAP_BIND_USER=ADMIN_DN,
        QMS_LDAP_BIND_PASSWORD=ADMIN_PASSWORD,
    )
    ldap.check_config(app.config)
    return directory


def _login(client, username, password):
    return client.post("/auth/login", data={"username": username, "password": password})


def _user(app, username) -> User | None:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        if user is not None:
            # Read what the tests look at while the session is open.
            user.roles, user.department.name  # noqa: B018
        return user


def _events(app, action, username):
    with app.app_context():
        return list(
            db.session.scalars(
                select(AuditEvent)
                .where(AuditEvent.action == action, AuditEvent.object_key == username)
                .order_by(AuditEvent.id)
            )
        )


def test_directory_user_signs_in_with_roles_from_groups_and_is_created_locally(
    app, directory, client
):
    assert _user(app, "alice") is None
    response = _login(client, "alice", PASSWORDS["alice"])
    assert response.status_code == 302
    assert client.get("/").status_code == 200

    alice = _user(app, "alice")
    assert alice.source == "ldap"
    assert alice.roles == {"approver", "staff"}
    assert alice.full_name == "Alice Liddell"
    assert alice.email == "alice@example.org"
    assert alice.department.name == "Quality Office"
    # The directory keeps the password: nothing here signs in with it.
    assert not verify_password(alice, PASSWORDS["alice"])
    (created,) = _events(app, "user.created", "alice")
    assert created.after["source"] == "ldap"
    assert created.after["roles"] == ["approver", "staff"]
    assert _events(app, "user.signed_in", "alice")


def test_group_change_changes_roles_at_next_sign_in(app, directory, client):
    assert _login(client, "carol", PASSWORDS["carol"]).status_code == 302
    assert _user(app, "carol").roles == {"staff"}
    client.post("/auth/logout")

    members = (
        f"dn: cn={{}},ou=groups,{SUFFIX}\nchangetype: modify\n"
        f"{{}}: member\nmember: uid=carol,ou=people,{SUFFIX}\n"
    )
    _ldap_tool("ldapmodify", directory, members.format("qms-approvers", "add"))
    _ldap_tool("ldapmodify", directory, members.format("qms-staff", "delete"))
    try:
        assert _login(client, "carol", PASSWORDS["carol"]).status_code == 302
    finally:
        _ldap_tool("ldapmodify", directory, members.format("qms-staff", "add"))
        _ldap_tool("ldapmodify", directory, members.format("qms-approvers", "delete"))
    assert _user(app, "carol").roles == {"approver"}
    (changed,) = _events(app, "user.roles_changed", "carol")
    assert changed.before == {"roles": ["staff"]}
    assert changed.after == {"roles": ["approver"]}


def test_department_and_name_follow_the_directory(app, directory, client):
    assert _login(client, "carol", PASSWORDS["carol"]).status_code == 302
    change = (
        f"dn: uid=carol,ou=people,{SUFFIX}\nchangetype: modify\n"
        "replace: departmentNumber\ndepartmentNumber: {}\n-\n"
        "replace: displayName\ndisplayName: {}\n"
    )
    _ldap_tool("ldapmodify", directory, change.format("Quality Office", "Carol Lewis"))
    try:
        client.post("/auth/logout")
        assert _login(client, "carol", PASSWORDS["carol"]).status_code == 302
    finally:
        _ldap_tool("ldapmodify", directory, change.format("Service Hall", "Carol Singer"))
    carol = _user(app, "carol")
    assert (carol.department.name, carol.full_name) == ("Quality Office", "Carol Lewis")
    assert _events(app, "user.department_changed", "carol")
    assert _events(app, "user.directory_updated", "carol")


def test_a_user_in_no_mapped_group_cannot_sign_in(app, directory, client):
    app.config["QMS_LDAP_GROUP_ROLES"] = "cn=qms-approvers:approver"
    response = _login(client, "carol", PASSWORDS["carol"])
    assert response.status_code == 200
    assert "The username or password is not correct." in response.text
    assert _user(app, "carol") is None


def test_wrong_directory_password_is_refused_and_throttled(app, directory, client):
    app.config["QMS_SIGN_IN_LIMIT_ACCOUNT"] = "3 per 15 minutes"
    for _ in range(3):
        response = _login(client, "bob", "not-bobs-password")
        assert response.status_code == 200
        assert "The username or password is not correct." in response.text
    assert _user(app, "bob") is None
    # Past the limit even the right password is refused until the window passes.
    assert _login(client, "bob", PASSWORDS["bob"]).status_code == 429


def test_wrong_directory_passwords_lock_the_local_copy(app, directory, client, monkeypatch):
    assert _login(client, "bob", PASSWORDS["bob"]).status_code == 302
    client.post("/auth/logout")
    app.config["QMS_LOCKOUT_AFTER"] = 2
    for _ in range(2):
        assert _login(client, "bob", "not-bobs-password").status_code == 200
    bob = _user(app, "bob")
    assert bob.failed_sign_ins == 2 and bob.locked_at is not None
    # Locked: the directory is not even asked.
    monkeypatch.setattr(ldap, "bind_user", lambda *a: pytest.fail("directory asked"))
    response = _login(client, "bob", PASSWORDS["bob"])
    assert response.status_code == 200
    assert "locked" in response.text


def test_local_account_still_signs_in_with_the_directory_on(app, users, directory, monkeypatch):
    asked = []
    real = ldap.bind_user
    monkeypatch.setattr(ldap, "bind_user", lambda *a: asked.append(a) or real(*a))
    assert _login(app.test_client(), "staff", PASSWORD).status_code == 302
    assert asked == []
    assert _user(app, "staff").source == "local"
    # A directory user still signs in beside it.
    assert _login(app.test_client(), "alice", PASSWORDS["alice"]).status_code == 302


def test_a_directory_entry_cannot_take_over_a_local_account(app, users, directory):
    with app.app_context():
        create_user("bob", "local-bob-password-4", ["staff"], "Service Hall")
        db.session.commit()
    # The local account signs in with its own password, never with the directory's.
    assert _login(app.test_client(), "bob", PASSWORDS["bob"]).status_code == 200
    # Another spelling reaches the directory, whose entry names the local account: refused.
    assert _login(app.test_client(), "BOB", PASSWORDS["bob"]).status_code == 200
    bob = _user(app, "bob")
    assert bob.source == "local" and bob.roles == {"staff"}
    assert _login(app.test_client(), "bob", "local-bob-password-4").status_code == 302


def test_directory_down_shows_a_message_and_local_accounts_sign_in(app, users, directory):
    app.config["QMS_LDAP_URL"] = f"ldap://127.0.0.1:{_free_port()}/"
    response = _login(app.test_client(), "alice", PASSWORDS["alice"])
    assert response.status_code == 200
    assert "The directory server cannot be reached" in response.text
    assert _login(app.test_client(), "staff", PASSWORD).status_code == 302


def test_a_failed_tls_handshake_is_reported_as_unavailable(app, directory):
    # ldaps:// to a server that speaks plain LDAP: no certificate, no sign-in, no 500.
    app.config["QMS_LDAP_URL"] = directory.replace("ldap://", "ldaps://")
    response = _login(app.test_client(), "alice", PASSWORDS["alice"])
    assert response.status_code == 200
    assert "The directory server cannot be reached" in response.text


def test_a_wrong_service_account_is_reported_as_unavailable(app, search_mode):
    app.config["QMS_LDAP_BIND_PASSWORD"] = "not-the-service-password"
    response = _login(app.test_client(), "alice", PASSWORDS["alice"])
    assert response.status_code == 200
    assert "The directory server cannot be reached" in response.text


def test_search_mode_signs_in(app, search_mode):
    assert _login(app.test_client(), "alice", PASSWORDS["alice"]).status_code == 302
    assert _user(app, "alice").roles == {"approver", "staff"}


def test_a_name_typed_otherwise_signs_in_as_the_directory_name(app, search_mode):
    assert _login(app.test_client(), "Alice", PASSWORDS["alice"]).status_code == 302
    assert _user(app, "Alice") is None
    assert _user(app, "alice").source == "ldap"


@pytest.mark.parametrize("name", ["*)(uid=*", "ali*", "*", "alice)(|(uid=*"])
def test_filter_injection_is_refused(app, search_mode, name):
    # Unescaped, each of these filters would find alice, and her password would bind.
    response = _login(app.test_client(), name, PASSWORDS["alice"])
    assert response.status_code == 200
    assert "The username or password is not correct." in response.text
    with app.app_context():
        assert db.session.scalar(select(User).where(User.source == "ldap")) is None


def test_an_empty_password_never_reaches_the_directory(app, directory, monkeypatch):
    monkeypatch.setattr(ldap, "_bind", lambda *a: pytest.fail("bind attempted"))
    with app.test_request_context():
        assert authenticate("alice", "") is None
        assert ldap.bind_user("alice", "") is None


@pytest.mark.parametrize(
    "config",
    [
        {"QMS_LDAP_GROUP_ROLES": "cn=x:overlord"},
        {"QMS_LDAP_GROUP_ROLES": "no-roles-here"},
        {"QMS_LDAP_GROUP_ROLES": '{"cn=x": ["approver", "pope"]}'},
        {"QMS_LDAP_DEFAULT_ROLES": "staff,nobody"},
        {"QMS_LDAP_BIND_DN": "", "QMS_LDAP_BASE_DN": ""},
        {"QMS_LDAP_BIND_DN": "uid=fixed,dc=example,dc=org"},
        {"QMS_LDAP_CA_FILE": "/nonexistent/ca.pem"},
    ],
)
def test_a_configuration_that_cannot_work_is_refused(app, directory, config):
    app.config.update(config)
    with pytest.raises(ValueError):
        ldap.check_config(app.config)


def test_group_roles_accept_json_and_default_roles(app, directory):
    app.config["QMS_LDAP_GROUP_ROLES"] = '{"qms-authors": ["author"], "unrelated": "auditor"}'
    app.config["QMS_LDAP_DEFAULT_ROLES"] = "staff"
    assert _login(app.test_client(), "bob", PASSWORDS["bob"]).status_code == 302
    assert _user(app, "bob").roles == {"author", "auditor", "staff"}


def test_the_application_refuses_to_start_with_a_broken_directory_configuration(tmp_path):
    from qms import create_app
    from tests.conftest import _config

    config = _config(tmp_path, f"sqlite:///{tmp_path / 'qms.sqlite'}")
    config.update(QMS_LDAP_URL="ldap://127.0.0.1:389", QMS_LDAP_BIND_DN="uid={username},dc=x")
    create_app({**config, "QMS_LDAP_GROUP_ROLES": "qms-staff:staff"})
    with pytest.raises(ValueError, match="QMS_LDAP_GROUP_ROLES"):
        create_app({**config, "QMS_LDAP_GROUP_ROLES": "qms-staff:janitor"})


def test_a_directory_users_password_is_changed_in_the_directory_not_here(app, directory, client):
    assert _login(client, "alice", PASSWORDS["alice"]).status_code == 302
    page = client.post(
        "/auth/password",
        data={
            "current": PASSWORDS["alice"],
            "new": "an0ther-Long-passw0rd",
            "confirm": "an0ther-Long-passw0rd",
        },
    )
    assert "change it in the directory" in page.get_data(as_text=True)
    from qms.auth.services import PasswordRejected, reset_password

    with app.app_context():
        alice = db.session.scalar(select(User).where(User.username == "alice"))
        with pytest.raises(PasswordRejected, match="directory"):
            reset_password(alice, "an0ther-Long-passw0rd")
    assert _login(client, "alice", PASSWORDS["alice"]).status_code == 302
