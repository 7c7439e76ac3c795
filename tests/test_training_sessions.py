"""Training sessions with several attendees, and effectiveness evaluation (ISO 9001 §7.2 c)."""

import io
from datetime import timedelta

import pytest

from qms import clock, trail
from qms.auth.services import create_token
from qms.errors import PermissionDenied, ValidationFailed
from qms.extensions import db
from qms.trail import AuditEvent
from qms.training import services
from qms.training.models import TrainingRecord
from tests.builders import effective
from tests.test_training import hall_position, new_revision, state


def session(users, attendees=("staff", "author2"), failed=(), **subject):
    subject.setdefault("document_code", "QP-07")
    made = services.record_session(
        users["approver"],
        [users[u] for u in attendees],
        clock.today() - timedelta(days=3),
        "Li Trainer",
        "classroom",
        failed=[users[u] for u in failed],
        evidence=b"%PDF-1.4 attendance sheet",
        evidence_name="sheet.pdf",
        **subject,
    )
    db.session.commit()
    return made


def test_a_session_records_every_attendee_under_one_number(users):
    effective(users)
    hall_position(users)
    made = session(users, failed=("author2",))
    year = clock.today().year
    assert [r.user.username for r in made] == ["staff", "author2"]
    assert {r.session_number for r in made} == {f"TS-{year}-0001"}
    assert [r.result for r in made] == ["passed", "failed"]
    assert {r.evidence_sha256 for r in made} == {made[0].evidence_sha256}
    assert services.list_session(f"TS-{year}-0001") == made
    assert state(users["staff"]).state == "done"
    assert state(users["author2"]).state == "due"
    # One person alone is a training record, not a session.
    [single] = session(users, attendees=("staff",))
    assert single.session_number is None


def test_a_session_is_recorded_all_or_none(users):
    effective(users)
    before = db.session.query(AuditEvent).count()
    with pytest.raises(ValidationFailed):
        # The second attendee's record is refused (no such document): neither is kept.
        services.record_session(
            users["approver"],
            [users["staff"], users["author2"]],
            clock.today(),
            "Li",
            "classroom",
            document_code="QP-99",
        )
    db.session.rollback()
    assert db.session.query(TrainingRecord).count() == 0
    assert db.session.query(AuditEvent).count() == before
    with pytest.raises(ValidationFailed, match="attendee"):
        services.record_session(
            users["approver"],
            [users["staff"]],
            clock.today(),
            "Li",
            "classroom",
            failed=[users["author2"]],
            document_code="QP-07",
        )
    db.session.rollback()
    with pytest.raises(ValidationFailed, match="attended"):
        services.record_session(
            users["approver"], [], clock.today(), "Li", "classroom", document_code="QP-07"
        )
    db.session.rollback()
    with pytest.raises(PermissionDenied):
        services.record_session(
            users["staff"],
            [users["staff"]],
            clock.today(),
            "Li",
            "classroom",
            document_code="QP-07",
        )
    db.session.rollback()
    assert db.session.query(TrainingRecord).count() == 0


def test_effectiveness_is_evaluated_only_where_the_revision_asks_for_it(users):
    effective(users)
    hall_position(users)
    [plain] = session(users, attendees=("staff",))
    assert not services.needs_evaluation(plain)
    with pytest.raises(ValidationFailed, match="not a training whose effectiveness"):
        services.evaluate(users["approver"], plain, True, "Observed at the window")
    db.session.rollback()

    new_revision(users, evaluate=True)
    made = session(users, failed=("author2",))
    assert services.awaiting_evaluation(made) == {made[0].number}  # the failed one is not
    item = state(users["staff"])
    assert (item.state, item.revision, item.to_evaluate) == ("done", "B", True)


def test_mark_before_release_asks_for_evaluation_and_a_failed_evaluation_falls_due(users):
    from qms.documents import services as documents
    from tests.builders import approved, content

    effective(users)
    hall_position(users)
    doc = documents.get_document("QP-07")
    approved(users, "QP-07", text=content("QP-07", body="# Changed\n\nNew steps.\n"))
    rev = documents.open_revision(doc) or doc.revisions[-1]
    services.mark_revision(users["approver"], rev, True, 14, evaluate=True)
    documents.release(users["approver"], doc)
    db.session.commit()
    [record] = session(users, attendees=("staff",))
    assert services.needs_evaluation(record)

    with pytest.raises(ValidationFailed, match="how the effectiveness"):
        services.evaluate(users["approver"], record, True, "  ")
    db.session.rollback()
    with pytest.raises(ValidationFailed, match="between the training and today"):
        services.evaluate(
            users["approver"], record, True, "Watched", clock.today() + timedelta(days=1)
        )
    db.session.rollback()
    with pytest.raises(PermissionDenied):
        services.evaluate(users["staff"], record, True, "Watched")
    db.session.rollback()
    assert record.effective is None

    services.evaluate(users["approver"], record, False, "Made the same error twice at the window")
    db.session.commit()
    event = trail.events_for("training", record.number)[-1]
    assert event.action == "training.evaluated" and event.after["effective"] is False
    # A training that did not work no longer counts: the revision is due again.
    assert state(users["staff"]).state in ("due", "overdue")
    with pytest.raises(ValidationFailed, match="was evaluated on"):
        services.evaluate(users["approver"], record, True, "Changed my mind")
    db.session.rollback()


def test_competence_asking_for_evaluation(users):
    office = users["approver"]
    services.create_competence(office, "Complaint handling", evaluate_effectiveness=True)
    db.session.commit()
    [record] = services.record_session(
        office,
        [users["staff"]],
        clock.today() - timedelta(days=1),
        "Li",
        "classroom",
        competence_name="Complaint handling",
    )
    db.session.commit()
    assert services.needs_evaluation(record)
    services.evaluate(office, record, True, "Handled three complaints alone")
    db.session.commit()
    assert record.effective is True and record.evaluated_by_id == office.id
    assert services.awaiting_evaluation([record]) == set()


def test_session_and_evaluation_pages(users, client, auth):
    effective(users)
    hall_position(users)
    new_revision(users, evaluate=True)
    auth.login("approver")
    day = (clock.today() - timedelta(days=2)).isoformat()
    response = client.post(
        "/training/records",
        data={
            "user": ["staff", "author2"],
            "failed": ["author2"],
            "document": "QP-07",
            "trained_on": day,
            "trainer": "Li Trainer",
            "method": "classroom",
            "evidence": (io.BytesIO(b"%PDF-1.4 sheet"), "sheet.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    records = services.list_records()
    assert len(records) == 2 and records[0].session_number
    page = client.get("/training/records").get_data(as_text=True)
    assert records[0].session_number in page and "to evaluate" in page
    assert "to evaluate" in client.get("/training/").get_data(as_text=True)

    passed = next(r for r in records if r.result == "passed")
    refused = client.post(
        f"/training/records/{passed.number}/evaluation", data={"effective": "yes"}
    )
    assert refused.status_code == 400
    assert "This field is required" in refused.get_data(as_text=True)
    assert passed.effective is None
    done = client.post(
        f"/training/records/{passed.number}/evaluation",
        data={"effective": "yes", "evaluation": "Observed at the window"},
    )
    assert done.status_code == 302
    db.session.expire_all()
    assert services.get_record(passed.number).effective is True

    # A form without attendees keeps what was typed and stores nothing.
    kept = client.post(
        "/training/records",
        data={"document": "QP-07", "trained_on": day, "trainer": "Kept Trainer", "method": "x"},
    )
    assert kept.status_code == 200 and "Kept Trainer" in kept.get_data(as_text=True)
    assert len(services.list_records()) == 2

    auth.logout()
    auth.login("staff")
    assert (
        client.post(
            f"/training/records/{passed.number}/evaluation",
            data={"effective": "yes", "evaluation": "x"},
        ).status_code
        == 403
    )


def test_session_and_evaluation_api(users, client):
    effective(users)
    hall_position(users)
    new_revision(users, evaluate=True)
    office = {"Authorization": f"Bearer {create_token(users['approver'])}"}
    staff = {"Authorization": f"Bearer {create_token(users['staff'])}"}
    db.session.commit()
    body = {
        "attendees": ["staff", "author2"],
        "trained_on": (clock.today() - timedelta(days=1)).isoformat(),
        "trainer": "Li",
        "method": "classroom",
        "document": "QP-07",
    }
    assert client.post("/api/v1/training/sessions", json=body, headers=staff).status_code == 403
    bad = client.post(
        "/api/v1/training/sessions", json={**body, "failed": ["staff2"]}, headers=office
    )
    assert bad.status_code in (400, 422) and "attendee" in bad.get_data(as_text=True)
    made = client.post("/api/v1/training/sessions", json=body, headers=office)
    assert made.status_code == 201, made.json
    items = made.json["items"]
    assert len({i["session_number"] for i in items}) == 1 and items[0]["session_number"]
    number = items[0]["number"]
    matrix = client.get("/api/v1/training/matrix?person=staff", headers=office).json
    assert [i["to_evaluate"] for i in matrix["items"]] == [True]
    url = f"/api/v1/training/records/{number}/evaluation"
    assert client.post(url, json={"effective": True}, headers=office).status_code == 422
    done = client.post(url, json={"effective": True, "evaluation": "Watched"}, headers=office)
    assert done.status_code == 200 and done.json["effective"] is True
    again = client.post(url, json={"effective": False, "evaluation": "x"}, headers=office)
    assert again.status_code in (400, 409, 422)
