"""The JSON API: bearer tokens, the document workflow, errors as JSON, the OpenAPI document."""

import pytest

from qms.auth.services import create_token
from qms.extensions import db
from tests.builders import content, effective
from tests.conftest import PASSWORD


@pytest.fixture
def tokens(users):
    made = {name: create_token(user) for name, user in users.items()}
    db.session.commit()
    return made


@pytest.fixture
def api(client, tokens):
    def call(method, path, username="author", **kwargs):
        headers = {"Authorization": f"Bearer {tokens[username]}"}
        return client.open(f"/api/v1{path}", method=method, headers=headers, **kwargs)

    return call


def test_token_is_required(client, tokens):
    response = client.get("/api/v1/documents")
    assert response.status_code == 401
    assert response.json["error"]
    response = client.get("/api/v1/documents", headers={"Authorization": "Bearer wrong"})
    assert response.status_code == 401


def test_session_cookie_does_not_authenticate_the_api(users, client, auth):
    auth.login("author")
    assert client.get("/api/v1/documents").status_code == 401


def test_openapi_document_is_generated(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.json
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/documents/{code}/draft/approve" in spec["paths"]
    assert "bearerAuth" in spec["components"]["securitySchemes"]


def test_whole_workflow_through_the_api(api):
    response = api(
        "POST",
        "/documents",
        json={
            "code": "QP-07",
            "title": "Document control",
            "type": "procedure",
            "clauses": ["7.5"],
        },
    )
    assert response.status_code == 201, response.json
    assert response.json["status"] == "draft" and response.json["revisions"] == []

    response = api(
        "PUT",
        "/documents/QP-07/draft",
        json={"content": content("QP-07"), "summary": "First issue"},
    )
    assert response.status_code == 200, response.json
    assert response.json["revisions"][0]["status"] == "draft"

    assert api("POST", "/documents/QP-07/draft/submit").json["status"] == "in_review"

    response = api("POST", "/documents/QP-07/draft/approve", json={"password": PASSWORD})
    assert response.status_code == 403  # the author cannot approve
    response = api(
        "POST",
        "/documents/QP-07/draft/approve",
        "approver",
        json={"password": PASSWORD, "comment": "OK"},
    )
    assert response.status_code == 200, response.json
    (signature,) = response.json["revisions"][0]["signatures"]
    assert signature["meaning"] == "approved" and signature["signer"] == "approver"
    assert signature["blob"] == response.json["revisions"][0]["blob"]

    response = api("POST", "/documents/QP-07/draft/release", "approver", json={})
    assert response.status_code == 200
    body = response.json
    assert body["status"] == "effective" and body["revision"] == "A"
    rev = body["revisions"][0]
    assert rev["status"] == "effective" and rev["commit"] and rev["effective_date"]

    md = api("GET", "/documents/QP-07/content?format=md")
    assert md.status_code == 200 and md.get_data(as_text=True).startswith("---\ncode: QP-07")
    html = api("GET", "/documents/QP-07/content?revision=A&format=html")
    assert "<h1" in html.get_data(as_text=True)


def test_reject_through_the_api(api):
    api("POST", "/documents", json={"code": "QP-01", "title": "T", "type": "procedure"})
    api("PUT", "/documents/QP-01/draft", json={"content": content("QP-01"), "summary": "x"})
    api("POST", "/documents/QP-01/draft/submit")
    response = api("POST", "/documents/QP-01/draft/reject", "approver", json={"reason": ""})
    assert response.status_code == 422
    response = api("POST", "/documents/QP-01/draft/reject", "approver", json={"reason": "No"})
    assert response.json["revisions"][0]["status"] == "draft"


def test_diff_through_the_api(users, api):
    effective(users, text=content("QP-07", body="# T\n\nOne two three.\n"))
    effective(users, text=content("QP-07", body="# T\n\nOne 2 three.\n"))
    response = api("GET", "/documents/QP-07/diff?from=A&to=B")
    assert response.status_code == 200
    assert response.json["words_added"] == 1 and response.json["words_removed"] == 1
    kinds = [p["kind"] for b in response.json["blocks"] for p in b["pieces"]]
    assert "ins" in kinds and "del" in kinds


def test_list_filters_and_pages(users, api):
    for n in range(3):
        effective(users, f"QP-0{n + 1}")
    response = api("GET", "/documents?per_page=2&status=effective")
    assert response.json["total"] == 3 and len(response.json["items"]) == 2
    assert response.json["pages"] == 2
    assert api("GET", "/documents?type=manual").json["total"] == 0
    assert api("GET", "/documents?type=nonsense").status_code == 422
    for bad in ("per_page=0", "per_page=501", "page=0", "page=-1", "per_page=two"):
        response = api("GET", f"/documents?{bad}")
        assert response.status_code == 422, bad
        assert bad.split("=")[0] in str(response.json["detail"])


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"code": "QP/07", "title": "T", "type": "procedure"}, "code"),
        ({"code": "../etc", "title": "T", "type": "procedure"}, "code"),
        ({"code": "QP 07", "title": "T", "type": "procedure"}, "code"),
        ({"code": "", "title": "T", "type": "procedure"}, "code"),
        ({"code": "QP-07", "title": "T", "type": "memo"}, "type"),
        ({"code": "QP-07", "title": "", "type": "procedure"}, "title"),
        ({"code": "QP-07", "title": "T", "type": "procedure", "clauses": ["11.1"]}, "clauses"),
        ({"title": "T", "type": "procedure"}, "code"),
    ],
)
def test_bad_document_is_refused_with_the_field(api, payload, field):
    response = api("POST", "/documents", json=payload)
    assert response.status_code == 422
    assert field in response.json["detail"]
    assert response.json["error"]


def test_errors_are_json_with_status(users, api):
    assert api("GET", "/documents/NOPE").status_code == 404
    assert api("GET", "/documents/NOPE").json["error"]
    effective(users)
    api("PUT", "/documents/QP-07/draft", json={"content": content("QP-07"), "summary": "B"})
    response = api(
        "PUT", "/documents/QP-07/draft", json={"content": content("QP-07"), "base_commit": "0" * 40}
    )
    assert response.status_code == 409
    response = api("POST", "/documents/QP-07/draft/release", "approver", json={})
    assert response.status_code == 409
    response = api("POST", "/documents/QP-07/draft/submit", "staff")
    assert response.status_code == 403


def test_unsafe_markdown_is_refused_by_the_api(users, api):
    api("POST", "/documents", json={"code": "QP-07", "title": "T", "type": "procedure"})
    bad = content("QP-07", body="# T\n\n<script>alert(1)</script>\n")
    response = api("PUT", "/documents/QP-07/draft", json={"content": bad})
    assert response.status_code == 422
    assert "Script" in response.json["error"]
