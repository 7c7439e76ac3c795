"""Audit pages and the audit API."""

import re
from datetime import timedelta

import pytest

from qms.audits import services
from qms.auth.services import create_token
from qms.extensions import db
from qms.improvement import services as improvement
from tests.builders_audits import START, answer_all, plan, procedure, started
from tests.conftest import PASSWORD


@pytest.fixture
def api(client, users):
    tokens = {name: create_token(user) for name, user in users.items()}
    db.session.commit()

    def call(method, path, username="auditor", **kwargs):
        headers = {"Authorization": f"Bearer {tokens[username]}"}
        return client.open(f"/api/v1{path}", method=method, headers=headers, **kwargs)

    return call


PLAN = {
    "title": "Acceptance at the windows",
    "type": "internal",
    "departments": ["Service Hall"],
    "clauses": ["8.5.1", "7.5"],
    "lead_auditor": "auditor",
    "team": [],
    "planned_start": START.isoformat(),
    "planned_end": (START + timedelta(days=1)).isoformat(),
}


# -- API --------------------------------------------------------------------------------


def test_api_plans_an_audit_and_returns_its_ref(api):
    response = api("POST", "/audits", json=PLAN)

    assert response.status_code == 201, response.json
    body = response.json
    assert body["ref"] == f"IA-{START.year}-01"
    assert body["state"] == "planned"
    assert body["departments"] == ["Service Hall"]
    assert {q["source"] for q in body["questions"]} == {"checklist"}
    assert api("GET", f"/audits/{body['ref']}").json["title"] == PLAN["title"]


def test_api_refuses_a_dependent_auditor_with_422_and_the_reason(api):
    response = api("POST", "/audits", json=dict(PLAN, departments=["Business Approval Department"]))

    assert response.status_code == 422
    assert "belong to that department" in response.json["error"]
    assert "lead_auditor" in response.json["detail"]


def test_api_finding_returns_the_nc_number(api, users):
    ref = api("POST", "/audits", json=PLAN).json["ref"]
    assert api("POST", f"/audits/{ref}/transition", json={"to": "in_progress"}).status_code == 200

    response = api(
        "POST",
        f"/audits/{ref}/findings",
        json={
            "result": "minor_nc",
            "clause": "8.5.1",
            "question": 1,
            "evidence": "Acceptance notice not given.",
        },
    )

    assert response.status_code == 201, response.json
    number = response.json["number"]
    assert number.startswith("NC-")
    assert response.json["question"] == 1
    assert improvement.get_nc(number).source == "internal_audit"
    conforming = api(
        "POST",
        f"/audits/{ref}/findings",
        json={"result": "conforming", "clause": "7.5", "evidence": "ok"},
    )
    assert conforming.status_code == 201 and conforming.json["number"] is None


def test_api_transition_out_of_order_is_409(api):
    ref = api("POST", "/audits", json=PLAN).json["ref"]

    response = api("POST", f"/audits/{ref}/transition", json={"to": "closed"})

    assert response.status_code == 409
    assert "cannot move" in response.json["error"]


def test_api_reports_with_the_password_and_serves_the_pdf(api, users):
    ref = api("POST", "/audits", json=PLAN).json["ref"]
    api("POST", f"/audits/{ref}/transition", json={"to": "in_progress"})
    answer_all(services.get_audit(ref))

    wrong = api("POST", f"/audits/{ref}/transition", json={"to": "reported", "password": "x"})
    right = api(
        "POST",
        f"/audits/{ref}/transition",
        json={"to": "reported", "password": PASSWORD, "lang": "zh_Hans"},
    )

    assert wrong.status_code == 403
    assert right.status_code == 200 and right.json["state"] == "reported"
    pdf = api("GET", f"/audits/{ref}/report?format=pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert pdf.headers["X-Content-SHA256"] == right.json["report_sha256"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"result": "bogus"}, "result"),
        ({"result": "minor_nc", "evidence": "x", "clause": "12"}, "clause"),
    ],
)
def test_api_bad_finding_is_422_naming_the_field(api, payload, field):
    ref = api("POST", "/audits", json=PLAN).json["ref"]
    api("POST", f"/audits/{ref}/transition", json={"to": "in_progress"})

    response = api("POST", f"/audits/{ref}/findings", json=payload)

    assert response.status_code == 422
    assert field in response.json["detail"]


def test_api_unknown_audit_is_404(api):
    assert api("GET", "/audits/IA-1999-99").status_code == 404


# -- pages ------------------------------------------------------------------------------


@pytest.mark.parametrize("username", ["staff", "auditor", "approver"])
def test_audit_pages_open_for_every_role(client, auth, users, username):
    audit = started(users)
    auth.login(username)

    for url in (
        "/audits/",
        f"/audits/{audit.ref}",
        f"/audits/{audit.ref}/checklist/1",
        f"/audits/{audit.ref}/report",
        f"/audits/programme/{START.year}",
        "/",
    ):
        assert client.get(url).status_code == 200, url


def test_planning_page_refuses_dependence_beside_the_field_and_keeps_input(client, auth, users):
    auth.login("auditor")

    response = client.post(
        "/audits/new",
        data={
            "title": "My own department",
            "audit_type": "internal",
            "departments": ["Business Approval Department"],
            "clauses": "8.5.1",
            "lead_auditor": "auditor",
            "planned_start": START.isoformat(),
            "planned_end": START.isoformat(),
        },
    )

    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "belong to that department" in page
    assert 'value="My own department"' in page


def test_planning_page_creates_the_audit(client, auth, users):
    procedure(users)
    auth.login("auditor")

    response = client.post(
        "/audits/new",
        data={
            "title": "Hall",
            "audit_type": "internal",
            "departments": ["Service Hall"],
            "clauses": "8.5.1, 7.5",
            "lead_auditor": "auditor",
            "planned_start": START.isoformat(),
            "planned_end": START.isoformat(),
        },
    )

    assert response.status_code == 302
    audit = services.get_audit(f"IA-{START.year}-01")
    assert [r.document.code for r in audit.document_rows] == ["QP-07"]


def test_checklist_card_records_an_nc_and_moves_on(client, auth, users):
    audit = started(users, clauses=["8.5"])
    auth.login("auditor")

    response = client.post(
        f"/audits/{audit.ref}/checklist/1",
        data={
            "result": "major_nc",
            "evidence": "No notice given.",
            "department": "Service Hall",
            "responsible": "author",
            "submit": "1",
        },
    )

    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/audits/{audit.ref}/checklist/2")
    question = services.get_question(audit, 1)
    assert question.nc_number and improvement.get_nc(question.nc_number).severity == "major"
    page = client.get(f"/audits/{audit.ref}/checklist/1").get_data(as_text=True)
    assert question.nc_number in page


def test_checklist_card_keeps_typed_evidence_on_error(client, auth, users):
    audit = started(users)
    auth.login("auditor")

    response = client.post(
        f"/audits/{audit.ref}/checklist/1",
        data={"result": "minor_nc", "evidence": "", "records": "typed-by-me"},
    )

    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Write down the evidence" in page
    assert "typed-by-me" in page


JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"


def test_checklist_card_takes_a_photo(client, auth, users):
    from io import BytesIO

    audit = started(users)
    auth.login("auditor")

    client.post(
        f"/audits/{audit.ref}/checklist/1",
        data={
            "result": "conforming",
            "evidence": "Board up to date.",
            "stay": "1",
            "attachment": (BytesIO(JPEG + b"board"), "board.jpg", "image/jpeg"),
        },
        content_type="multipart/form-data",
    )

    question = services.get_question(audit, 1)
    assert [a.filename for a in question.attachments] == ["board.jpg"]
    response = client.get(f"/audits/{audit.ref}/attachments/{question.attachments[0].id}")
    assert response.data == JPEG + b"board" and response.mimetype == "image/jpeg"
    response.close()


def test_programme_page_shows_the_matrix_with_gaps(client, auth, users):
    auth.login("approver")
    client.post(
        f"/audits/programme/{START.year}",
        data={
            "unit-kind": "department",
            "unit-name": "Service Hall",
            "unit-risk": "high",
            "unit-clauses": "8.5",
            "unit-submit": "1",
        },
    )
    plan(users, clauses=["8.5.1"])
    page = client.get(f"/audits/programme/{START.year}").get_data(as_text=True)

    assert 'class="table coverage"' in page
    assert 'class="cell covered"' in page
    assert 'class="cell gap"' in page
    unit = services.get_programme(START.year).units[0]
    assert (unit.name, unit.risk, unit.frequency) == ("Service Hall", "high", 4)


def test_programme_page_refuses_unknown_department_beside_the_field(client, auth, users):
    auth.login("approver")

    response = client.post(
        f"/audits/programme/{START.year}",
        data={
            "unit-kind": "department",
            "unit-name": "Nowhere",
            "unit-risk": "low",
            "unit-submit": "1",
        },
    )

    assert response.status_code == 422
    assert "There is no department Nowhere" in response.get_data(as_text=True)


def test_report_page_signs_with_the_password(client, auth, users):
    audit = answer_all(started(users))
    auth.login("auditor")

    wrong = client.post(
        f"/audits/{audit.ref}/report",
        data={"sign-password": "nope", "sign-lang": "en", "sign-submit": "1"},
    )
    right = client.post(
        f"/audits/{audit.ref}/report",
        data={"sign-password": PASSWORD, "sign-lang": "en", "sign-submit": "1"},
    )

    assert wrong.status_code == 403
    assert "password is not correct" in wrong.get_data(as_text=True)
    assert right.status_code == 302
    assert services.get_audit(audit.ref).state == "reported"
    docx = client.get(f"/audits/{audit.ref}/report.docx")
    assert docx.status_code == 200 and docx.data[:2] == b"PK"


def test_start_button_moves_the_audit(client, auth, users):
    audit = plan(users)
    auth.login("auditor")

    client.post(f"/audits/{audit.ref}/transition", data={"move-to": "in_progress"})

    assert services.get_audit(audit.ref).state == "in_progress"


def test_home_page_shows_my_audits(client, auth, users):
    audit = plan(users)
    auth.login("auditor")

    page = client.get("/").get_data(as_text=True)

    assert "My audits" in page and audit.ref in page


@pytest.mark.parametrize(
    "url",
    [
        "/audits/?year=abc",
        "/audits/IA-1999-01",
        "/audits/programme/1999",
        "/audits/IA-1999-01/checklist/x",
        "/audits/IA-1999-01/report.exe",
    ],
)
def test_bad_addresses_are_not_server_errors(client, auth, users, url):
    auth.login("auditor")

    assert client.get(url).status_code in (200, 404)


# -- a finding and its photo are one step -----------------------------------------------


def _count(model) -> int:
    from sqlalchemy import func, select

    return db.session.scalar(select(func.count()).select_from(model))


def _post_finding_with_photo(client, audit, photo: bytes):
    from io import BytesIO

    return client.post(
        f"/audits/{audit.ref}/checklist/1",
        data={
            "result": "minor_nc",
            "evidence": "Typed at window 3: no acceptance notice.",
            "department": "Service Hall",
            "responsible": "author",
            "submit": "1",
            "attachment": (BytesIO(photo), "board.jpg", "image/jpeg"),
        },
        content_type="multipart/form-data",
    )


@pytest.mark.parametrize(
    ("photo", "message"),
    [
        (JPEG + b"\x00" * 5000, "larger than"),
        (b"<!doctype html><script>alert(1)</script>", "is not a kind of file"),
    ],
    ids=["too-large", "html-named-jpg"],
)
def test_refused_photo_leaves_neither_finding_nor_nc_and_keeps_the_card(
    app, client, auth, users, photo, message
):
    from qms import attachments
    from qms.audits.models import AuditAttachment
    from qms.improvement.models import Nonconformity
    from qms.trail import AuditEvent

    app.config["QMS_MAX_ATTACHMENT_BYTES"] = 4096
    audit = started(users)
    auth.login("auditor")
    events = _count(AuditEvent)

    response = _post_finding_with_photo(client, audit, photo)

    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Typed at window 3: no acceptance notice." in page
    assert 'id="attachment-error-1"' in page and message in page
    db.session.rollback()
    question = services.get_question(audit, 1)
    assert question.result is None and question.evidence == "" and question.nc_number is None
    assert _count(Nonconformity) == 0
    assert _count(AuditAttachment) == 0
    assert _count(AuditEvent) == events
    assert attachments.stored() == set()
    assert not list((attachments.root().parent / "audit-attachments").rglob("*"))


def test_refused_photo_is_explained_in_the_users_language(app, client, auth, users):
    from flask_babel import refresh

    app.config["QMS_MAX_ATTACHMENT_BYTES"] = 4096
    users["auditor"].locale = "zh_Hans"
    db.session.commit()
    audit = started(users)
    refresh()  # the fixture's context is shared with the client: forget the locale it chose
    auth.login("auditor")

    response = _post_finding_with_photo(client, audit, JPEG + b"\x00" * 5000)

    assert response.status_code == 422
    assert "文件超过" in response.get_data(as_text=True)


def test_accepted_photo_is_kept_with_the_finding_and_its_nc(client, auth, users):
    from qms import attachments

    audit = started(users)
    auth.login("auditor")

    response = _post_finding_with_photo(client, audit, JPEG + b"board")

    assert response.status_code == 302
    db.session.rollback()
    question = services.get_question(audit, 1)
    assert question.nc_number
    [photo] = question.attachments
    assert photo.content_type == "image/jpeg"
    assert attachments.path(photo.sha256).read_bytes() == JPEG + b"board"
    assert attachments.referenced() == {photo.sha256}


# -- meeting times and who may do what --------------------------------------------------


def test_meeting_times_are_typed_and_shown_in_the_offices_zone(app, client, auth, users):
    from datetime import UTC, datetime

    app.config["QMS_TIMEZONE"] = "Asia/Shanghai"
    auth.login("auditor")

    response = client.post(
        "/audits/new",
        data={
            "title": "Hall",
            "audit_type": "internal",
            "departments": ["Service Hall"],
            "clauses": "8.5.1",
            "lead_auditor": "auditor",
            "planned_start": START.isoformat(),
            "planned_end": START.isoformat(),
            "opening_meeting": f"{START.isoformat()}T09:00",
        },
    )

    assert response.status_code == 302
    audit = services.get_audit(f"IA-{START.year}-01")
    opening = audit.opening_meeting.replace(tzinfo=audit.opening_meeting.tzinfo or UTC)
    assert opening == datetime(START.year, START.month, START.day, 1, 0, tzinfo=UTC)
    assert f"{START.isoformat()} 09:00 CST" in client.get(f"/audits/{audit.ref}").get_data(
        as_text=True
    )
    edit = client.get(f"/audits/{audit.ref}/edit").get_data(as_text=True)
    assert f'value="{START.isoformat()}T09:00"' in edit


@pytest.mark.parametrize("username", ["staff", "auditor", "approver", "admin", "author"])
def test_pages_offer_exactly_what_the_rules_allow(client, auth, users, username):
    from qms.errors import PermissionDenied

    audit = plan(users)
    user = users[username]
    auth.login(username)

    page = client.get(f"/audits/{audit.ref}").get_data(as_text=True)
    listing = client.get("/audits/").get_data(as_text=True)

    assert ("Edit plan" in page) == services.can_plan(user, audit)
    assert ("Start the audit" in page) == services.can_start(user, audit)
    assert ("Plan an audit" in listing) == services.can_plan(user)
    if not services.can_plan(user, audit):
        with pytest.raises(PermissionDenied):
            services.update_plan(user, audit, services.PlanData(title="x"))


def test_plan_form_previews_the_checklist_count_before_saving(client, auth, users):
    from sqlalchemy import func, select

    from qms.audits.models import Audit

    procedure(users)
    auth.login("auditor")
    form = {
        "title": "Hall",
        "audit_type": "internal",
        "departments": ["Service Hall"],
        "clauses": "8.5.1",
        "lead_auditor": "auditor",
        "planned_start": START.isoformat(),
        "planned_end": START.isoformat(),
    }

    response = client.post("/audits/new", data=form | {"preview": "Preview checklist"})

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    shown = int(re.search(r"The plan will generate (\d+) questions", page).group(1))
    assert "Check the applicant&#39;s identity." in page
    assert 'value="Hall"' in page  # the form keeps what was typed
    assert db.session.scalar(select(func.count()).select_from(Audit)) == 0

    response = client.post("/audits/new", data=form)

    assert response.status_code == 302
    audit = services.get_audit(f"IA-{START.year}-01")
    assert len(audit.questions) == shown


def test_plan_form_preview_without_a_clause_says_so(client, auth, users):
    auth.login("auditor")

    response = client.post(
        "/audits/new",
        data={"title": "Hall", "departments": ["Service Hall"], "preview": "Preview checklist"},
    )

    assert response.status_code == 422
    assert "Name at least one clause to audit." in response.get_data(as_text=True)
