"""Notices of the document workflow: who is told, once each, in the app and by mail."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from qms import clock, jobs
from qms.documents import services
from qms.errors import ValidationFailed
from qms.extensions import db
from qms.notifications import services as notifications
from qms.notifications.models import Notice
from tests import builders
from tests.conftest import PASSWORD
from tests.test_improvement_mail import smtp  # noqa: F401 (a fixture)


@pytest.fixture
def immediate(app):
    app.config["QMS_JOBS_IMMEDIATE"] = True
    # A queue built before (a fixture's submission queued its notices) is not immediate.
    app.extensions.pop("qms.jobs", None)
    return jobs.queue(app).huey


def told(kind: str) -> list[str]:
    rows = db.session.scalars(select(Notice).where(Notice.kind == kind).order_by(Notice.user_id))
    return sorted(n.user.username for n in rows)


def submitted(users, code="QP-07", **kw):
    return builders.in_review(users, code, department="Quality Office", **kw)


def test_a_submission_tells_who_may_approve_it_and_not_its_author(users):
    submitted(users, author="approver2")
    assert told("review_requested") == ["approver"]
    [notice] = db.session.scalars(select(Notice))
    assert notifications.title(notice) == "QP-07 revision A waits for your review or approval"


def test_each_submission_is_told_once_and_a_resubmission_again(users):
    doc = submitted(users)
    assert told("review_requested") == ["approver", "approver2"]
    services.reject(users["approver"], doc, "Say who keeps the records.")
    services.save_draft(users["author"], doc, builders.content("QP-07", body="# New\n"), "Fix")
    services.submit(users["author"], doc)
    assert told("review_requested") == ["approver", "approver", "approver2", "approver2"]
    keys = db.session.scalars(select(Notice.key).where(Notice.user_id == users["approver"].id))
    assert len(set(keys)) == 2


def test_a_refused_submission_tells_nobody(users):
    doc = builders.new_document(users, department="Quality Office")
    services.save_draft(users["author"], doc, builders.content("QP-07"), "")
    with pytest.raises(ValidationFailed):
        services.submit(users["author"], doc)
    db.session.rollback()
    assert db.session.scalar(select(func.count(Notice.id))) == 0


def test_a_release_tells_its_readers_once(users):
    builders.effective(users, department="Quality Office", distribution=["Service Hall"])
    # The owner department and the distribution; not the auditor or admin elsewhere.
    assert told("read_required") == [
        "approver",
        "approver2",
        "author",
        "author2",
        "staff",
        "staff2",
    ]
    doc = services.get_document("QP-07")
    notifications.on_revision("effective", doc.revisions[-1])  # seen again: nobody twice
    db.session.commit()
    assert len(told("read_required")) == 6


def test_a_submission_is_mailed_once_to_each_signer_in_their_language(
    users,
    smtp,  # noqa: F811
    immediate,
):
    users["approver2"].locale = "zh_Hans"
    db.session.commit()
    submitted(users)
    subjects = sorted(smtp.subjects())
    assert subjects[0] == "QP-07 revision A waits for your review or approval"
    assert "QP-07" in subjects[1] and "审" in subjects[1]
    [english] = [m for m in smtp.messages() if m["To"].startswith("Approver <")]
    assert "https://qms.example.org/documents/QP-07" in english.get_content()
    # The job run again (a retry, another worker) sends nothing twice.
    ids = list(db.session.scalars(select(Notice.id)))
    assert notifications.send_mail(ids) == []
    assert len(smtp.messages()) == 2


def test_a_notice_the_mail_server_refuses_is_tried_again(users, app, smtp):  # noqa: F811
    submitted(users)
    ids = list(db.session.scalars(select(Notice.id)))
    port = app.config["QMS_SMTP_PORT"]
    app.config["QMS_SMTP_PORT"] = "1"  # nothing listens there
    with pytest.raises(notifications.MailRefused):
        notifications.send_mail(ids)
    assert (
        db.session.scalar(select(func.count(Notice.id)).where(Notice.mailed_at.is_not(None))) == 0
    )
    app.config["QMS_SMTP_PORT"] = port
    assert sorted(notifications.send_mail(ids)) == sorted(ids)
    assert len(smtp.messages()) == 2


def test_the_review_notice_job_puts_coming_reviews_on_the_owners_home_page(users, immediate):
    doc = builders.effective(users, department="Quality Office")
    doc.next_review_due = clock.today() + timedelta(days=10)
    db.session.commit()
    jobs.run_now("review_notices")
    jobs.run_now("review_notices")
    assert told("review_due") == ["approver", "approver2"]


def test_the_home_page_lists_unread_notices_and_marks_only_ones_own_read(users, client, auth):
    submitted(users)
    auth.login("approver")
    page = client.get("/").get_data(as_text=True)
    assert "QP-07 revision A waits for your review or approval" in page
    other = db.session.scalar(select(Notice.id).where(Notice.user_id == users["approver2"].id))
    mine = db.session.scalar(select(Notice.id).where(Notice.user_id == users["approver"].id))
    response = client.post("/notices/read", data={"notice": [str(mine), str(other)]})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Notice, mine).read_at is not None
    assert db.session.get(Notice, other).read_at is None
    assert "waits for your review" not in client.get("/").get_data(as_text=True)
    listing = client.get("/notices/").get_data(as_text=True)
    assert "QP-07 revision A waits for your review or approval" in listing


def test_requests_to_sign_are_settled_by_the_release_or_the_rejection(users):
    def unread_requests() -> int:
        return db.session.scalar(
            select(func.count(Notice.id)).where(
                Notice.kind == "review_requested", Notice.read_at.is_(None)
            )
        )

    doc = submitted(users)
    assert unread_requests() == 2
    services.reject(users["approver"], doc, "Say who keeps the records.")
    assert unread_requests() == 0
    services.submit(users["author"], doc)
    assert unread_requests() == 2
    services.approve(users["approver"], doc, PASSWORD)
    services.release(users["approver"], doc)
    assert unread_requests() == 0
