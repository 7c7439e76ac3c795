"""Training: positions, the matrix tied to revisions, qualifications, coverage, reminders."""

import io
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook

from qms import clock, trail
from qms.auth.services import create_token
from qms.documents import services as documents
from qms.errors import PermissionDenied, ValidationFailed
from qms.extensions import db
from qms.training import matrix, services
from tests.builders import approved, content, effective


def dept(users, name):
    return next(u.department for u in users.values() if u.department.name == name)


def hall_position(users, docs=("QP-07",), competences=()):
    """A Service Hall window clerk needing ``docs``; staff and author2 hold it."""
    office = users["approver"]
    position = services.create_position(
        office, dept(users, "Service Hall"), "Window clerk", list(docs), list(competences)
    )
    since = clock.today() - timedelta(days=10)
    services.assign_position(office, position, users["staff"], since)
    services.assign_position(office, position, users["author2"], since)
    db.session.commit()
    return position


def train(users, person, days_ago=1, **kw):
    kw.setdefault("document_code", "QP-07")
    record = services.record_training(
        users["approver"],
        users[person],
        clock.today() - timedelta(days=days_ago),
        "Li Trainer",
        "classroom",
        kw.pop("result", "passed"),
        **kw,
    )
    db.session.commit()
    return record


def state(person, key="QP-07", today=None):
    [item] = [i for i in matrix.items_for([person], today) if i.key == key]
    return item


def new_revision(users, code="QP-07", needs_training=True, due_days=14, evaluate=False):
    """Release a revision B of ``code``, marked by the approver as needing training or not."""
    doc = documents.get_document(code)
    approved(users, code, text=content(code, body="# Changed\n\nNew steps.\n"))
    rev = documents.open_revision(doc) or doc.revisions[-1]
    services.mark_revision(users["approver"], rev, needs_training, due_days, evaluate=evaluate)
    documents.release(users["approver"], doc)
    db.session.commit()
    return rev


def test_required_document_is_due_then_done_with_a_passed_record(users):
    effective(users)
    hall_position(users)
    item = state(users["staff"])
    assert (item.state, item.revision) == ("due", "A")
    assert item.due_date == clock.today() - timedelta(days=10) + timedelta(days=30)
    assert state(users["staff"], today=clock.today() + timedelta(days=21)).state == "overdue"
    train(users, "staff", result="failed")
    assert state(users["staff"]).state == "due"
    train(users, "staff")
    assert state(users["staff"]).state == "done"


def test_release_needing_training_makes_it_due_for_exactly_the_people_concerned(users):
    effective(users)
    hall_position(users)
    train(users, "staff")
    train(users, "author2")
    rev = new_revision(users, needs_training=True, due_days=14)
    assert rev.status == "effective"
    for name in ("staff", "author2"):
        item = state(users[name])
        assert (item.state, item.revision) == ("due", "B")
        assert item.due_date == rev.effective_date + timedelta(days=14)
    # Nobody else holds a position needing QP-07: staff2 has nothing in the matrix.
    assert matrix.items_for([users["staff2"]]) == []
    [event] = [e for e in trail.events_for("revision", "QP-07/B") if e.action == "training.due"]
    assert event.after["people"] == ["author2", "staff"]


def test_training_on_the_old_revision_no_longer_counts(users):
    effective(users)
    hall_position(users)
    train(users, "staff")
    new_revision(users, needs_training=True)
    assert state(users["staff"]).state == "due"
    with pytest.raises(ValidationFailed):
        # Naming the old revision explicitly still records it, but it does not count.
        services.record_training(
            users["approver"],
            users["staff"],
            None,
            "T",
            "classroom",
            "passed",
            document_code="QP-07",
            revision_label="A",
        )
    train(users, "staff", revision_label="A")
    assert state(users["staff"]).state == "due"
    train(users, "staff")
    item = state(users["staff"])
    assert (item.state, item.revision) == ("done", "B")


def test_release_for_acknowledgement_alone_keeps_earlier_training(users):
    effective(users)
    hall_position(users)
    train(users, "staff")
    new_revision(users, needs_training=False)
    assert state(users["staff"]).state == "done"


def test_only_an_approver_marks_a_revision_and_only_before_release(users):
    doc = effective(users)
    rev = documents.effective_revision(doc)
    with pytest.raises(ValidationFailed, match="released"):
        services.mark_revision(users["approver"], rev, True)
    approved(users, "QP-07", text=content("QP-07", body="# Other\n"))
    draft = doc.revisions[-1]
    with pytest.raises(PermissionDenied):
        services.mark_revision(users["author"], draft, True)
    with pytest.raises(ValidationFailed):
        services.mark_revision(users["approver"], draft, True, due_days=0)


def test_expiring_qualification_comes_due_and_then_overdue(users):
    effective(users)
    services.create_competence(users["approver"], "Metrology certificate", validity_months=24)
    hall_position(users, docs=(), competences=("Metrology certificate",))
    trained = clock.today() - timedelta(days=700)
    services.record_training(
        users["approver"],
        users["staff"],
        trained,
        "Bureau",
        "external_course",
        "passed",
        competence_name="Metrology certificate",
    )
    db.session.commit()
    item = state(users["staff"], "Metrology certificate")
    assert item.valid_until == documents.add_months(trained, 24)
    assert item.state == "due"  # within a month of expiry
    assert item.due_date == item.valid_until
    assert (
        state(users["staff"], "Metrology certificate", today=clock.today() - timedelta(60)).state
        == "done"
    )
    later = item.valid_until + timedelta(days=1)
    assert state(users["staff"], "Metrology certificate", today=later).state == "overdue"


def test_coverage_per_department_and_overall(users):
    effective(users)
    effective(users, "QP-08", title="Records")
    hall_position(users, docs=("QP-07", "QP-08"))
    office = services.create_position(
        users["approver"], dept(users, "Quality Office"), "Clerk", ["QP-07"]
    )
    services.assign_position(users["approver"], office, users["staff2"])
    db.session.commit()
    train(users, "staff")
    train(users, "staff", document_code="QP-08")
    train(users, "author2")
    figures = matrix.coverage_by_department()
    hall, quality, overall = figures["Service Hall"], figures["Quality Office"], figures["*"]
    assert (hall.required, hall.done, hall.percent) == (4, 3, 75.0)
    assert (quality.required, quality.done, quality.percent) == (1, 0, 0.0)
    assert (overall.required, overall.done, overall.percent) == (5, 3, 60.0)


def test_record_refuses_bad_input_and_non_office(users):
    effective(users)
    with pytest.raises(PermissionDenied):
        services.record_training(
            users["staff"],
            users["staff"],
            date(2026, 1, 5),
            "T",
            "classroom",
            "passed",
            document_code="QP-07",
        )
    with pytest.raises(ValidationFailed, match="trainer"):
        services.record_training(
            users["approver"],
            users["staff"],
            date(2026, 1, 5),
            " ",
            "classroom",
            "passed",
            document_code="QP-07",
        )
    with pytest.raises(ValidationFailed):
        services.record_training(
            users["approver"],
            users["staff"],
            date(2026, 1, 5),
            "T",
            "classroom",
            "passed",
        )
    with pytest.raises(ValidationFailed, match="future"):
        services.record_training(
            users["approver"],
            users["staff"],
            clock.today() + timedelta(days=1),
            "T",
            "classroom",
            "passed",
            document_code="QP-07",
        )
    db.session.rollback()
    assert services.list_records() == []


def test_evidence_file_goes_to_the_attachment_store(users):
    from qms import attachments

    effective(users)
    record = train(
        users, "staff", evidence=io.BytesIO(b"%PDF-1.4 sign-in sheet"), evidence_name="sheet.pdf"
    )
    assert record.evidence_name == "sheet.pdf"
    assert attachments.exists(record.evidence_sha256)


def test_reminders_are_sent_once_each(users, monkeypatch):
    from qms.improvement import mail

    effective(users)
    hall_position(users)
    delivered = []
    monkeypatch.setattr(
        mail, "deliver", lambda message, smtp=None: delivered.append(message) or True
    )
    later = clock.today() + timedelta(days=25)
    first = matrix.send_reminders(later)
    assert sorted(line.split(" -> ")[1] for line in first) == ["author2", "staff"]
    assert matrix.send_reminders(later) == []
    assert len(delivered) == 2
    assert "QP-07" in delivered[0].subject


def test_staff_see_own_training_on_home_page(users, client, auth):
    effective(users)
    hall_position(users)
    auth.login("staff")
    page = client.get("/").get_data(as_text=True)
    assert "My training" in page and "QP-07" in page
    auth.logout()
    auth.login("staff2")
    assert "My training" not in client.get("/").get_data(as_text=True)


def test_matrix_pages_and_xlsx_export(users, client, auth):
    effective(users)
    hall_position(users)
    train(users, "staff")
    auth.login("approver")
    assert client.get("/training/").status_code == 200
    response = client.get("/training/matrix.xlsx")
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 3
    states = sorted(row[5] for row in rows[1:])
    assert states == ["done", "due"]
    assert client.get("/training/records").status_code == 200
    auth.logout()
    auth.login("staff")
    sheet = load_workbook(io.BytesIO(client.get("/training/matrix.xlsx").data)).active
    assert [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)] == ["Staff"]


def test_api_matrix_filters_and_records(users, client):
    effective(users)
    hall_position(users)
    office = {"Authorization": f"Bearer {create_token(users['approver'])}"}
    staff = {"Authorization": f"Bearer {create_token(users['staff'])}"}
    db.session.commit()
    response = client.post(
        "/api/v1/training/records",
        json={
            "person": "staff",
            "trained_on": (clock.today() - timedelta(days=2)).isoformat(),
            "trainer": "Li",
            "method": "on_the_job",
            "result": "passed",
            "document": "QP-07",
        },
        headers=office,
    )
    assert response.status_code == 201, response.json
    assert response.json["revision"] == "A"
    body = client.get("/api/v1/training/matrix?department=Service Hall", headers=office).json
    assert body["coverage"] == {"required": 2, "done": 1, "due": 1, "overdue": 0, "percent": 50.0}
    mine = client.get("/api/v1/training/matrix?person=staff", headers=staff).json
    assert [i["state"] for i in mine["items"]] == ["done"]
    assert client.get("/api/v1/training/matrix?person=author2", headers=staff).status_code == 403
    refused = client.post(
        "/api/v1/training/records",
        json={
            "person": "staff",
            "trained_on": "2026-01-01",
            "trainer": "Li",
            "method": "classroom",
            "result": "passed",
            "document": "QP-07",
        },
        headers=staff,
    )
    assert refused.status_code == 403
    listed = client.get("/api/v1/training/records", headers=office).json["items"]
    assert [r["username"] for r in listed] == ["staff"]
