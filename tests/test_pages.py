"""Pages: login everywhere, each role's view of the workflow, and the three languages."""

import re

import pytest

from qms.documents import services
from tests.builders import content, effective, in_review, new_document
from tests.conftest import PASSWORD

PAGES = [
    "/",
    "/documents/",
    "/documents/tree",
    "/documents/review-due",
    "/documents/change-requests",
    "/documents/change-requests/new",
    "/documents/QP-07",
    "/documents/QP-07/revisions/A",
    "/documents/QP-07/diff?from=A&to=B",
    "/auth/profile",
]


@pytest.mark.parametrize("path", PAGES + ["/documents/new", "/documents/QP-07/edit"])
def test_login_required_everywhere(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]


def test_login_page_and_static_files_are_public(client):
    assert client.get("/auth/login").status_code == 200
    with client.get("/static/css/qms.css") as response:
        assert response.status_code == 200


@pytest.mark.parametrize("username", ["staff", "author", "auditor", "approver", "admin"])
def test_every_page_renders_for_every_role(users, client, auth, username):
    effective(users)
    effective(users, text=content("QP-07", body="# Second revision\n\nNew words here.\n"))
    in_review(users, text=content("QP-07", body="# Third\n"))
    auth.login(username)
    for path in PAGES:
        response = client.get(path)
        assert response.status_code == 200, path


def test_login_rejects_bad_password_without_saying_which(users, client, auth):
    response = auth.login("author", "nope")
    assert response.status_code == 200
    assert b"username or password is not correct" in response.data


def test_login_never_redirects_off_site(users, client):
    response = client.post(
        "/auth/login?next=https://evil.example/",
        data={"username": "staff", "password": PASSWORD},
    )
    assert response.headers["Location"] == "/"


def test_login_follows_local_next(users, client):
    response = client.post(
        "/auth/login?next=/documents/tree", data={"username": "staff", "password": PASSWORD}
    )
    assert response.headers["Location"] == "/documents/tree"


def test_full_workflow_in_the_browser(users, client, auth):
    new_document(users)
    auth.login("author")
    response = client.post(
        "/documents/QP-07/edit",
        data={"content": content("QP-07"), "summary": "First issue", "submit": "Save draft"},
        follow_redirects=True,
    )
    assert b"Draft saved as revision A" in response.data
    response = client.post("/documents/QP-07/submit", follow_redirects=True)
    assert b"Submitted for review" in response.data
    auth.logout()
    auth.login("approver")
    page = client.get("/documents/QP-07").data
    assert b"Approve and sign" in page
    response = client.post(
        "/documents/QP-07/approve",
        data={"sign-password": PASSWORD, "sign-comment": "Fine"},
        follow_redirects=True,
    )
    assert b"Approved and signed" in response.data
    response = client.post("/documents/QP-07/release", data={}, follow_redirects=True)
    assert b"Released." in response.data
    assert services.get_document("QP-07").status == "effective"


def test_author_sees_no_approve_form_for_own_revision(users, client, auth):
    in_review(users, author="approver2")
    auth.login("approver2")
    page = client.get("/documents/QP-07").data
    assert b"Approve and sign" not in page
    response = client.post(
        "/documents/QP-07/approve", data={"sign-password": PASSWORD}, follow_redirects=True
    )
    assert b"cannot approve" in response.data
    assert services.open_revision(services.get_document("QP-07")).status == "in_review"


def test_wrong_password_does_not_sign(users, client, auth):
    in_review(users)
    auth.login("approver")
    response = client.post(
        "/documents/QP-07/approve", data={"sign-password": "wrong"}, follow_redirects=True
    )
    assert b"password is not correct" in response.data
    assert services.open_revision(services.get_document("QP-07")).signatures == []


@pytest.mark.parametrize("username", ["staff", "author", "approver", "approver2", "admin"])
def test_the_page_offers_each_step_to_whom_the_rules_allow_it(users, client, auth, username):
    doc = in_review(users)
    user, rev = users[username], services.open_revision(doc)
    auth.login(username)
    page = client.get("/documents/QP-07").get_data(as_text=True)
    approves = services.can_approve(user, rev)
    assert ("Approve and sign" in page) == approves
    assert ("Send back to draft" in page) == services.can_reject(user, doc)
    assert ("Sign as reviewed" in page) == (services.can_review(user, rev) and not approves)
    home = client.get("/").get_data(as_text=True)
    assert ("Waiting for your approval" in home) == services.can_approve(user)
    assert ("Change requests to decide" in home) == services.can_decide_change_request(user)
    register = client.get("/documents/").get_data(as_text=True)
    assert ("New document" in register) == services.can_author(user)


def test_no_role_is_spelled_out_in_the_document_pages():
    """The pages ask the services' can_<verb> rules; a role list there would drift."""
    from qms import ROOT

    sources = [ROOT / "qms" / "documents" / "views.py"]
    sources += sorted((ROOT / "templates" / "documents").glob("*.html"))
    assert [p.name for p in sources if "has_role" in p.read_text(encoding="utf-8")] == []


@pytest.mark.parametrize("username", ["staff", "auditor"])
def test_staff_cannot_open_the_editor_or_create(users, client, auth, username):
    new_document(users)
    auth.login(username)
    assert client.get("/documents/QP-07/edit").status_code == 403
    assert client.get("/documents/new").status_code == 403


def test_redline_shows_words_added_and_removed(users, client, auth):
    effective(users, text=content("QP-07", body="# Title\n\nThe clerk checks the form.\n"))
    effective(users, text=content("QP-07", body="# Title\n\nThe officer checks the form twice.\n"))
    auth.login("staff")
    page = client.get("/documents/QP-07/diff?from=A&to=B").get_data(as_text=True)
    assert "<del>clerk</del>" in page and "<ins>officer</ins>" in page
    assert "<ins> twice</ins>" in page


def test_superseded_revision_is_marked(users, client, auth):
    effective(users)
    effective(users, text=content("QP-07", body="# B\n"))
    auth.login("staff")
    page = client.get("/documents/QP-07/revisions/A").get_data(as_text=True)
    assert "not for use" in page


def test_acknowledge_from_the_page(users, client, auth):
    effective(users, department="Quality Office")
    auth.login("staff2")
    assert b"QP-07" in client.get("/").data
    response = client.post("/documents/QP-07/acknowledge", follow_redirects=True)
    assert b"acknowledgement is recorded" in response.data
    assert b"You have acknowledged" in response.data


def test_register_filters_and_csv(users, client, auth):
    effective(users)
    new_document(users, "WI-07-01", "Window reception", "work_instruction", parent="QP-07")
    auth.login("staff")
    page = client.get("/documents/?status=effective").get_data(as_text=True)
    assert "QP-07" in page and "WI-07-01" not in page
    page = client.get("/documents/?q=window").get_data(as_text=True)
    assert "WI-07-01" in page and ">QP-07<" not in page
    page = client.get("/documents/?clause=7").get_data(as_text=True)
    assert "QP-07" in page
    csv = client.get("/documents/?format=csv")
    assert csv.mimetype == "text/csv"
    lines = csv.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert lines[0].startswith("code,title,type")
    assert len(lines) == 3


@pytest.mark.parametrize(
    "header, expected",
    [("zh-CN,zh;q=0.9", "zh-Hans"), ("zh-TW", "zh-Hant"), ("en-GB", "en"), ("fr", "en")],
)
def test_language_follows_the_browser(users, client, auth, header, expected):
    auth.login("staff")
    page = client.get("/", headers={"Accept-Language": header}).get_data(as_text=True)
    assert f'lang="{expected}"' in page


def test_user_language_preference_wins(users, client, auth):
    auth.login("staff")
    client.post("/language/zh_Hant", data={"next": "/"})
    page = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert 'lang="zh-Hant"' in page
    assert users["staff"].locale == "zh_Hant"


def test_csrf_is_enforced_on_forms(app, users):
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    response = client.post("/auth/login", data={"username": "staff", "password": PASSWORD})
    assert response.status_code == 400


def test_redline_lists_front_matter_changes_as_properties(users, client, auth):
    effective(users)
    changed = content("QP-07", body="# Title\n").replace(
        "clauses: ['7.5']", "clauses: ['7.5', '8.5.1']"
    )
    effective(users, text=changed)
    auth.login("staff")
    page = client.get("/documents/QP-07/diff?from=A&to=B").get_data(as_text=True)
    assert "Properties changed" in page
    assert "<ins>7.5, 8.5.1</ins>" in page


def test_a_multi_select_is_marked_for_the_picker_and_hints_how_to_choose_several(
    users, client, auth
):
    """The picker (pickers.js) takes every multiple select; without scripts a hint stays."""
    effective(users)
    auth.login("author")
    html = client.get("/documents/change-requests/new").get_data(as_text=True)
    select = re.search(r"<select[^>]*\bmultiple\b[^>]*>", html).group(0)
    assert 'data-picker="search"' in select
    assert re.search(r'aria-describedby="[^"]*documents-several', select)
    assert 'id="documents-several"' in html and "picker-native-hint" in html
    for asset in ("vendor/tom-select/tom-select.complete.min.js", "js/pickers.js"):
        assert f"/static/{asset}" in html
        with client.get(f"/static/{asset}") as response:
            assert response.status_code == 200
    # A single choice stays a plain select.
    single = re.findall(r"<select(?![^>]*multiple)[^>]*>", html)
    assert all("data-picker" not in s for s in single)
