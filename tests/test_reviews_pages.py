"""Pages of objectives, feedback, reviews, the managers' dashboard and the trail."""

from datetime import datetime, timedelta

import pytest

from qms import clock, trail
from qms.extensions import db
from qms.reviews import feedback, objectives, services
from qms.reviews.models import Complaint, Objective
from tests.conftest import PASSWORD

TODAY = clock.today()


def objective(users, **kw):
    return objectives.create_objective(
        users["approver"], kw.pop("name", "Error rate"), "‰", 2, "lower", "monthly", **kw
    )


@pytest.mark.parametrize("role", ["staff", "author", "auditor", "approver", "admin"])
@pytest.mark.parametrize(
    "path", ["/objectives/", "/complaints/", "/complaints/new", "/surveys/", "/reviews/"]
)
def test_lists_open_for_every_role(client, auth, users, role, path):
    auth.login(role)
    assert client.get(path).status_code == 200


@pytest.mark.parametrize(("role", "status"), [("staff", 403), ("author", 403), ("approver", 200)])
def test_only_the_quality_office_opens_the_objective_and_review_forms(
    client, auth, users, role, status
):
    auth.login(role)
    assert client.get("/objectives/new").status_code == status
    assert client.get("/reviews/new").status_code == status


def test_bad_objective_keeps_what_was_typed(client, auth, users):
    auth.login("approver")
    response = client.post(
        "/objectives/new",
        data={
            "name": "Satisfaction 满意度",
            "unit": "%",
            "target": "lots",
            "direction": "higher",
            "frequency": "monthly",
            "source": "manual",
            "owner": "",
        },
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "must be a number" in page and "Satisfaction 满意度" in page and 'value="lots"' in page
    assert db.session.scalar(db.select(db.func.count(Objective.id))) == 0


def test_measurement_of_the_wrong_frequency_is_shown_beside_the_field(client, auth, users):
    item = objective(users)
    auth.login("approver")
    response = client.post(
        f"/objectives/{item.id}/measurements", data={"period": "2026-Q3", "value": "1.5"}
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "another frequency" in page and 'value="2026-Q3"' in page


def test_measurement_off_target_offers_nc_and_preventive_action(client, auth, users):
    item = objective(users)
    auth.login("approver")
    response = client.post(
        f"/objectives/{item.id}/measurements",
        data={"period": "2026-10", "value": "2.5"},
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert "wrong side of the target" in page
    if "improvement.new" in client.application.view_functions:
        assert "source=process_monitoring" in page


def test_complaint_is_registered_answered_and_raises_an_nc(client, auth, users):
    auth.login("staff")
    response = client.post(
        "/complaints/new",
        data={
            "channel": "window",
            "received_on": TODAY.isoformat(),
            "person": "",
            "content": "<script>alert(1)</script> waited",
            "department": "Service Hall",
        },
    )
    assert response.status_code == 302
    complaint = db.session.scalar(db.select(Complaint))
    assert complaint.response_due == TODAY + timedelta(days=7)
    page = client.get(f"/complaints/{complaint.number}").get_data(as_text=True)
    assert "<script>alert" not in page and "&lt;script&gt;" in page
    response = client.post(
        f"/complaints/{complaint.number}", data={"response": "Sorry.", "satisfied": "yes"}
    )
    assert response.status_code == 302
    db.session.refresh(complaint)
    assert complaint.satisfied is True
    improvement = pytest.importorskip("qms.improvement.services")
    client.post(f"/complaints/{complaint.number}/nc")
    db.session.refresh(complaint)
    nc = improvement.get_nc(complaint.nc_number)
    assert nc.source == "customer_complaint"


def test_other_department_may_not_answer_a_complaint(client, auth, users):
    complaint = feedback.register_complaint(
        users["staff"], "phone", TODAY, "Too slow.", "Service Hall"
    )
    auth.login("author")  # Quality Office, not an approver: does not even see it
    response = client.post(f"/complaints/{complaint.number}", data={"response": "x"})
    assert response.status_code == 404
    assert feedback.get_complaint(complaint.number).response is None


def test_complaint_in_the_future_is_refused_beside_the_field(client, auth, users):
    auth.login("staff")
    response = client.post(
        "/complaints/new",
        data={
            "channel": "window",
            "received_on": (TODAY + timedelta(days=2)).isoformat(),
            "content": "Kept text",
            "department": "Service Hall",
        },
    )
    page = response.get_data(as_text=True)
    assert "cannot be in the future" in page and "Kept text" in page


def test_review_page_walks_prepare_hold_decide_approve(client, auth, users):
    auth.login("approver")
    response = client.post(
        "/reviews/new",
        data={
            "title": "Q4 review",
            "planned_on": TODAY.isoformat(),
            "chair": "approver",
            "attendees": ["author", "auditor"],
        },
    )
    assert response.status_code == 302
    review = services.list_reviews()[0]
    url = f"/reviews/{review.number}"
    client.post(f"{url}/notes", data={"resources": "One more window."})
    client.post(f"{url}/prepare")
    page = client.get(url).get_data(as_text=True)
    assert "Customer satisfaction and feedback" in page and "One more window." in page
    client.post(f"{url}/hold", data={"held_on": TODAY.isoformat(), "discussion": "Queues."})
    response = client.post(
        f"{url}/decisions",
        data={
            "kind": "resources",
            "text": "Hire two clerks.",
            "action_type": "improvement",
            "action_owner": "",
        },
    )
    assert response.status_code == 302
    response = client.post(f"{url}/approve", data={"password": "wrong"})
    assert response.status_code == 422 and "not correct" in response.get_data(as_text=True)
    response = client.post(f"{url}/approve", data={"password": PASSWORD})
    assert response.status_code == 302
    page = client.get(url).get_data(as_text=True)
    assert "Hire two clerks." in page and "minutes approved" in page
    response = client.get(f"{url}/minutes.docx")
    assert response.status_code == 200 and response.data[:2] == b"PK"


def held_review(users):
    review = services.plan_review(users["approver"], "Q4 review", TODAY, "approver", [])
    services.prepare(users["approver"], review)
    return services.hold(users["approver"], review, TODAY, "")


def test_a_refused_action_keeps_the_decision_typed_and_records_nothing(client, auth, users):
    pytest.importorskip("qms.improvement.services")
    review = held_review(users)
    auth.login("approver")
    response = client.post(
        f"/reviews/{review.number}/decisions",
        data={
            "kind": "resources",
            "text": "Hire two clerks.",
            "action_type": "improvement",
            "action_owner": "author2",
            "action_due": (TODAY - timedelta(days=3)).isoformat(),
        },
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Hire two clerks." in page and "No decision recorded yet." in page
    assert services.get_review(review.number).decisions == []
    assert [e.action for e in trail.events_for("review", review.number)] == [
        "review.planned",
        "review.prepared",
        "review.held",
    ]


def test_review_times_are_shown_in_the_organisations_zone(app, client, auth, users):
    app.config["QMS_TIMEZONE"] = "Asia/Shanghai"
    review = held_review(users)
    auth.login("approver")
    page = client.get(f"/reviews/{review.number}").get_data(as_text=True)
    compiled = clock.local(datetime.fromisoformat(review.inputs["compiled_at"]))
    assert compiled.utcoffset() == timedelta(hours=8)
    compiled = compiled.strftime("%Y-%m-%d %H:%M")
    assert f"{compiled} CST" in page and " UTC" not in page


def test_managers_see_the_dashboard_and_staff_do_not(client, auth, users):
    item = objective(users)
    objectives.record_measurement(users["approver"], item, "2026-10", 1.0)
    auth.login("approver")
    page = client.get("/").get_data(as_text=True)
    assert "Objectives against target" in page and "Error rate" in page and "<svg" in page
    assert "Open nonconformities by age" in page and "Audit coverage" in page
    auth.logout()
    auth.login("staff")
    page = client.get("/").get_data(as_text=True)
    assert "Objectives against target" not in page


def test_dashboard_shows_twelve_objectives_those_not_met_first(client, auth, users):
    from qms.reviews.dashboard import DASHBOARD_OBJECTIVES

    for n in range(DASHBOARD_OBJECTIVES + 3):
        item = objectives.create_objective(
            users["approver"], f"Objective {n:02d}", "%", 90, "higher", "monthly"
        )
        objectives.record_measurement(users["approver"], item, "2026-10", 50 if n == 14 else 95)
    db.session.commit()
    auth.login("approver")
    page = client.get("/").get_data(as_text=True)
    start = page.index("Objectives against target")
    dashboard = page[start : page.index("dashboard-overdue", start)]
    assert "Objective 14" in dashboard  # not met: first, though last by name
    assert dashboard.index("Objective 14") < dashboard.index("Objective 00")
    assert "Objective 10" in dashboard and "Objective 11" not in dashboard
    assert "And 3 more." in dashboard


def test_dashboard_overdue_counts_match_the_domains(client, auth, users):
    feedback.register_complaint(
        users["staff"], "phone", TODAY - timedelta(days=10), "Late", "Service Hall"
    )
    from qms.reviews import dashboard

    with client.application.test_request_context():
        overdue = dashboard._overdue()
    assert overdue["complaints"] == 1
    if "improvement.index" in client.application.view_functions:
        assert overdue["actions"] == 0 and overdue["ncs"] == 0


def test_staff_see_complaints_waiting_on_their_department(client, auth, users):
    feedback.register_complaint(users["staff2"], "phone", TODAY, "Lost file", "Service Hall")
    auth.login("staff")
    assert "Complaints to answer" in client.get("/").get_data(as_text=True)


def test_trail_from_an_action_shows_nc_release_check_and_review(client, auth, users):
    improvement = pytest.importorskip("qms.improvement.services")
    builders = pytest.importorskip("tests.builders_improvement")
    nc = builders.in_effectiveness_check(users)
    action = nc.actions[0]
    improvement.action_transition(users["approver2"], action, "verified_effective", result="OK")
    improvement.transition(users["approver2"], nc, "closed", result="Effective.")
    review = services.plan_review(users["approver"], "Review", TODAY, "approver", [])
    services.prepare(users["approver"], review)
    services.hold(users["approver"], review, TODAY, "")
    auth.login("staff")
    for kind, key in (("action", action.number), ("nc", nc.number), ("review", review.number)):
        response = client.get(f"/trail/{kind}/{key}")
        assert response.status_code == 200, kind
    page = client.get(f"/trail/action/{action.number}").get_data(as_text=True)
    for text in (nc.number, action.number, "Effectiveness check", review.number):
        assert text in page
    assert page.index(nc.number) < page.index("Effectiveness check") < page.index(review.number)


def test_trail_from_a_released_revision_follows_its_change_request(client, auth, users):
    improvement = pytest.importorskip("qms.improvement.services")
    builders = pytest.importorskip("tests.builders_improvement")
    from qms.documents import services as documents
    from tests.builders import content, effective

    doc = effective(users, "QP-07")
    nc = builders.in_implementation(users)
    action = nc.actions[0]
    cr = improvement.request_document_change(action.owner, action, ["QP-07"], "Say who withdraws")
    documents.decide_change_request(users["approver"], documents.get_change_request(cr), True)
    documents.open_draft(users["author"], doc)
    documents.save_draft(
        users["author"],
        doc,
        content("QP-07", body="# New\n\nWithdraw."),
        "Withdraw forms",
        change_request=cr,
    )
    documents.submit(users["author"], doc)
    documents.approve(users["approver"], doc, PASSWORD)
    documents.release(users["approver"], doc)
    auth.login("staff")
    page = client.get("/trail/revision/QP-07/B").get_data(as_text=True)
    assert nc.number in page and "QP-07/B" in page and "Redline A → B" in page


@pytest.mark.parametrize(
    "path", ["/trail/nc/NC-1999-0001", "/trail/bogus/x", "/reviews/MR-1999-01", "/objectives/999"]
)
def test_unknown_things_are_404(client, auth, users, path):
    auth.login("staff")
    assert client.get(path).status_code == 404


@pytest.mark.parametrize(("lang", "header"), [("en", "Satisfied (%)"), ("zh_Hans", "满意度（%）")])
def test_surveys_page_lists_the_results(client, auth, users, lang, header):
    from flask_babel import refresh

    feedback.record_survey(users["approver"], "2026-Q1", "Business registration", 40, 92.5)
    refresh()  # the fixture's context is shared with the client: forget the locale it chose
    auth.login("staff")
    client.post(f"/language/{lang}")
    page = client.get("/surveys/").get_data(as_text=True)
    assert header in page and "Business registration" in page and "92.5" in page
