"""Context registers: issues, interested parties, the legal register and its change requests."""

from datetime import date, timedelta

import pytest

from qms.auth.services import create_token
from qms.context import services
from qms.documents import services as documents
from qms.errors import PermissionDenied, ValidationFailed
from qms.extensions import db
from tests.builders import effective

REVIEW = date(2027, 6, 30)


def legal(users, codes=("QP-07", "QP-08")):
    req = services.add_legal_requirement(
        users["approver"],
        "Metrology Law of the PRC",
        "Measuring instruments used for trade settlement must be verified.",
        "approver",
        REVIEW,
        article="Art. 9",
        implementing=list(codes),
    )
    db.session.commit()
    return req


def test_change_to_a_legal_requirement_raises_a_change_request_on_each_document(users):
    effective(users)
    effective(users, "QP-08", title="Calibration")
    req = legal(users)
    raised = services.change_legal_requirement(
        users["approver"],
        req,
        "Amended 2026",
        requirement="Instruments must be verified every 12 months.",
    )
    db.session.commit()
    assert len(raised) == 2
    crs = [documents.get_change_request(n) for n in raised]
    assert sorted(cr.documents[0].code for cr in crs) == ["QP-07", "QP-08"]
    assert all(cr.source_ref == req.number and cr.status == "open" for cr in crs)
    assert "12 months" in crs[0].reason
    assert req.changed_at is not None


def test_review_date_or_status_change_raises_no_change_request(users):
    effective(users)
    req = legal(users, ("QP-07",))
    assert (
        services.change_legal_requirement(
            users["approver"], req, review_date=REVIEW.replace(year=2028)
        )
        == []
    )
    with pytest.raises(ValidationFailed):
        services.change_legal_requirement(
            users["approver"], req, review_date=REVIEW.replace(year=2028)
        )
    assert req.changed_at is None


def test_registers_refuse_bad_input_and_non_office(users):
    effective(users)
    with pytest.raises(PermissionDenied):
        services.add_issue(users["staff"], "internal", "Staff turnover", "approver", REVIEW)
    with pytest.raises(ValidationFailed) as exc:
        services.add_issue(users["approver"], "sideways", "X", "approver", REVIEW)
    assert exc.value.field == "kind"
    with pytest.raises(ValidationFailed) as exc:
        services.add_party(users["approver"], "Citizens", " ", "approver", REVIEW)
    assert exc.value.field == "needs"
    with pytest.raises(ValidationFailed) as exc:
        services.add_legal_requirement(
            users["approver"], "Law", "Req", "approver", REVIEW, implementing=["NOPE-1"]
        )
    assert exc.value.field == "documents"
    db.session.rollback()
    assert services.list_issues() == [] and services.list_legal_requirements() == []


def test_changes_since_a_date_count_what_was_added_and_changed(users):
    from datetime import UTC, datetime

    effective(users)
    req = legal(users, ("QP-07",))
    services.add_issue(users["approver"], "external", "New e-government rules", "approver", REVIEW)
    services.add_party(
        users["approver"], "Citizens", "Certificates right first time", "approver", REVIEW
    )
    services.change_legal_requirement(users["approver"], req, article="Art. 9 (2026)")
    db.session.commit()
    start = datetime.now(UTC) - timedelta(hours=1)
    changes = services.changes_since(start)
    assert [len(changes[k]) for k in ("issues", "parties", "legal_added", "legal_changed")] == [
        1,
        1,
        1,
        1,
    ]
    assert all(
        not v for v in services.changes_since(datetime.now(UTC) + timedelta(hours=1)).values()
    )


def test_api_registers(users, client):
    effective(users)
    office = {"Authorization": f"Bearer {create_token(users['approver'])}"}
    staff = {"Authorization": f"Bearer {create_token(users['staff'])}"}
    db.session.commit()
    made = client.post(
        "/api/v1/context/issues",
        json={
            "kind": "internal",
            "title": "Ageing systems",
            "owner": "approver",
            "review_date": "2027-01-31",
        },
        headers=office,
    )
    assert made.status_code == 201 and made.json["number"] == "CI-0001"
    assert client.get("/api/v1/context/issues?kind=external", headers=staff).json["items"] == []
    assert (
        client.post(
            "/api/v1/interested-parties",
            json={
                "name": "Citizens",
                "needs": "Fast service",
                "owner": "approver",
                "review_date": "2027-01-31",
            },
            headers=staff,
        ).status_code
        == 403
    )
    req = client.post(
        "/api/v1/legal-requirements",
        json={
            "law": "Administrative Licensing Law",
            "article": "Art. 42",
            "requirement": "Decide within 20 days.",
            "owner": "approver",
            "review_date": "2027-01-31",
            "documents": ["QP-07"],
        },
        headers=office,
    )
    assert req.status_code == 201, req.json
    changed = client.patch(
        f"/api/v1/legal-requirements/{req.json['number']}",
        json={"requirement": "Decide within 15 days."},
        headers=office,
    )
    assert changed.status_code == 200 and len(changed.json["change_requests"]) == 1
    listed = client.get("/api/v1/legal-requirements", headers=staff).json["items"]
    assert listed[0]["requirement"] == "Decide within 15 days."


def test_pages_add_and_change_keep_input_on_refusal(users, client, auth):
    effective(users)
    auth.login("approver")
    assert client.get("/context/").status_code == 200
    bad = client.post(
        "/context/legal",
        data={
            "legal-law": "Metrology Law",
            "legal-requirement": "Verify.",
            "legal-documents": "NOPE-9",
            "legal-status": "applicable",
            "legal-owner": "approver",
            "legal-review_date": "2027-01-31",
        },
    )
    assert bad.status_code == 422 and "NOPE-9" in bad.get_data(as_text=True)
    ok = client.post(
        "/context/legal",
        data={
            "legal-law": "Metrology Law",
            "legal-requirement": "Verify.",
            "legal-documents": "QP-07",
            "legal-status": "applicable",
            "legal-owner": "approver",
            "legal-review_date": "2027-01-31",
        },
    )
    assert ok.status_code == 302
    changed = client.post(
        "/context/legal/LR-0001",
        data={
            "law": "Metrology Law",
            "requirement": "Verify yearly.",
            "documents": "QP-07",
            "status": "applicable",
            "owner": "approver",
            "review_date": "2027-01-31",
        },
        follow_redirects=True,
    )
    assert "Change requests raised" in changed.get_data(as_text=True)


def test_registers_are_found_by_search_and_reindexed(users, runner):
    from qms import search

    req = legal(users, codes=())
    issue = services.add_issue(
        users["approver"], "external", "窗口排队时间过长", "approver", REVIEW, "群众反映"
    )
    party = services.add_party(
        users["approver"], "Citizens", "Fast, correct answers", "approver", REVIEW
    )
    db.session.commit()
    hits = lambda q: [(h.type, h.key) for h in search.search(q, types=["context"]).items]  # noqa: E731
    assert hits("排队") == [("context", issue.number)]
    assert hits("correct answers") == [("context", party.number)]
    assert hits("trade settlement") == [("context", req.number)]
    services.change_legal_requirement(
        users["approver"], req, requirement="Instruments for fees must be verified yearly."
    )
    db.session.commit()
    assert hits("trade settlement") == []
    assert hits("verified yearly") == [("context", req.number)]
    result = runner.invoke(args=["qms", "reindex", "--type", "context"])
    assert "context: 3 indexed" in result.output, result.output


def test_registers_export_and_the_scope_documents(users, client, auth):
    import io

    from openpyxl import load_workbook

    manual = (
        "---\ncode: QM-01\ntitle: Quality manual\ntype: manual\nclauses: ['4.3', '4.4', '5.2']\n"
        "---\n\n# Quality manual\n\n## Scope\n\nAll windows of the Centre.\n"
    )
    effective(users, "QM-01", text=manual, title="Quality manual", doc_type="manual")
    effective(users)
    effective(users, "QP-08", title="Records")
    req = legal(users)
    auth.login("staff")
    page = client.get("/context/").get_data(as_text=True)
    assert "QM-01" in page and "4.3, 4.4" in page
    response = client.get("/context/legal.xlsx")
    assert response.status_code == 200
    rows = list(load_workbook(io.BytesIO(response.data)).active.iter_rows(values_only=True))
    assert rows[1][0] == req.number and rows[1][4] == "QP-07, QP-08"
    assert client.get("/context/issues.xlsx").status_code == 200
    assert client.get("/context/parties.xlsx").status_code == 200
    assert client.get("/context/nothing.xlsx").status_code == 404
