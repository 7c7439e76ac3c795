"""Approval routes per document type, signed step by step, and delegations."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from qms import clock
from qms.auth.services import create_user
from qms.documents import services
from qms.documents.services import StepSpec
from qms.errors import Conflict, PermissionDenied, ValidationFailed
from qms.extensions import db
from qms.notifications.models import Notice
from qms.trail import AuditEvent
from tests import builders
from tests.conftest import PASSWORD

PREPARED_REVIEWED_APPROVED = [
    StepSpec("reviewed", role="approver"),
    StepSpec("approved", role="top_management"),
]


@pytest.fixture
def director(users):
    user = create_user(
        "director", PASSWORD, ["top_management"], "Directorate", full_name="Director"
    )
    db.session.commit()
    return user


@pytest.fixture
def manual_route(users, director):
    services.set_route(users["admin"], "manual", PREPARED_REVIEWED_APPROVED)
    return services.route_for("manual")


MANUAL = builders.content("QM-01", "Quality manual", doc_type="manual")


def manual_in_review(users, author="author"):
    return builders.in_review(
        users, "QM-01", MANUAL, author, doc_type="manual", department="Quality Office"
    )


def test_a_route_is_signed_step_by_step_in_order(users, director, manual_route):
    doc = manual_in_review(users)
    # Top management cannot approve before the review step is signed.
    with pytest.raises(Conflict, match="next step of the route is step 1"):
        services.approve(director, doc, PASSWORD)
    # An approver may not skip to the approval either: it is top management's step.
    services.sign_review(users["approver"], doc, PASSWORD, "Checked against ISO 9001.")
    with pytest.raises(PermissionDenied, match="Step 2 of the route is signed by Top management"):
        services.approve(users["approver2"], doc, PASSWORD)
    rev = services.approve(director, doc, PASSWORD)
    assert rev.status == "approved"
    assert [(s.step, s.meaning, s.user.username) for s in rev.signatures] == [
        (1, "reviewed", "approver"),
        (2, "approved", "director"),
    ]
    services.release(users["approver"], doc)
    assert doc.status == "effective"


def test_a_type_without_a_route_keeps_the_default(users, manual_route):
    doc = builders.in_review(users)  # a procedure
    rev = services.approve(users["approver"], doc, PASSWORD)
    assert rev.status == "approved" and rev.signatures[0].step is None


def test_the_author_signs_no_step_of_their_own_revision(users, director, manual_route):
    doc = manual_in_review(users, author="approver2")
    with pytest.raises(PermissionDenied, match="author"):
        services.sign_review(users["approver2"], doc, PASSWORD)


def test_a_step_can_name_a_person(users, director):
    services.set_route(
        users["admin"],
        "manual",
        [StepSpec("reviewed", user="approver2"), StepSpec("approved", role="top_management")],
    )
    doc = manual_in_review(users)
    with pytest.raises(PermissionDenied, match="Step 1 of the route is signed by Approver2"):
        services.sign_review(users["approver"], doc, PASSWORD)
    services.sign_review(users["approver2"], doc, PASSWORD)
    assert services.approve(director, doc, PASSWORD).status == "approved"


def test_a_delegate_signs_and_the_signature_names_the_delegation(users, director, manual_route):
    today = clock.today()
    delegation = services.delegate(
        director, director, users["approver2"], today, today + timedelta(days=7), "On leave"
    )
    doc = manual_in_review(users)
    services.sign_review(users["approver"], doc, PASSWORD)
    rev = services.approve(users["approver2"], doc, PASSWORD, "For the director.")
    sig = rev.signatures[-1]
    assert sig.user.username == "approver2" and sig.on_behalf_of.username == "director"
    assert sig.delegation_id == delegation.id
    event = db.session.scalar(
        select(AuditEvent)
        .where(AuditEvent.action == "revision.signed.approved")
        .order_by(AuditEvent.id.desc())
    )
    assert event.after["on_behalf_of"] == "director" and event.after["delegation"] == delegation.id


def test_an_ended_or_revoked_delegation_signs_nothing(users, director, manual_route):
    today = clock.today()
    row = services.delegate(
        director, director, users["approver2"], today, today + timedelta(days=1), "Away"
    )
    services.revoke(director, row)
    doc = manual_in_review(users)
    services.sign_review(users["approver"], doc, PASSWORD)
    with pytest.raises(PermissionDenied):
        services.approve(users["approver2"], doc, PASSWORD)


def test_delegations_are_checked(users, director):
    today = clock.today()
    with pytest.raises(PermissionDenied):  # someone else's signatures
        services.delegate(users["staff"], director, users["staff"], today, today, "x")
    with pytest.raises(ValidationFailed, match="ends before"):
        services.delegate(director, director, users["approver"], today, today - timedelta(1), "x")
    with pytest.raises(ValidationFailed, match="another active person"):
        services.delegate(director, director, director, today, today, "x")
    with pytest.raises(ValidationFailed, match="why"):
        services.delegate(director, director, users["approver"], today, today, " ")


@pytest.mark.parametrize(
    "steps, message",
    [
        ([StepSpec("approved", role="approver", user="approver")], "not both"),
        ([StepSpec("reviewed", role="approver")], "last step"),
        ([StepSpec("signed", role="approver")], "what the signature means"),
        ([StepSpec("approved", role="boss")], "no role boss"),
    ],
)
def test_a_route_is_refused_when_it_cannot_be_signed(users, steps, message):
    with pytest.raises(ValidationFailed, match=message):
        services.set_route(users["admin"], "manual", steps)
    db.session.rollback()
    assert services.route_for("manual") is None


def test_only_an_administrator_sets_routes(users):
    with pytest.raises(PermissionDenied):
        services.set_route(users["approver"], "manual", PREPARED_REVIEWED_APPROVED)


def test_the_next_signers_are_told_step_by_step(users, director, manual_route):
    doc = manual_in_review(users)
    told = lambda: sorted(  # noqa: E731
        n.user.username for n in db.session.scalars(select(Notice).order_by(Notice.id))
    )
    assert told() == ["approver", "approver2"]
    services.sign_review(users["approver"], doc, PASSWORD)
    assert told() == ["approver", "approver2", "director"]


def test_the_route_is_set_and_signed_through_the_pages(users, director, client, auth):
    auth.login("admin")
    form = {"manual-1-meaning": "reviewed", "manual-1-role": "approver"}
    form |= {"manual-2-meaning": "approved", "manual-2-user": "director"}
    assert client.post("/documents/routes/manual", data=form).status_code == 302
    bad = {"manual-1-meaning": "reviewed", "manual-1-role": "approver"}
    response = client.post("/documents/routes/manual", data=bad)
    assert response.status_code == 422 and "The last step of a route is the approval" in (
        response.get_data(as_text=True)
    )
    assert [s.user_id for s in services.route_for("manual").steps] == [None, director.id]
    auth.logout()
    manual_in_review(users)
    auth.login("approver")
    page = client.get("/documents/QM-01").get_data(as_text=True)
    assert "Approval route" in page and "waiting" in page
    response = client.post(
        "/documents/QM-01/sign-review", data={"review-password": PASSWORD}, follow_redirects=True
    )
    assert "Signed as reviewed." in response.get_data(as_text=True)
    auth.logout()
    auth.login("director")
    client.post("/documents/QM-01/approve", data={"sign-password": PASSWORD})
    assert services.get_document("QM-01").revisions[-1].status == "approved"


def test_delegations_through_the_pages(users, director, client, auth):
    auth.login("director")
    today = clock.today()
    data = {
        "delegator": "director",
        "delegate": "approver2",
        "starts_on": today.isoformat(),
        "ends_on": (today - timedelta(days=1)).isoformat(),
        "reason": "Leave",
    }
    response = client.post("/documents/delegations", data=data)
    assert response.status_code == 422 and "Leave" in response.get_data(as_text=True)
    data["ends_on"] = (today + timedelta(days=3)).isoformat()
    assert client.post("/documents/delegations", data=data).status_code == 302
    page = client.get("/documents/delegations").get_data(as_text=True)
    assert "Approver2" in page and "active" in page


def test_the_api_follows_the_route_with_the_pages_messages(users, director, manual_route, client):
    from qms.auth.services import create_token

    token = create_token(users["approver"])
    db.session.commit()
    manual_in_review(users)
    response = client.post(
        "/api/v1/documents/QM-01/draft/approve",
        json={"password": PASSWORD},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 409
    assert "next step of the route is step 1" in response.json["error"]
