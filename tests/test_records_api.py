"""The records API: submit, list, read with versions, amend, void, attach; the same rules."""

from urllib.parse import quote

import pytest

from qms.auth.services import create_token
from qms.documents import services as documents
from qms.extensions import db
from tests.builders_records import form_in_force
from tests.test_records import VALID_AND_INVALID


@pytest.fixture
def api(client, users):
    tokens = {name: create_token(user) for name, user in users.items()}
    db.session.commit()

    def call(method, path, username="staff", **kwargs):
        headers = {"Authorization": f"Bearer {tokens[username]}"}
        return client.open(f"/api/v1{path}", method=method, headers=headers, **kwargs)

    return call


@pytest.fixture
def form(users):
    return form_in_force(users)


def post(api, username="staff", **values):
    values.setdefault("title", "A title")
    return api("POST", "/records", username, json={"form": "RF-01", "values": values})


def test_token_is_required(client, form):
    assert client.get("/api/v1/records").status_code == 401
    assert client.post("/api/v1/records", json={"form": "RF-01", "values": {}}).status_code == 401


def test_post_returns_the_number_and_the_pinned_form_revision(api, form):
    response = post(api)
    assert response.status_code == 201, response.json
    body = response.json
    rev = documents.effective_revision(documents.get_document("RF-01"))
    assert body["number"].startswith("RF-01/") and body["number"].endswith("/000001")
    assert (body["form"], body["form_revision"], body["form_commit"]) == (
        "RF-01",
        "A",
        rev.release_commit,
    )


def test_every_field_type_through_the_api_same_rules_as_the_service(api, form):
    good = {key: g for key, (g, _s, _b) in VALID_AND_INVALID.items()}
    response = post(api, **good)
    assert response.status_code == 201, response.json
    values = api("GET", f"/records/{response.json['number']}").json["values"]
    for key, (_good, stored, _bad) in VALID_AND_INVALID.items():
        assert values[key] == stored, key
    for key, (_good, _stored, bad) in VALID_AND_INVALID.items():
        response = post(api, **{key: bad})
        assert response.status_code == 422, key
        assert list(response.json["detail"]) == [key]
        assert response.json["detail"][key][0]


def test_errors_are_keyed_by_field(api, form):
    response = api("POST", "/records", json={"form": "RF-01", "values": {"score": "many"}})
    assert response.status_code == 422
    assert set(response.json["detail"]) == {"title", "score"}


def test_unknown_or_obsolete_forms_are_refused(api, form, users):
    assert api("POST", "/records", json={"form": "RF-99", "values": {}}).status_code == 404
    documents.obsolete(users["approver"], documents.get_document("RF-01"), "Replaced")
    response = post(api)
    assert response.status_code == 409
    assert "obsolete" in response.json["error"]


def test_list_by_form_is_paged(api, form):
    for _ in range(3):
        post(api)
    body = api("GET", "/records?form=RF-01&per_page=2").json
    assert (body["total"], body["pages"], len(body["items"])) == (3, 2, 2)
    assert body["items"][0]["number"].endswith("/000003")
    assert api("GET", "/records?department=Service Hall").json["total"] == 3
    assert api("GET", "/records?department=Quality Office").json["total"] == 0
    assert api("GET", "/records?form=RF-01&status=bogus").status_code == 422


def test_get_one_record_by_number_encoded_or_not(api, form):
    number = post(api).json["number"]
    for path in (quote(number, safe=""), number):
        response = api("GET", f"/records/{path}")
        assert response.status_code == 200
        assert response.json["number"] == number
        assert response.json["versions"] == []
    assert api("GET", "/records/RF-01/2026/999999").status_code == 404
    assert api("GET", "/records/nonsense").status_code == 404


def test_amend_keeps_the_earlier_version_with_its_reason(api, form):
    number = post(api, score=1).json["number"]
    response = api(
        "POST",
        f"/records/{quote(number, safe='')}/amend",
        json={"values": {"title": "A title", "score": 2}, "reason": "Wrong score"},
    )
    assert response.status_code == 200, response.json
    body = api("GET", f"/records/{number}").json
    assert body["values"]["score"] == 2 and body["version"] == 2
    assert [
        (v["version"], v["values"]["score"], v["superseded_because"]) for v in body["versions"]
    ] == [(1, 1, "Wrong score")]
    response = api(
        "POST", f"/records/{number}/amend", json={"values": {"score": "x"}, "reason": "r"}
    )
    assert response.status_code == 422 and set(response.json["detail"]) == {"title", "score"}


def test_void_then_amend_is_refused_and_record_stays_readable(api, form):
    number = post(api).json["number"]
    assert api("POST", f"/records/{number}/void", json={"reason": "x"}).status_code == 403
    response = api("POST", f"/records/{number}/void", "approver", json={"reason": "Duplicate"})
    assert response.status_code == 200 and response.json["status"] == "void"
    response = api(
        "POST", f"/records/{number}/amend", json={"values": {"title": "B"}, "reason": "late"}
    )
    assert response.status_code == 409
    assert api("GET", f"/records/{number}").json["void_reason"] == "Duplicate"


def test_no_api_route_changes_a_record_in_place(api, form):
    number = post(api).json["number"]
    for method in ("PUT", "PATCH", "DELETE"):
        assert api(method, f"/records/{number}", json={"values": {}}).status_code == 405


def test_attachment_upload_then_reference(api, form, app):
    import io

    response = api(
        "POST",
        "/records/attachments",
        data={"file": (io.BytesIO(b"scan"), "scan.pdf", "application/pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.json
    assert response.json["size"] == 4 and len(response.json["sha256"]) == 64
    assert response.json["content_type"] == "text/plain"  # read from the bytes, not the claim
    number = post(api, file=response.json["id"]).json["number"]
    assert api("GET", f"/records/{number}").json["values"]["file"] == response.json["id"]
    app.config["QMS_MAX_ATTACHMENT_BYTES"] = 2
    response = api(
        "POST",
        "/records/attachments",
        data={"file": (io.BytesIO(b"scan"), "scan.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422


def test_attachment_that_can_run_script_is_refused_and_not_kept(api, form):
    import io

    from qms import attachments

    response = api(
        "POST",
        "/records/attachments",
        data={"file": (io.BytesIO(b"<svg onload='alert(1)'/>"), "scan.pdf", "application/pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "scan.pdf is not a kind of file" in response.json["detail"]["file"][0]
    assert attachments.stored() == set()
    missing = api("POST", "/records/attachments", data={}, content_type="multipart/form-data")
    assert missing.status_code == 422 and "file" in missing.json["detail"]


def test_link_through_the_api(api, form):
    number = post(api).json["number"]
    response = api(
        "POST",
        f"/records/{number}/links",
        "auditor",
        json={"target_type": "audit", "target_key": "IA-2026-01"},
    )
    assert response.status_code == 201
    assert api("GET", f"/records/{number}").json["links"][0]["target_key"] == "IA-2026-01"
