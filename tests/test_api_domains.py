"""The API of the remaining domains: the same services and the same rules as the pages.

Reviews, complaints and surveys, change requests, acknowledgements, periodic review and
obsoletion, the audit programme, accounts and departments, the audit trail. Each path is
exercised with a success and a refusal, and where a page enforces a rule the page and the
API are asked the same thing and must agree.
"""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from qms import clock, trail
from qms.auth.models import Department, User
from qms.auth.services import create_token
from qms.documents.models import ChangeRequest, Document, Signature
from qms.extensions import db
from qms.reviews.models import Complaint, Review, SurveyResult
from tests.builders import effective
from tests.builders_audits import plan, procedure
from tests.conftest import PASSWORD

TODAY = clock.today()


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


def count(model, *where) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def actions_of(object_type: str, key: str) -> list[str]:
    db.session.expire_all()
    return [e.action for e in trail.events_for(object_type, key)]


# -- management reviews -------------------------------------------------------------------


def test_a_review_is_planned_prepared_held_decided_and_signed_through_the_api(api, users):
    response = api(
        "POST",
        "/reviews",
        "approver",
        json={"title": "Q4 review", "planned_on": TODAY.isoformat(), "chair": "approver"},
    )
    assert response.status_code == 201, response.json
    number = response.json["number"]
    assert response.json["state"] == "planned" and response.json["inputs"] is None

    response = api(
        "PUT",
        f"/reviews/{number}/notes",
        "approver",
        json={"notes": {"context_changes": "New law."}},
    )
    assert response.status_code == 200, response.json
    assert response.json["notes"] == {"context_changes": "New law."}

    early = api("POST", f"/reviews/{number}/decisions", "approver", json={"kind": "resources"})
    assert early.status_code == 422  # the text is required before any state is looked at
    early = api(
        "POST",
        f"/reviews/{number}/decisions",
        "approver",
        json={"kind": "resources", "text": "One more window."},
    )
    assert early.status_code == 409  # decisions are recorded at a held review

    response = api("POST", f"/reviews/{number}/prepare", "approver")
    assert response.status_code == 200 and response.json["state"] == "prepared"
    assert response.json["inputs"]["sections"]
    response = api("POST", f"/reviews/{number}/hold", "approver", json={"discussion": "Queue."})
    assert response.status_code == 200 and response.json["state"] == "held"

    response = api(
        "POST",
        f"/reviews/{number}/decisions",
        "approver",
        json={
            "kind": "improvement",
            "text": "Shorten the queue at window 3.",
            "action": {
                "type": "improvement",
                "title": "Add a second scanner",
                "owner": "author2",
                "due_date": (TODAY + timedelta(days=30)).isoformat(),
            },
        },
    )
    assert response.status_code == 201, response.json
    assert response.json["action"] and response.json["actions"] == [response.json["action"]]
    decision = response.json["id"]
    more = api(
        "POST",
        f"/reviews/{number}/decisions/{decision}/actions",
        "approver",
        json={
            "type": "corrective",
            "title": "Train the new clerks",
            "owner": "author2",
            "due_date": (TODAY + timedelta(days=60)).isoformat(),
        },
    )
    assert more.status_code == 201, more.json
    assert more.json["decision"] == decision and more.json["action"].startswith("ACT-")
    refused = api(
        "POST",
        f"/reviews/{number}/decisions/{decision}/actions",
        "author",
        json={
            "type": "corrective",
            "title": "Train the new clerks",
            "owner": "author2",
            "due_date": (TODAY + timedelta(days=60)).isoformat(),
        },
    )
    assert refused.status_code == 403
    missing = api(
        "POST",
        f"/reviews/{number}/decisions/{decision + 1}/actions",
        "approver",
        json={"type": "corrective", "title": "x", "owner": "author2", "due_date": "2030-01-01"},
    )
    assert missing.status_code == 404

    wrong = api("POST", f"/reviews/{number}/approve", "approver", json={"password": "nope"})
    assert wrong.status_code == 422 and wrong.json["detail"] == {
        "password": ["The password is not correct."]
    }
    response = api("POST", f"/reviews/{number}/approve", "approver", json={"password": PASSWORD})
    assert response.status_code == 200, response.json
    assert response.json["state"] == "approved" and response.json["minutes_sha256"]
    detail = api("GET", f"/reviews/{number}", "staff").json
    assert detail["decisions"][0]["text"] == "Shorten the queue at window 3."
    assert api("GET", "/reviews?state=approved", "staff").json["total"] == 1
    assert api("GET", "/reviews?state=planned", "staff").json["total"] == 0
    assert "review.minutes_approved" in actions_of("review", number)


def test_only_the_quality_office_plans_a_review_on_the_page_and_through_the_api(
    api, users, client, auth
):
    body = {"title": "Q4 review", "planned_on": TODAY.isoformat(), "chair": "approver"}
    response = api("POST", "/reviews", "author", json=body)
    assert response.status_code == 403
    assert response.json["error"] == "Only the quality office (approver) or an administrator may."
    auth.login("author")
    assert client.get("/reviews/new").status_code == 403
    assert count(Review) == 0


def test_only_the_chair_approves_the_minutes_through_the_api(api, users):
    from qms.reviews import services

    review = services.plan_review(users["approver"], "Q4", TODAY, "approver", [])
    services.hold(users["approver"], services.prepare(users["approver"], review), TODAY, "")
    db.session.commit()
    response = api(
        "POST", f"/reviews/{review.number}/approve", "approver2", json={"password": PASSWORD}
    )
    assert response.status_code == 403
    assert response.json["error"] == "Only the chair of the review approves its minutes."
    assert api("GET", "/reviews/MR-1999-01", "staff").status_code == 404


# -- complaints and surveys ---------------------------------------------------------------


def complaint_body(**kw):
    return {
        "channel": "phone",
        "received_on": (TODAY - timedelta(days=1)).isoformat(),
        "content": "Waited an hour.",
        "department": "Service Hall",
    } | kw


def test_a_complaint_is_registered_answered_and_raises_one_nc(api, users):
    response = api("POST", "/complaints", "staff", json=complaint_body())
    assert response.status_code == 201, response.json
    number = response.json["number"]
    assert response.json["answered"] is False
    assert api("GET", "/complaints?open=true", "staff").json["total"] == 1
    assert api("GET", "/complaints?department=Service%20Hall", "approver").json["total"] == 1
    assert api("GET", "/complaints?department=Quality%20Office", "approver").json["total"] == 0
    unknown = api("GET", "/complaints?department=Nowhere", "approver")
    assert unknown.status_code == 422 and "department" in unknown.json["detail"]

    response = api(
        "POST",
        f"/complaints/{number}/response",
        "author2",
        json={"response": "A second window opens at peak hours.", "satisfied": True},
    )
    assert response.status_code == 200, response.json
    assert response.json["responded_by"] == "author2" and response.json["satisfied"] is True
    assert api("GET", "/complaints?open=true", "staff").json["total"] == 0

    first = api("POST", f"/complaints/{number}/nc", "approver")
    assert first.status_code == 201 and first.json["nc"].startswith("NC-")
    again = api("POST", f"/complaints/{number}/nc", "approver")
    assert again.status_code == 409
    assert actions_of("complaint", number) == [
        "complaint.registered",
        "complaint.responded",
        "complaint.nc_raised",
    ]


def test_a_complaint_out_of_sight_is_not_found_by_the_api_nor_the_page(api, users, client, auth):
    number = api("POST", "/complaints", "staff", json=complaint_body()).json["number"]
    # staff2 works in the Quality Office: a Service Hall complaint is not theirs to see.
    assert api("GET", f"/complaints/{number}", "staff2").status_code == 404
    assert api("GET", "/complaints", "staff2").json["total"] == 0
    response = api("POST", f"/complaints/{number}/response", "staff2", json={"response": "x"})
    assert response.status_code == 404
    auth.login("staff2")
    assert client.get(f"/complaints/{number}").status_code == 404


def test_who_may_not_respond_to_a_complaint_is_refused_by_the_api_and_the_page(
    api, users, client, auth
):
    number = api("POST", "/complaints", "staff", json=complaint_body()).json["number"]
    # The auditor sees every complaint but answers for none.
    response = api("POST", f"/complaints/{number}/response", "auditor", json={"response": "x"})
    assert response.status_code == 403
    assert response.json["error"] == (
        "Only the department concerned or the quality office responds to a complaint."
    )
    auth.login("auditor")
    page = client.post(f"/complaints/{number}", data={"response": "x", "satisfied": ""})
    assert page.status_code == 403
    assert count(Complaint, Complaint.response.is_not(None)) == 0


def test_a_complaint_with_bad_input_is_refused_with_the_field_named(api, users):
    future = (TODAY + timedelta(days=1)).isoformat()
    response = api("POST", "/complaints", "staff", json=complaint_body(received_on=future))
    assert response.status_code == 422
    assert response.json["detail"] == {
        "received_on": ["The date received cannot be in the future."]
    }
    response = api("POST", "/complaints", "staff", json=complaint_body(channel="pigeon"))
    assert response.status_code == 422 and "channel" in response.json["detail"]
    response = api("POST", "/complaints", "staff", json=complaint_body(department="Nowhere"))
    assert response.status_code == 422
    assert response.json["detail"] == {"department": ["Choose the department concerned."]}
    assert count(Complaint) == 0


def test_survey_results_are_recorded_by_the_quality_office_only(api, users, client, auth):
    body = {"period": "2026-Q3", "service": "Business licence", "responses": 120, "score": 93.5}
    response = api("POST", "/surveys", "staff", json=body)
    assert response.status_code == 403
    auth.login("staff")
    page = client.post("/surveys/", data={**body, "responses": "120", "score": "93.5"})
    assert page.status_code == 403
    assert count(SurveyResult) == 0

    response = api("POST", "/surveys", "approver", json=body)
    assert response.status_code == 201, response.json
    ident = response.json["id"]
    assert api("GET", f"/surveys/{ident}", "staff").json["score"] == 93.5
    assert api("GET", "/surveys?period=2026-q3", "staff").json["total"] == 1
    assert api("GET", "/surveys?period=2026-Q2", "staff").json["total"] == 0
    assert api("GET", f"/surveys/{ident + 1}", "staff").status_code == 404
    bad = api("POST", "/surveys", "approver", json=body | {"score": 130})
    assert bad.status_code == 422
    assert bad.json["detail"] == {"score": ["The score is a percentage from 0 to 100."]}


# -- change requests ----------------------------------------------------------------------


def raise_cr(api, username="author"):
    response = api(
        "POST",
        "/change-requests",
        username,
        json={
            "title": "Scan at window",
            "reason": "Paper copies get lost.",
            "documents": ["QP-07"],
        },
    )
    assert response.status_code == 201, response.json
    return response.json["number"]


def test_an_author_cannot_decide_a_change_request_through_the_api_nor_the_page(
    api, users, client, auth
):
    effective(users)
    number = raise_cr(api)
    response = api("POST", f"/change-requests/{number}/decision", json={"decision": "accept"})
    assert response.status_code == 403
    assert response.json["error"] == "This needs the role: approver."
    auth.login("author")
    page = client.post(f"/documents/change-requests/{number}", data={"decision": "accept"})
    assert "This needs the role: approver." in page.get_data(as_text=True)
    assert count(ChangeRequest, ChangeRequest.status == "open") == 1
    assert actions_of("change_request", number) == ["change_request.raised"]


def test_an_approver_declines_with_a_reason_and_decides_once(api, users):
    effective(users)
    number = raise_cr(api)
    response = api(
        "POST", f"/change-requests/{number}/decision", "approver", json={"decision": "decline"}
    )
    assert response.status_code == 422
    assert response.json["detail"] == {"note": ["Give the reason for declining."]}
    response = api(
        "POST",
        f"/change-requests/{number}/decision",
        "approver",
        json={"decision": "decline", "note": "The scanner is not bought yet."},
    )
    assert response.status_code == 200, response.json
    assert response.json["status"] == "declined" and response.json["decided_by"] == "approver"
    again = api(
        "POST", f"/change-requests/{number}/decision", "approver", json={"decision": "accept"}
    )
    assert again.status_code == 409
    listed = api("GET", "/change-requests?status=declined", "staff").json
    assert [item["number"] for item in listed["items"]] == [number]
    assert api("GET", "/change-requests?status=open", "staff").json["total"] == 0
    assert api("GET", f"/change-requests/{number}", "staff").json["documents"] == ["QP-07"]


def test_a_change_request_names_documents_that_exist(api, users):
    response = api(
        "POST",
        "/change-requests",
        json={"title": "x", "reason": "y", "documents": ["QP-99"]},
    )
    assert response.status_code == 404
    assert api("GET", "/change-requests/CR-1999-0001").status_code == 404
    assert count(ChangeRequest) == 0


# -- reading and acknowledging ------------------------------------------------------------


def test_staff_acknowledge_what_they_must_read_and_coverage_counts_it(api, users):
    procedure(users)  # QP-07, in force, distributed to the Service Hall
    db.session.commit()
    to_read = api("GET", "/acknowledgements", "staff").json
    assert [d["code"] for d in to_read["items"]] == ["QP-07"]
    before = api("GET", "/acknowledgements/QP-07", "staff").json
    assert before["revision"] == "A" and before["acknowledged"] == 0 and before["concerns_me"]

    response = api("POST", "/acknowledgements", "staff", json={"codes": ["QP-07", "QP-99"]})
    assert response.status_code == 200, response.json
    assert response.json["acknowledged"] == ["QP-07"]
    assert len(response.json["refused"]) == 1
    assert api("GET", "/acknowledgements", "staff").json["total"] == 0
    after = api("GET", "/acknowledgements/QP-07", "staff").json
    assert after["acknowledged"] == before["acknowledged"] + 1
    assert after["expected"] == before["expected"]
    assert actions_of("revision", "QP-07/A")[-1] == "revision.acknowledged"


def test_a_document_not_distributed_to_the_caller_is_not_acknowledged(api, users):
    procedure(users)
    db.session.commit()
    response = api("POST", "/acknowledgements", "staff2", json={"codes": ["QP-07"]})
    assert response.status_code == 409
    assert response.json["error"] == "QP-07 is not distributed to your department."
    assert api("GET", "/acknowledgements/QP-07", "staff2").json["concerns_me"] is False
    assert api("POST", "/acknowledgements", "staff2", json={"codes": []}).status_code == 422
    assert api("GET", "/acknowledgements/QP-99", "staff2").status_code == 404
    assert "revision.acknowledged" not in actions_of("revision", "QP-07/A")


# -- periodic review and obsoletion -------------------------------------------------------


def test_a_periodic_review_is_signed_with_the_password_as_on_the_page(api, users, client, auth):
    effective(users)
    auth.login("author")
    client.post(
        "/documents/QP-07/periodic-review",
        data={"periodic-password": PASSWORD, "periodic-comment": ""},
    )
    refused = api("POST", "/documents/QP-07/periodic-review", json={"password": PASSWORD})
    assert refused.status_code == 403
    assert refused.json["error"] == "This needs the role: approver."
    wrong = api("POST", "/documents/QP-07/periodic-review", "approver", json={"password": "x"})
    assert wrong.status_code == 403  # as the approval API: the signature was not applied
    assert wrong.json["detail"] == {
        "password": ["The password is not correct; the signature was not applied."]
    }
    assert count(Signature, Signature.meaning == "periodic_review") == 0

    response = api(
        "POST",
        "/documents/QP-07/periodic-review",
        "approver",
        json={"password": PASSWORD, "comment": "Still right."},
    )
    assert response.status_code == 200, response.json
    revision = response.json["revisions"][0]
    assert [s["meaning"] for s in revision["signatures"]][-1] == "periodic_review"
    assert actions_of("document", "QP-07")[-1] == "document.reviewed"


def test_a_document_is_obsoleted_with_a_reason_by_an_approver_once(api, users, client, auth):
    effective(users)
    auth.login("author")
    client.post("/documents/QP-07/obsolete", data={"obsolete-reason": "Replaced."})
    refused = api("POST", "/documents/QP-07/obsolete", json={"reason": "Replaced."})
    assert refused.status_code == 403
    assert refused.json["error"] == "This needs the role: approver."
    assert count(Document, Document.status == "obsolete") == 0

    blank = api("POST", "/documents/QP-07/obsolete", "approver", json={"reason": " "})
    assert blank.status_code == 422
    assert blank.json["detail"] == {"reason": ["Give the reason for making the document obsolete."]}
    response = api("POST", "/documents/QP-07/obsolete", "approver", json={"reason": "Replaced."})
    assert response.status_code == 200, response.json
    assert response.json["status"] == "obsolete"
    again = api("POST", "/documents/QP-07/obsolete", "approver", json={"reason": "Replaced."})
    assert again.status_code == 409
    assert actions_of("document", "QP-07")[-1] == "document.obsoleted"


# -- the audit programme ------------------------------------------------------------------


def test_the_audit_programme_is_kept_by_auditors_and_shows_the_audits_planned(api, users):
    procedure(users)
    audit = plan(users)
    db.session.commit()
    year = audit.year
    shown = api("GET", f"/audit-programme/{year}", "staff").json
    assert shown["exists"] is False and [a["ref"] for a in shown["audits"]] == [audit.ref]
    assert any(row["name"] == "Service Hall" and row["audits"] for row in shown["coverage"])

    body = {"objectives": "Every process once a year.", "scope": "All", "criteria": "ISO 9001"}
    refused = api("PUT", f"/audit-programme/{year}", "staff", json=body)
    assert refused.status_code == 403
    assert refused.json["error"] == "Only auditors and the quality office keep the audit programme."
    response = api("PUT", f"/audit-programme/{year}", "auditor", json=body)
    assert response.status_code == 200 and response.json["exists"] is True

    unit = api(
        "POST",
        f"/audit-programme/{year}/units",
        "auditor",
        json={"kind": "department", "name": "Service Hall", "risk": "high"},
    )
    assert unit.status_code == 201, unit.json
    assert unit.json["frequency"] >= 1
    unknown = api(
        "POST",
        f"/audit-programme/{year}/units",
        "auditor",
        json={"kind": "department", "name": "Nowhere"},
    )
    assert unknown.status_code == 422 and "name" in unknown.json["detail"]
    gone = api("DELETE", f"/audit-programme/{year}/units/{unit.json['id']}", "staff")
    assert gone.status_code == 403
    gone = api("DELETE", f"/audit-programme/{year}/units/{unit.json['id']}", "auditor")
    assert gone.status_code == 204
    assert api("GET", f"/audit-programme/{year}", "staff").json["units"] == []
    assert api("GET", "/audit-programme/1999", "staff").status_code == 404
    assert actions_of("audit_programme", str(year)) == [
        "programme.saved",
        "programme.unit_saved",
        "programme.unit_removed",
    ]


# -- accounts and departments -------------------------------------------------------------


def test_only_an_administrator_lists_and_creates_accounts(api, users, client, auth):
    assert api("GET", "/users", "approver").status_code == 403
    auth.login("approver")
    assert client.get("/admin/users/").status_code == 403
    body = {
        "username": "clerk",
        "password": "window-seven-blue-kettle",
        "roles": ["staff"],
        "department": "Service Hall",
    }
    refused = api("POST", "/users", "approver", json=body)
    assert refused.status_code == 403
    assert count(User, User.username == "clerk") == 0

    response = api("POST", "/users", "admin", json=body | {"full_name": "Clerk"})
    assert response.status_code == 201, response.json
    assert "password" not in response.json and "password_hash" not in response.json
    assert response.json["roles"] == ["staff"] and response.json["active"] is True
    listed = api("GET", "/users?department=Service%20Hall&role=staff", "admin").json
    assert {u["username"] for u in listed["items"]} == {"staff", "clerk"}
    assert api("POST", "/users", "admin", json=body).status_code == 409
    created = trail.events_for("user", "clerk")[0]
    assert created.action == "user.created" and created.user.username == "admin"


def test_an_account_with_a_weak_password_or_unknown_role_is_refused(api, users):
    body = {"username": "clerk", "password": "password", "roles": ["staff"], "department": "Hall"}
    response = api("POST", "/users", "admin", json=body)
    assert response.status_code == 422 and list(response.json["detail"]) == ["password"]
    response = api("POST", "/users", "admin", json=body | {"roles": ["king"]})
    assert response.status_code == 422
    assert count(User, User.username == "clerk") == 0
    assert count(Department, Department.name == "Hall") == 0


def test_an_administrator_sets_roles_department_and_switches_accounts_off(api, users):
    response = api("PUT", "/users/staff/roles", "admin", json={"roles": ["staff", "author"]})
    assert response.status_code == 200 and response.json["roles"] == ["author", "staff"]
    response = api("PUT", "/users/staff/department", "admin", json={"department": "Archive"})
    assert response.status_code == 200 and response.json["department"] == "Archive"
    response = api("PUT", "/users/staff/active", "admin", json={"active": False})
    assert response.status_code == 200 and response.json["active"] is False
    assert api("GET", "/departments", "staff").status_code == 401  # its token stopped working
    assert api("PUT", "/users/staff/roles", "author", json={"roles": ["admin"]}).status_code == 403
    assert api("GET", "/users/nobody", "admin").status_code == 404
    assert api("GET", "/users/nobody", "author").status_code == 403
    last = api("PUT", "/users/admin/active", "admin", json={"active": False})
    assert last.status_code == 422
    assert last.json["error"] == (
        "admin is the last active administrator: appoint another one first."
    )
    assert actions_of("user", "staff")[-3:] == [
        "user.roles_changed",
        "user.department_changed",
        "user.deactivated",
    ]


def test_an_administrator_resets_a_password_and_unlocks_an_account(api, users):
    from qms.auth.services import authenticate

    users["staff"].locked_at = users["staff"].created_at
    db.session.commit()
    assert api("POST", "/users/staff/unlock", "approver").status_code == 403
    response = api("POST", "/users/staff/unlock", "admin")
    assert response.status_code == 200 and response.json["locked"] is False

    new = {"password": "copper-lantern-river-9"}
    assert api("PUT", "/users/staff/password", "approver", json=new).status_code == 403
    weak = api("PUT", "/users/staff/password", "admin", json={"password": "staff"})
    assert weak.status_code == 422 and list(weak.json["detail"]) == ["password"]
    response = api("PUT", "/users/staff/password", "admin", json=new)
    assert response.status_code == 200, response.json
    assert response.json["must_change_password"] is True
    assert "password" not in response.json
    db.session.expire_all()
    assert authenticate("staff", new["password"]) is not None
    assert actions_of("user", "staff")[-2:] == ["user.unlocked", "user.password_reset"]


def test_everyone_lists_departments_and_an_administrator_adds_one(api, users):
    names = {d["name"] for d in api("GET", "/departments", "staff").json["items"]}
    assert "Service Hall" in names
    assert api("POST", "/departments", "approver", json={"name": "Archive"}).status_code == 403
    response = api("POST", "/departments", "admin", json={"name": "Archive"})
    assert response.status_code == 201 and response.json == {"name": "Archive", "users": 0}
    assert api("POST", "/departments", "admin", json={"name": "Archive"}).status_code == 409
    assert api("POST", "/departments", "admin", json={"name": ""}).status_code == 422
    created = trail.events_for("department", "Archive")
    assert [(e.action, e.user.username) for e in created] == [("department.created", "admin")]


# -- the audit trail ----------------------------------------------------------------------


def test_the_trail_is_read_by_auditors_filtered_by_object_actor_and_time(api, users):
    effective(users)
    assert api("GET", "/trail", "staff").status_code == 403
    assert api("GET", "/trail", "author").json["error"] == (
        "Only auditors, the quality office and administrators read the audit trail "
        "beyond the objects whose page you may open."
    )
    everything = api("GET", "/trail?per_page=500", "auditor").json
    assert everything["total"] == count(trail.AuditEvent)
    seqs = [e["seq"] for e in everything["items"]]
    assert seqs == sorted(seqs)

    revision = api("GET", "/trail?object_type=revision&object_key=QP-07/A", "auditor").json
    assert [e["action"] for e in revision["items"]] == actions_of("revision", "QP-07/A")
    by_approver = api("GET", "/trail?actor=approver&action=revision.", "auditor").json
    assert {e["actor"] for e in by_approver["items"]} == {"approver"}
    assert {e["action"] for e in by_approver["items"]} == {
        "revision.signed.approved",
        "revision.effective",
    }
    first = everything["items"][0]
    assert first["hash"] and first["prev_hash"] == trail.GENESIS
    later = (clock.today() + timedelta(days=2)).isoformat()
    assert api("GET", f"/trail?since={later}T00:00:00Z", "auditor").json["total"] == 0
    assert (
        api("GET", f"/trail?until={later}T00:00:00%2B08:00", "auditor").json["total"]
        == (everything["total"])
    )
    paged = api("GET", "/trail?per_page=2&page=2", "approver").json
    assert [e["seq"] for e in paged["items"]] == seqs[2:4]
    unknown = api("GET", "/trail?actor=nobody", "admin")
    assert unknown.status_code == 422 and unknown.json["detail"] == {
        "actor": ["There is no user nobody."]
    }


# -- the OpenAPI document -----------------------------------------------------------------


NEW_OPERATIONS = {
    "/api/v1/reviews": ("get", "post"),
    "/api/v1/reviews/{number}": ("get",),
    "/api/v1/reviews/{number}/notes": ("put",),
    "/api/v1/reviews/{number}/prepare": ("post",),
    "/api/v1/reviews/{number}/hold": ("post",),
    "/api/v1/reviews/{number}/decisions": ("post",),
    "/api/v1/reviews/{number}/decisions/{decision_id}/actions": ("post",),
    "/api/v1/reviews/{number}/approve": ("post",),
    "/api/v1/complaints": ("get", "post"),
    "/api/v1/complaints/{number}": ("get",),
    "/api/v1/complaints/{number}/response": ("post",),
    "/api/v1/complaints/{number}/nc": ("post",),
    "/api/v1/surveys": ("get", "post"),
    "/api/v1/surveys/{ident}": ("get",),
    "/api/v1/change-requests": ("get", "post"),
    "/api/v1/change-requests/{number}": ("get",),
    "/api/v1/change-requests/{number}/decision": ("post",),
    "/api/v1/acknowledgements": ("get", "post"),
    "/api/v1/acknowledgements/{code}": ("get",),
    "/api/v1/documents/{code}/periodic-review": ("post",),
    "/api/v1/documents/{code}/obsolete": ("post",),
    "/api/v1/audit-programme/{year}": ("get", "put"),
    "/api/v1/audit-programme/{year}/units": ("post",),
    "/api/v1/audit-programme/{year}/units/{unit_id}": ("delete",),
    "/api/v1/users": ("get", "post"),
    "/api/v1/users/{username}": ("get",),
    "/api/v1/users/{username}/active": ("put",),
    "/api/v1/users/{username}/roles": ("put",),
    "/api/v1/users/{username}/department": ("put",),
    "/api/v1/users/{username}/password": ("put",),
    "/api/v1/users/{username}/unlock": ("post",),
    "/api/v1/departments": ("get", "post"),
    "/api/v1/trail": ("get",),
}


def test_the_openapi_document_describes_each_new_operation_and_its_refusals(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    error = {"$ref": "#/components/schemas/Error"}
    for path, methods in NEW_OPERATIONS.items():
        assert path in spec["paths"], path
        for method in methods:
            operation = spec["paths"][path][method]
            assert operation["summary"], (method, path)
            assert "default" in operation["responses"], (method, path)
            if method in ("post", "put") and "requestBody" in operation:
                assert "422" in operation["responses"], (method, path)
    refusals = spec["paths"]["/api/v1/change-requests/{number}/decision"]["post"]["responses"]
    assert {"403", "404", "409", "422"} <= set(refusals)
    forbidden = spec["components"]["responses"]["FORBIDDEN"]
    assert forbidden["content"]["application/json"]["schema"] == error
    user = spec["components"]["schemas"]["UserDetail"]["properties"]
    assert not {"password", "password_hash"} & set(user)


def test_one_objects_trail_is_read_by_whoever_may_open_its_page(api, users, client, auth):
    effective(users)
    number = api("POST", "/complaints", "staff", json=complaint_body()).json["number"]
    # Anyone opens a document's page, with its trail, and reads the same events here.
    document = api("GET", "/trail?object_type=document&object_key=QP-07", "staff2")
    assert document.status_code == 200
    assert [e["action"] for e in document.json["items"]] == ["document.created"]
    # A complaint of the Service Hall: its department reads its trail, others do not.
    path = f"/trail?object_type=complaint&object_key={number}"
    assert api("GET", path, "author2").json["total"] == 1
    assert api("GET", path, "staff2").status_code == 403
    auth.login("staff2")
    assert client.get(f"/complaints/{number}").status_code == 404
    # Accounts' events are shown on the administrators' pages only.
    assert api("GET", "/trail?object_type=user&object_key=staff2", "staff2").status_code == 403
    assert api("GET", "/trail?object_type=document", "staff2").status_code == 403
