"""NC and action pages: every role sees them, forms keep what was typed, lists filter and export."""

import io
from datetime import date, timedelta

import pytest

from qms.improvement import services
from tests.builders import effective
from tests.builders_improvement import (
    SOON,
    action_for,
    analysed,
    in_action_plan,
    in_containment,
    in_effectiveness_check,
    raised,
)


@pytest.fixture
def ncs(users):
    """An NC in several states and a standalone action; returns the numbers and ids."""
    effective(users, "QP-07")
    first = raised(users, documents=["QP-07"])
    checked = in_effectiveness_check(users)
    standalone = services.create_action(
        users["staff"], "improvement", "Queue display", "author", SOON, origin="suggestion"
    )
    return {
        "nc": first.number,
        "checked": checked.number,
        "action": checked.actions[0].id,
        "standalone": standalone.id,
    }


def pages(n):
    return [
        "/improvement/",
        "/improvement/?state=reported&severity=minor&source=staff_report&clause=8.5&overdue=1",
        "/improvement/mine",
        "/improvement/actions/",
        "/improvement/actions/?mine=1&overdue=1&standalone=1&state=planned",
        "/improvement/new",
        "/improvement/new?source=customer_complaint&record=R-2026-0001",
        f"/improvement/{n['nc']}",
        f"/improvement/{n['checked']}",
        f"/improvement/actions/{n['action']}",
        f"/improvement/actions/{n['standalone']}",
        "/improvement/actions/new",
        f"/improvement/actions/new?nc={n['nc']}",
    ]


def test_login_required(client):
    for path in ["/improvement/", "/improvement/new", "/improvement/mine", "/improvement/actions/"]:
        response = client.get(path)
        assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_every_page_renders_for_every_role(ncs, client, auth):
    for username in ["staff", "author", "author2", "auditor", "approver", "admin"]:
        auth.login(username)
        for path in pages(ncs):
            response = client.get(path)
            assert response.status_code == 200, (username, path)
        assert client.get("/").status_code == 200
        auth.logout()


def test_new_prefills_source_and_record_from_the_query(users, client, auth):
    auth.login("staff")
    html = client.get("/improvement/new?source=internal_audit&record=R-2026-0042").text
    assert 'selected value="internal_audit"' in html
    assert 'value="R-2026-0042"' in html
    # An unknown source falls back to a staff report rather than failing.
    html = client.get("/improvement/new?source=bogus").text
    assert 'selected value="staff_report"' in html


def _form(**change):
    data = {
        "title": "Queue ticket printer jammed",
        "description": "Customers waited without tickets for 40 minutes.",
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


def test_raising_from_the_page_opens_the_new_nc(users, client, auth):
    auth.login("staff")
    response = client.post("/improvement/new", data=_form())
    assert response.status_code == 302
    number = f"NC-{date.today().year}-0001"
    assert response.headers["Location"].endswith(f"/improvement/{number}")
    html = client.get(response.headers["Location"]).text
    assert "Queue ticket printer jammed" in html and "Author" in html


@pytest.mark.parametrize(
    "change, message",
    [
        ({"clause": "12.4"}, "is not an ISO 9001:2015 clause"),
        ({"due_date": (date.today() - timedelta(days=3)).isoformat()}, "cannot be in the past"),
        ({"department": "Nowhere"}, "There is no department"),
    ],
)
def test_bad_input_is_shown_beside_the_field_and_keeps_what_was_typed(
    users, client, auth, change, message
):
    auth.login("staff")
    response = client.post("/improvement/new", data=_form(**change))
    assert response.status_code == 200
    assert message in response.text
    assert "Customers waited without tickets for 40 minutes." in response.text
    assert services.list_ncs is not None
    from qms.extensions import db

    assert db.session.scalars(services.list_ncs()).all() == []


def test_similar_ones_are_shown_while_raising(users, client, auth):
    earlier = raised(users, clause="8.5.1", title="Earlier printer failure")
    auth.login("staff")
    response = client.post("/improvement/new", data=_form(similar="Look", submit=None))
    assert response.status_code == 200
    assert earlier.number in response.text and "Earlier printer failure" in response.text
    assert "Customers waited without tickets" in response.text  # nothing lost
    response = client.post("/improvement/new", data=_form(), follow_redirects=True)
    assert "1 similar earlier nonconformity" in response.text


def test_detail_shows_recurrence(users, client, auth):
    earlier = raised(users, clause="8.5.1")
    later = raised(users, clause="8.5.1")
    auth.login("staff")
    html = client.get(f"/improvement/{later.number}").text
    assert "Recurrence" in html and earlier.number in html


def test_steps_from_the_page_for_the_right_person(users, client, auth):
    nc = raised(users)
    auth.login("author")
    html = client.get(f"/improvement/{nc.number}").text
    assert "t-containment-to" in html
    response = client.post(
        f"/improvement/{nc.number}/transition",
        data={"t-containment-to": "containment", "t-containment-containment": "Removed"},
    )
    assert response.status_code == 302
    assert services.get_nc(nc.number).state == "containment"


def test_a_refused_step_says_why_on_the_page(users, client, auth):
    nc = raised(users)
    auth.login("staff")
    assert "t-containment-to" not in client.get(f"/improvement/{nc.number}").text
    response = client.post(
        f"/improvement/{nc.number}/transition", data={"t-containment-to": "containment"}
    )
    assert response.status_code == 403
    assert "Only the person responsible" in response.text
    assert services.get_nc(nc.number).state == "reported"


def test_a_missing_field_keeps_the_step_form_and_what_was_typed(users, client, auth):
    nc = in_containment(users)
    auth.login("author")
    response = client.post(
        f"/improvement/{nc.number}/transition",
        data={"t-analysis-to": "analysis", "t-analysis-containment": "  "},
    )
    assert response.status_code == 422
    assert "Record what was done at once" in response.text


def test_analysis_form_keeps_what_was_typed_on_error(users, client, auth):
    from tests.builders_improvement import in_analysis

    nc = in_analysis(users)
    auth.login("author")
    response = client.post(
        f"/improvement/{nc.number}/analysis",
        data={
            "analysis-why1": "Nobody checked the drawer",
            "analysis-cause_category": "",
            "analysis-root_cause": "No owner for old stock",
        },
    )
    assert response.status_code == 422
    assert (
        "Nobody checked the drawer" in response.text and "No owner for old stock" in response.text
    )
    response = client.post(
        f"/improvement/{nc.number}/analysis",
        data={
            "analysis-why1": "Nobody checked the drawer",
            "analysis-cause_category": "method",
            "analysis-root_cause": "No owner for old stock",
        },
    )
    assert response.status_code == 302
    assert services.get_nc(nc.number).whys == ["Nobody checked the drawer"]


def test_evidence_links_and_files(users, client, auth):
    nc = raised(users)
    auth.login("staff")
    response = client.post(
        f"/improvement/{nc.number}/evidence",
        data={"evidence-url": "javascript:alert(1)"},
    )
    assert response.status_code == 422 and "Only http:// and https://" in response.text
    client.post(
        f"/improvement/{nc.number}/evidence",
        data={"evidence-url": "https://example.org/photo", "evidence-note": "Photo"},
    )
    response = client.post(
        f"/improvement/{nc.number}/evidence",
        data={"evidence-file": (io.BytesIO(b"queue log 12:00-12:40"), "queue.log")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    nc = services.get_nc(nc.number)
    kinds = [e.kind for e in nc.evidence]
    assert kinds == ["link", "attachment"]
    html = client.get(f"/improvement/{nc.number}").text
    assert "Photo" in html and "queue.log" in html
    with client.get(f"/improvement/{nc.number}/evidence/{nc.evidence[1].id}") as download:
        assert download.status_code == 200 and download.data == b"queue log 12:00-12:40"
    assert client.get(f"/improvement/{nc.number}/evidence/{nc.evidence[0].id}").status_code == 404


def test_records_are_linked_as_evidence(users, client, auth):
    from qms.records import services as records
    from tests.builders_records import form_in_force, submit

    form_in_force(users, "RF-01")
    record = submit(users, "RF-01")
    nc = raised(users, records=[record.number])
    assert [e.record_number for e in nc.evidence] == [record.number]
    assert [r.number for r in records.links_to("nonconformity", nc.number)] == [record.number]
    from qms.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as exc:
        raised(users, records=["R-1999-9999"])
    assert exc.value.field == "records"
    auth.login("staff")
    html = client.get(f"/improvement/new?record={record.number}&source=process_monitoring").text
    assert record.number in html
    response = client.post(
        f"/improvement/{nc.number}/evidence", data={"evidence-record": "R-1999-9999"}
    )
    assert response.status_code == 422 and "There is no record" in response.text
    second = submit(users, "RF-01")
    response = client.post(
        f"/improvement/{nc.number}/evidence", data={"evidence-record": second.number}
    )
    assert response.status_code == 302
    assert [e.record_number for e in services.get_nc(nc.number).evidence] == [
        record.number,
        second.number,
    ]


def test_planning_an_action_from_the_page(users, client, auth):
    nc = in_action_plan(users)
    auth.login("author")
    response = client.post(
        f"/improvement/actions/new?nc={nc.number}",
        data={
            "action_type": "corrective",
            "title": "Add a withdrawal step to QP-07",
            "owner": "author2",
            "due_date": SOON.isoformat(),
            "effectiveness_criteria": "No obsolete form in 3 checks",
        },
    )
    assert response.status_code == 302
    assert [a.title for a in services.get_nc(nc.number).actions] == [
        "Add a withdrawal step to QP-07"
    ]
    response = client.post(
        f"/improvement/actions/new?nc={nc.number}",
        data={
            "action_type": "corrective",
            "title": "Second",
            "owner": "author2",
            "due_date": (date.today() - timedelta(days=1)).isoformat(),
        },
    )
    assert response.status_code == 200 and "cannot be in the past" in response.text
    assert 'value="Second"' in response.text


def test_action_steps_from_the_page(users, client, auth):
    nc = in_effectiveness_check(users)
    action = nc.actions[0]
    auth.login("author2")
    response = client.post(
        f"/improvement/actions/{action.id}/transition",
        data={"s-verified_effective-to": "verified_effective", "s-verified_effective-result": "ok"},
    )
    assert response.status_code == 403 and "someone else" in response.text
    auth.logout()
    auth.login("auditor")
    response = client.post(
        f"/improvement/actions/{action.id}/transition",
        data={
            "s-verified_effective-to": "verified_effective",
            "s-verified_effective-result": "Three spot checks clean",
        },
    )
    assert response.status_code == 302
    assert services.get_action(action.id).state == "verified_effective"


def test_csv_exports(users, client, auth):
    nc = analysed(users, title="Wrong fee charged, 收费错误")
    services.transition(users["approver"], nc, "action_plan")
    action_for(users, nc)
    auth.login("staff")
    response = client.get("/improvement/?format=csv")
    assert response.mimetype == "text/csv"
    text = response.data.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("number,title,state")
    assert nc.number in text and "收费错误" in text and "action_plan" in text
    text = client.get("/improvement/actions/?format=csv").data.decode("utf-8-sig")
    assert nc.actions[0].number in text and nc.number in text


def test_csv_exports_show_a_formula_typed_as_a_title_as_text(users, client, auth):
    analysed(users, title='=HYPERLINK("http://x","fee")')
    auth.login("staff")
    text = client.get("/improvement/?format=csv").data.decode("utf-8-sig")
    assert "\"'=HYPERLINK(" in text and ",=HYPERLINK(" not in text


def test_home_page_shows_my_items_due_soon_and_overdue(users, client, auth):
    from qms.extensions import db

    nc = raised(users, title="Counter sign missing", due_date=date.today() + timedelta(days=2))
    late = raised(users, title="Late one")
    late.due_date = date.today() - timedelta(days=1)
    far = raised(users, title="Far away", due_date=date.today() + timedelta(days=60))
    db.session.commit()
    auth.login("author")
    html = client.get("/").text
    assert "Nonconformities and actions due soon" in html
    assert nc.number in html and late.number in html and "overdue" in html
    assert far.number not in html
    auth.logout()
    auth.login("staff")
    assert nc.number not in client.get("/").text


def test_unknown_nc_and_action_are_404(users, client, auth):
    auth.login("staff")
    assert client.get("/improvement/NC-1999-0001").status_code == 404
    assert client.get("/improvement/actions/999").status_code == 404


# -- one rule per permission -----------------------------------------------------------


def test_pages_and_templates_ask_the_services_who_may_act():
    """No role is spelled out in the views or templates: each rule is one can_<verb>."""
    from pathlib import Path

    from qms import ROOT

    sources = [ROOT / "qms" / "improvement" / "views.py"]
    sources += sorted(Path(ROOT / "templates" / "improvement").rglob("*.html"))
    for path in sources:
        text = path.read_text()
        for spelled in ("has_role", "'approver'", '"approver"', "'auditor'", '"auditor"'):
            assert spelled not in text, f"{path.name} names a role: {spelled}"


@pytest.mark.parametrize("username", ["staff", "author", "author2", "approver", "auditor"])
def test_the_assign_form_is_shown_exactly_to_whom_the_service_lets_assign(
    users, client, auth, username
):
    from qms.errors import PermissionDenied

    nc = raised(users, responsible=None)
    auth.login(username)
    shown = 'id="assign"' in client.get(f"/improvement/{nc.number}").text
    assert shown == services.can_assign(users[username], nc)
    try:
        services.assign(users[username], nc, "author", SOON)
    except PermissionDenied:
        allowed = False
    else:
        allowed = True
    assert allowed == shown


@pytest.mark.parametrize("username", ["staff", "author", "author2", "approver", "auditor"])
def test_plan_an_action_is_offered_exactly_to_whom_the_service_lets_plan(
    users, client, auth, username
):
    from qms.errors import PermissionDenied

    nc = in_action_plan(users)
    auth.login(username)
    html = client.get(f"/improvement/{nc.number}").text
    shown = f"/improvement/actions/new?nc={nc.number}" in html
    assert shown == services.can_plan_actions(users[username], nc)
    try:
        services.create_action(
            users[username], "corrective", "Fix it", "author2", SOON, nonconformity=nc.number
        )
    except PermissionDenied:
        allowed = False
    else:
        allowed = True
    assert allowed == shown
