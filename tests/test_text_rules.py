"""Words, numbers and limits on the pages: clauses in the standard's order, labels in the
reader's language, counts in plural forms, free text refused (never cut) beyond its limit."""

import re
from datetime import timedelta

import pytest
from flask_babel import refresh

from qms import clock
from qms.auth.services import create_token
from qms.clauses import clause_key, in_order
from qms.documents import services as documents
from qms.errors import ValidationFailed
from qms.extensions import db
from qms.improvement import services as improvement
from qms.reviews import feedback, objectives
from qms.reviews import services as reviews
from qms.text import LONG_TEXT
from tests.builders import new_document
from tests.builders_improvement import SOON, raised


def _in(client, auth, username, lang):
    refresh()  # the fixture's context is shared with the client: forget the locale it chose
    auth.login(username)
    client.post(f"/language/{lang}")


def test_clauses_sort_as_the_standard_numbers_them(users, client, auth):
    assert in_order(["10.1", "4.1", "8.5.1", "8.5", "9.1.2", "9.1.10"]) == [
        "4.1",
        "8.5",
        "8.5.1",
        "9.1.2",
        "9.1.10",
        "10.1",
    ]
    assert clause_key("10") > clause_key("9.3.3")
    doc = new_document(users, "QP-07", clauses="10.2, 4.1, 8.5.1, 7.5")
    db.session.expire_all()
    assert documents.get_document(doc.code).clauses == ["4.1", "7.5", "8.5.1", "10.2"]
    auth.login("staff")
    page = client.get("/documents/QP-07").get_data(as_text=True)
    assert page.index("4.1") < page.index("8.5.1") < page.index("10.2")


def test_an_audit_lists_its_clauses_in_order(users):
    from tests.builders_audits import plan

    audit = plan(users, clauses=["10.2", "8.5.1", "4.1"])
    db.session.expire_all()
    assert audit.clauses == ["4.1", "8.5.1", "10.2"]


def _long_form(**change):
    data = {
        "title": "Queue ticket printer jammed",
        "description": "x" * (LONG_TEXT + 1),
        "source": "customer_complaint",
        "severity": "minor",
        "department": "Service Hall",
        "clause": "8.5.1",
        "responsible": "author",
        "due_date": SOON.isoformat(),
        "records": "",
        "submit": "Raise nonconformity",
    }
    data.update(change)
    return data


def test_a_too_long_nc_description_is_refused_on_the_page_keeping_what_was_typed(
    users, client, auth
):
    auth.login("staff")
    response = client.post("/improvement/new", data=_long_form())
    assert response.status_code == 200
    assert f"At most {LONG_TEXT} characters, please; this has {LONG_TEXT + 1}." in response.text
    assert "x" * (LONG_TEXT + 1) in response.text
    assert db.session.scalars(improvement.list_ncs()).all() == []
    # In Chinese too.
    _in(client, auth, "staff", "zh_Hans")
    response = client.post("/improvement/new", data=_long_form())
    assert f"最多 {LONG_TEXT} 个字符" in response.text


def test_a_too_long_nc_description_is_refused_by_the_api_with_the_field(users, client):
    token = create_token(users["staff"])
    db.session.commit()
    body = {
        "title": "Fee charged twice",
        "description": "y" * (LONG_TEXT + 1),
        "source": "customer_complaint",
        "department": "Service Hall",
        "responsible": "author",
        "due_date": SOON.isoformat(),
    }
    response = client.post(
        "/api/v1/nonconformities", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 422
    assert "At most" in response.json["error"] and "description" in response.json["detail"]
    body["description"] = "y" * LONG_TEXT
    response = client.post(
        "/api/v1/nonconformities", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 201, response.json


def test_nc_step_texts_have_the_limit_too(users):
    nc = raised(users)
    with pytest.raises(ValidationFailed) as refused:
        improvement.transition(users["author"], nc, "containment", containment="z" * 20_000)
    assert refused.value.field == "containment"


def test_audit_evidence_beyond_the_limit_is_refused_not_cut(users):
    from qms.audits import services as audits
    from qms.audits.common import MAX_TEXT
    from tests.builders_audits import started

    audit = started(users)
    question = audit.questions[0]
    with pytest.raises(ValidationFailed) as refused:
        audits.record_finding(
            audit.lead_auditor, audit, "conforming", "e" * (MAX_TEXT + 1), question=question
        )
    assert refused.value.field == "evidence"
    assert question.evidence in (None, "")


def test_complaint_texts_beyond_the_limit_are_refused(users):
    today = clock.today()
    with pytest.raises(ValidationFailed) as refused:
        feedback.register_complaint(
            users["staff"], "window", today, "c" * (LONG_TEXT + 1), "Service Hall"
        )
    assert refused.value.field == "content"
    with pytest.raises(ValidationFailed) as refused:
        feedback.register_complaint(
            users["staff"], "window", today, "Waited long.", "Service Hall", person="p" * 201
        )
    assert refused.value.field == "person"


def test_the_chinese_review_page_names_every_status_in_chinese(users, client, auth):
    nc = raised(users)
    improvement.transition(users["author"], nc, "containment")
    review = reviews.plan_review(
        users["admin"],
        title="Annual review",
        planned_on=clock.today(),
        chair="approver",
        attendees=["author"],
        period_start=clock.today() - timedelta(days=30),
        period_end=clock.today(),
    )
    reviews.prepare(users["approver"], review)
    _in(client, auth, "approver", "zh_Hans")
    page = client.get(f"/reviews/{review.number}").get_data(as_text=True)
    badges = re.findall(r'<span class="badge[^"]*">([^<]*)</span>', page)
    assert "遏制措施" in badges
    assert [b for b in badges if re.search("[A-Za-z]", b)] == []


def test_the_home_page_names_the_role_in_the_readers_language(users, client, auth):
    _in(client, auth, "approver", "zh_Hans")
    page = client.get("/").get_data(as_text=True)
    assert "批准人" in page and "· approver" not in page


def test_a_measurement_names_where_it_came_from_in_the_readers_language(users, client, auth):
    objective = objectives.create_objective(
        users["approver"], "On time", "%", 95, "higher", "monthly"
    )
    period = clock.today().strftime("%Y-%m")
    objectives.record_measurement(users["approver"], objective, period, 97)
    _in(client, auth, "approver", "zh_Hans")
    page = client.get(f"/objectives/{objective.id}").get_data(as_text=True)
    assert "（在页面上录入）" in page and "(browser)" not in page and "browser" not in page


def test_the_records_cited_placeholder_is_a_real_record_number(users, client, auth):
    from tests.builders_audits import started

    audit = started(users)
    auth.login("auditor")
    page = client.get(f"/audits/{audit.ref}/checklist/{audit.questions[0].seq}").text
    year = clock.today().year
    assert f'placeholder="RF-07-01-01/{year}/000001"' in page and "REC-" not in page
