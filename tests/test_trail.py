"""The audit trail: every change leaves a hash-chained event."""

from sqlalchemy import select, text

from qms import trail
from qms.extensions import db
from tests.builders import effective


def actions(object_type, key):
    return [e.action for e in trail.events_for(object_type, key)]


def test_workflow_leaves_events_on_the_objects(users):
    effective(users)
    assert actions("document", "QP-07") == ["document.created"]
    assert actions("revision", "QP-07/A") == [
        "revision.opened",
        "revision.saved",
        "revision.submitted",
        "revision.signed.approved",
        "revision.effective",
    ]
    event = trail.events_for("revision", "QP-07/A")[3]
    assert event.user.username == "approver"


def test_chain_is_intact_and_detects_edits_and_deletions(users):
    effective(users)
    assert trail.verify() == []
    db.session.execute(text("UPDATE audit_event SET after = NULL WHERE seq = 3"))
    db.session.commit()
    assert any("event 3 was altered" in p for p in trail.verify())


def test_deleting_the_newest_event_is_detected(users):
    effective(users)
    last = db.session.scalar(select(trail.AuditEvent).order_by(trail.AuditEvent.seq.desc()))
    db.session.delete(last)
    db.session.commit()
    assert "the newest events were removed" in trail.verify()
