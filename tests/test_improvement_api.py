"""The nonconformity and action API: create, list, show, move through the workflow."""

from datetime import date, timedelta

import pytest

from qms.auth.services import create_token
from qms.extensions import db
from tests.builders_improvement import SOON


@pytest.fixture
def api(client, users):
    tokens = {name: create_token(user) for name, user in users.items()}
    db.session.commit()

    def call(method, path, username="staff", **kwargs):
        headers = {"Authorization": f"Bearer {tokens[username]}"}
        return client.open(f"/api/v1{path}", method=method, headers=headers, **kwargs)

    return call


NC = {
    "title": "Complaint: fee charged twice",
    "description": "A citizen was charged twice for one licence.",
    "source": "customer_complaint",
    "department": "Service Hall",
    "clause": "8.2.1",
    "severity": "major",
    "responsible": "author",
    "due_date": SOON.isoformat(),
}


def test_token_is_required(client, users):
    assert client.get("/api/v1/nonconformities").status_code == 401
    assert client.post("/api/v1/actions", json={}).status_code == 401


def test_openapi_lists_the_new_resources(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert "/api/v1/nonconformities/{number}/transition" in paths
    assert "/api/v1/actions/{action_id}/transition" in paths


def test_create_returns_201_with_number_and_state(api):
    response = api("POST", "/nonconformities", json=NC)
    assert response.status_code == 201, response.json
    assert response.json["number"] == f"NC-{date.today().year}-0001"
    assert response.json["state"] == "reported"
    assert response.json["responsible"] == "author"
    minimal = {k: NC[k] for k in ("title", "description", "source", "department")}
    response = api("POST", "/nonconformities", json=minimal)
    assert response.status_code == 201 and response.json["severity"] == "minor"


def test_bad_input_is_a_json_error_naming_the_field(api):
    for change, field in [
        ({"source": "rumour"}, "source"),
        ({"severity": "huge"}, "severity"),
        ({"title": ""}, "title"),
        ({"clause": "3.1"}, "clause"),
        ({"responsible": "ghost"}, "responsible"),
        ({"due_date": "yesterday"}, "due_date"),
        ({"due_date": (date.today() - timedelta(days=1)).isoformat()}, "due_date"),
    ]:
        response = api("POST", "/nonconformities", json={**NC, **change})
        assert response.status_code == 422, change
        assert response.json["error"] and field in response.json["detail"]
    assert api("GET", "/nonconformities").json["total"] == 0


def test_list_filters_and_show(api):
    api("POST", "/nonconformities", json=NC)
    api("POST", "/nonconformities", json={**NC, "severity": "minor", "source": "supplier"})
    listing = api("GET", "/nonconformities?severity=major").json
    assert listing["total"] == 1 and listing["items"][0]["severity"] == "major"
    assert api("GET", "/nonconformities?source=supplier").json["total"] == 1
    assert api("GET", "/nonconformities?department=Service%20Hall").json["total"] == 2
    assert api("GET", "/nonconformities?department=Elsewhere").json["total"] == 0
    assert api("GET", "/nonconformities?clause=8.2").json["total"] == 2
    assert api("GET", "/nonconformities?overdue=true").json["total"] == 0
    assert api("GET", "/nonconformities?state=bogus").status_code == 422
    number = listing["items"][0]["number"]
    shown = api("GET", f"/nonconformities/{number}").json
    assert shown["description"] == NC["description"] and shown["actions"] == []
    assert api("GET", "/nonconformities/NC-1999-0001").status_code == 404


def test_whole_workflow_through_the_api(api):
    number = api("POST", "/nonconformities", json=NC).json["number"]

    def move(username, to, **fields):
        return api(
            "POST", f"/nonconformities/{number}/transition", username, json={"to": to, **fields}
        )

    refused = move("staff", "containment")
    assert refused.status_code == 403 and "responsible" in refused.json["error"]
    assert move("author", "containment").json["state"] == "containment"
    refused = move("author", "analysis")
    assert refused.status_code == 422 and "containment" in refused.json["detail"]
    assert move("author", "analysis", containment="Refund made.").json["state"] == "analysis"
    refused = move("approver", "action_plan")
    assert refused.status_code == 409 and "missing" in refused.json["error"]
    analysis = {
        "whys": ["Two tills", "No reconciliation"],
        "cause_category": "method",
        "root_cause": "Tills are not reconciled daily.",
    }
    assert (
        api("PUT", f"/nonconformities/{number}/analysis", "author", json=analysis).status_code
        == 200
    )
    assert move("author", "action_plan").status_code == 403
    assert move("approver", "action_plan").json["state"] == "action_plan"

    action = api(
        "POST",
        "/actions",
        "author",
        json={
            "type": "corrective",
            "title": "Reconcile tills daily",
            "owner": "author2",
            "due_date": SOON.isoformat(),
            "nonconformity": number,
            "effectiveness_criteria": "No double charge in a quarter",
        },
    )
    assert action.status_code == 201, action.json
    action_id = action.json["id"]
    assert action.json["nonconformity"] == number and action.json["state"] == "planned"
    assert move("approver", "implementation").json["state"] == "implementation"

    def step(username, to, **fields):
        return api("POST", f"/actions/{action_id}/transition", username, json={"to": to, **fields})

    assert step("staff", "in_progress").status_code == 403
    assert step("author2", "in_progress").json["state"] == "in_progress"
    assert step("author2", "done", note="Daily reconciliation in place.").json["state"] == "done"
    assert move("author", "effectiveness_check").json["state"] == "effectiveness_check"
    refused = step("author2", "verified_effective", result="Fine")
    assert refused.status_code == 403 and "someone else" in refused.json["error"]
    checked = step("auditor", "verified_effective", result="No double charge since.")
    assert checked.json["checked_by"] == "auditor"
    closed = move("approver", "closed", result="Effective.")
    assert closed.status_code == 200 and closed.json["state"] == "closed"
    assert closed.json["actions"][0]["state"] == "verified_effective"


def test_actions_without_an_nc_and_listing(api):
    response = api(
        "POST",
        "/actions",
        json={
            "type": "improvement",
            "title": "Queue display",
            "owner": "author",
            "due_date": SOON.isoformat(),
            "origin": "suggestion",
        },
    )
    assert response.status_code == 201
    assert response.json["nonconformity"] is None and response.json["origin"] == "suggestion"
    assert (
        api(
            "POST",
            "/actions",
            json={"type": "fix", "title": "x", "owner": "author", "due_date": SOON.isoformat()},
        ).status_code
        == 422
    )
    assert api("GET", "/actions?owner=author").json["total"] == 1
    assert api("GET", f"/actions/{response.json['number']}").json["id"] == response.json["id"]
    assert api("GET", "/actions/999").status_code == 404


def test_evidence_file_is_uploaded_as_a_stream_and_a_refused_one_leaves_nothing(app, api):
    import io
    from pathlib import Path

    number = api("POST", "/nonconformities", json=NC).json["number"]
    path = f"/nonconformities/{number}/evidence/file"
    refused = api(
        "POST",
        path,
        data={"file": (io.BytesIO(b"<html><script>alert(1)</script></html>"), "report.pdf")},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 422 and "report.pdf" in refused.json["error"]
    assert refused.json["detail"] == {"file": [refused.json["error"]]}
    store = Path(app.config["QMS_ATTACHMENTS_DIR"])
    assert not store.exists() or [p for p in store.rglob("*") if p.is_file()] == []
    assert api("GET", f"/nonconformities/{number}").json["evidence"] == []
    missing = api("POST", path, data={}, content_type="multipart/form-data")
    assert missing.status_code == 422
    response = api(
        "POST",
        path,
        data={"file": (io.BytesIO(b"12:00 printer jammed\n12:40 fixed\n"), "queue.log")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.json
    [evidence] = response.json["evidence"]
    assert evidence["kind"] == "attachment" and evidence["filename"] == "queue.log"
    assert (store / evidence["sha256"][:2] / evidence["sha256"]).is_file()
