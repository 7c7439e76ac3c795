"""Risks and opportunities: the matrix, treatment, actions, review, API, pages, figures."""

from datetime import date, timedelta

import pytest

from qms import clock
from qms.auth.services import create_token
from qms.errors import Conflict, PermissionDenied, ValidationFailed
from qms.extensions import db
from qms.improvement import services as improvement
from qms.risks import figures, matrix, services
from qms.risks.models import RiskLevelChange

REVIEW = date(2027, 6, 30)


def add(users, likelihood=4, impact=4, kind="risk", owner="staff", **kw):
    kw.setdefault("department", "Service Hall")
    risk = services.add_risk(
        users["approver"],
        kind,
        kw.pop("title", "Applications lost in the portal migration"),
        likelihood,
        impact,
        owner,
        kw.pop("review_date", REVIEW),
        cause=kw.pop("cause", "Data moved by hand"),
        effect=kw.pop("effect", "Citizens must apply again"),
        **kw,
    )
    db.session.commit()
    return risk


def test_score_and_level_come_from_the_configured_matrix(users):
    risk = add(users, 3, 4)
    assert (risk.score, risk.level) == (12, "medium")  # the default 5 x 5 matrix
    assert risk.number == f"RO-{clock.today().year}-0001"
    grid = matrix.default_matrix(5)
    grid[2][3] = grid[2][4] = grid[3][3] = grid[3][4] = grid[4][3] = grid[4][4] = "high"
    matrix.save_settings(users["admin"], 5, grid)
    db.session.commit()
    assert risk.level == "high"  # re-levelled with the new matrix
    assert matrix.current().level(3, 4) == "high"
    assert (
        services.add_risk(
            users["approver"], "risk", "Other", 3, 5, "staff", REVIEW, department="Service Hall"
        ).level
        == "high"
    )


def test_settings_refuse_bad_matrices_and_non_admins(users):
    with pytest.raises(PermissionDenied):
        matrix.save_settings(users["approver"], 5)
    with pytest.raises(ValidationFailed) as exc:
        matrix.save_settings(users["admin"], 6)
    assert exc.value.field == "scale"
    falling = matrix.default_matrix(3)
    falling[2][2] = "low"
    with pytest.raises(ValidationFailed) as exc:
        matrix.save_settings(users["admin"], 3, falling)
    assert exc.value.field == "matrix"
    with pytest.raises(ValidationFailed):
        matrix.save_settings(users["admin"], 3, [["low", "bad", "high"]] * 3)
    add(users, 5, 5)
    with pytest.raises(ValidationFailed) as exc:
        matrix.save_settings(users["admin"], 3)  # an entry is scored above step 3
    assert exc.value.field == "scale"
    db.session.rollback()
    assert matrix.current().scale == 5


def test_a_smaller_scale_bounds_the_scores(users):
    matrix.save_settings(users["admin"], 3, likelihood_names=["Seldom", "Sometimes", "Often"])
    db.session.commit()
    assert matrix.current().likelihood_names == ["Seldom", "Sometimes", "Often"]
    with pytest.raises(ValidationFailed) as exc:
        add(users, 4, 1)
    assert exc.value.field == "likelihood"
    assert add(users, 3, 3).level == "high"


def test_residual_score_after_treatment(users):
    risk = add(users, 4, 4)
    assert risk.level == "high"
    services.update_risk(
        users["staff"],
        risk,
        treatment="Double entry check",
        residual_likelihood=2,
        residual_impact=3,
    )
    db.session.commit()
    assert (risk.residual_score, risk.residual_level, risk.current_level) == (6, "medium", "medium")
    # A risk's treatment cannot make it worse; nothing is stored.
    with pytest.raises(ValidationFailed) as exc:
        services.update_risk(users["staff"], risk, residual_likelihood=5, residual_impact=5)
    assert exc.value.field == "residual_likelihood"
    db.session.rollback()
    assert risk.residual_score == 6
    # An opportunity's treatment is meant to raise it.
    opp = add(users, 2, 2, kind="opportunity", title="Online booking")
    services.update_risk(users["staff"], opp, residual_likelihood=4, residual_impact=3)
    assert opp.residual_score == 12


def test_status_changes_follow_the_rules(users):
    risk = add(users)
    with pytest.raises(Conflict):
        services.change_status(users["staff"], risk, "treated")  # no residual yet
    services.update_risk(users["staff"], risk, residual_likelihood=2, residual_impact=2)
    with pytest.raises(Conflict):
        services.change_status(users["staff"], risk, "treated")  # no treatment yet
    services.update_risk(users["staff"], risk, treatment="Check every record twice")
    services.change_status(users["staff"], risk, "treated")
    services.change_status(users["staff"], risk, "closed")
    with pytest.raises(Conflict):
        services.update_risk(users["staff"], risk, title="Edited after closing")
    with pytest.raises(ValidationFailed):
        services.change_status(users["staff"], risk, "open")  # a reopening needs a reason
    services.change_status(users["staff"], risk, "open", "It happened again")
    other = add(users, 1, 1, title="Tiny")
    with pytest.raises(ValidationFailed):
        services.change_status(users["approver"], other, "accepted")
    services.change_status(users["approver"], other, "accepted", "Cheaper to bear")
    with pytest.raises(Conflict):
        services.change_status(users["approver"], other, "treated")


def test_permissions(users):
    with pytest.raises(PermissionDenied):
        services.add_risk(
            users["staff"], "risk", "X", 1, 1, "staff", REVIEW, department="Service Hall"
        )
    risk = add(users, owner="staff")
    with pytest.raises(PermissionDenied):
        services.update_risk(users["author"], risk, title="Not mine")
    with pytest.raises(PermissionDenied):
        services.raise_action(users["author"], risk, "Do", "author", REVIEW)
    services.update_risk(users["staff"], risk, title="Mine")  # the owner may
    services.update_risk(users["approver2"], risk, title="The office may")


def test_add_refuses_bad_input_and_stores_nothing(users):
    for kw, field in (
        ({"kind": "threat"}, "kind"),
        ({"likelihood": 0}, "likelihood"),
        ({"impact": "x"}, "impact"),
        ({"department": "Nowhere"}, "department"),
        ({"department": None}, "department"),
        ({"owner": "ghost"}, "owner"),
        ({"title": "  "}, "title"),
    ):
        args = {
            "kind": "risk",
            "title": "T",
            "likelihood": 2,
            "impact": 2,
            "owner": "staff",
            "review_date": REVIEW,
            "department": "Service Hall",
        } | kw
        with pytest.raises(ValidationFailed) as exc:
            services.add_risk(users["approver"], **args)
        assert exc.value.field == field, kw
    db.session.rollback()
    assert services.list_risks() == []


def test_action_raised_from_a_risk_is_linked_both_ways(users, client, auth):
    risk = add(users)
    action = services.raise_action(
        users["staff"], risk, "Reconcile the migrated applications", "staff", REVIEW
    )
    db.session.commit()
    assert action.action_type == "preventive"
    assert (action.origin, action.origin_ref) == ("risk", risk.number)
    assert [a.number for a in services.actions_of(risk)] == [action.number]
    opp = add(users, 2, 2, kind="opportunity", title="Online booking")
    assert services.raise_action(users["staff"], opp, "Pilot", "staff", REVIEW).action_type == (
        "improvement"
    )
    db.session.commit()
    auth.login("staff")
    page = client.get(f"/risks/{risk.number}").get_data(as_text=True)
    assert action.number in page
    shown = client.get(f"/improvement/actions/{action.number}").get_data(as_text=True)
    assert f'href="/risks/{risk.number}"' in shown


def test_action_raised_through_the_page_in_one_step(users, client, auth):
    risk = add(users)
    auth.login("staff")
    made = client.post(
        f"/risks/{risk.number}/action",
        data={"title": "Second check", "owner": "staff", "due_date": "2027-03-01"},
    )
    assert made.status_code == 302
    assert len(services.actions_of(risk)) == 1
    bad = client.post(
        f"/risks/{risk.number}/action",
        data={"title": "Second check", "owner": "ghost", "due_date": "2027-03-01"},
    )
    assert bad.status_code == 422 and len(services.actions_of(risk)) == 1


def test_review_date_comes_due_on_the_owners_home_page(users, client, auth):
    today = clock.today()
    due = add(users, review_date=today + timedelta(days=10), title="Due soon")
    add(users, review_date=today + timedelta(days=90), title="Later")
    assert [r.number for r in services.reviews_due(users["staff"])] == [due.number]
    assert services.reviews_due(users["staff"], today - timedelta(days=40)) == []
    assert services.reviews_due(users["approver"]) == []
    auth.login("staff")
    home = client.get("/").get_data(as_text=True)
    assert due.number in home and "Later" not in home


def test_heat_map_counts_and_links(users, client, auth):
    add(users, 4, 4, title="A")
    add(users, 4, 4, title="B")
    treated = add(users, 5, 5, title="C")
    services.update_risk(users["staff"], treated, residual_likelihood=2, residual_impact=1)
    closed = add(users, 1, 1, title="D")
    services.change_status(users["approver"], closed, "closed")
    db.session.commit()
    cells = {(c.likelihood, c.impact): c.count for row in figures.heat_map() for c in row}
    assert cells[(4, 4)] == 2 and cells[(2, 1)] == 1 and cells[(5, 5)] == 0
    assert cells[(1, 1)] == 0 and sum(cells.values()) == 3
    auth.login("staff")
    page = client.get("/risks/").get_data(as_text=True)
    assert 'href="/risks/?likelihood=4&amp;impact=4"' in page and 'data-count="2"' in page
    listed = client.get("/risks/?likelihood=4&impact=4").get_data(as_text=True)
    assert ">A<" in listed and ">B<" in listed and ">C<" not in listed
    # The register hides closed entries unless they are asked for.
    assert ">D<" not in client.get("/risks/?status=").get_data(as_text=True)
    assert ">D<" in client.get("/risks/?status=closed").get_data(as_text=True)


def test_trend_counts_high_risks_per_month_from_level_history(users):
    a = add(users, 5, 5, title="A")
    b = add(users, 5, 4, title="B")
    today = clock.today()
    month_ago = today.replace(day=1) - timedelta(days=20)
    # A was high since last month; B became high only this month.
    for change in db.session.scalars(db.select(RiskLevelChange)):
        if change.risk_id == a.id:
            change.at = change.at - timedelta(days=(today - month_ago).days + 1)
    db.session.commit()
    trend = figures.high_trend(3)
    assert [v for _m, v in trend][-2:] == [1, 2]
    services.update_risk(users["staff"], b, residual_likelihood=1, residual_impact=1)
    db.session.commit()
    assert figures.high_trend(1)[0][1] == 1


def test_api_create_list_update_and_status(users, client):
    office = {"Authorization": f"Bearer {create_token(users['approver'])}"}
    staff = {"Authorization": f"Bearer {create_token(users['staff'])}"}
    db.session.commit()
    body = {
        "kind": "risk",
        "title": "Portal outage",
        "department": "Service Hall",
        "process": "Acceptance",
        "likelihood": 4,
        "impact": 5,
        "owner": "staff",
        "review_date": "2027-01-31",
    }
    assert client.post("/api/v1/risks", json=body, headers=staff).status_code == 403
    made = client.post("/api/v1/risks", json=body, headers=office)
    assert made.status_code == 201, made.json
    number = made.json["number"]
    assert (made.json["score"], made.json["level"]) == (20, "high")
    bad = client.post("/api/v1/risks", json=body | {"likelihood": 9}, headers=office)
    assert bad.status_code == 422
    client.post(
        "/api/v1/risks",
        json=body | {"title": "Queue", "likelihood": 1, "kind": "opportunity"},
        headers=office,
    )
    listed = client.get("/api/v1/risks?level=high&department=Service%20Hall", headers=staff)
    assert [r["number"] for r in listed.json["items"]] == [number]
    assert client.get("/api/v1/risks?kind=opportunity", headers=staff).json["total"] == 1
    assert client.get("/api/v1/risks?process=Acceptance", headers=staff).json["total"] == 2
    assert client.get("/api/v1/risks?department=Nowhere", headers=staff).status_code == 422
    changed = client.patch(
        f"/api/v1/risks/{number}",
        json={"residual_likelihood": 2, "residual_impact": 2, "treatment": "Second line"},
        headers=staff,
    )
    assert changed.status_code == 200 and changed.json["residual_level"] == "low"
    raised = client.post(
        f"/api/v1/risks/{number}/actions",
        json={"title": "Add a second line", "owner": "staff", "due_date": "2027-01-15"},
        headers=staff,
    )
    assert raised.status_code == 201 and raised.json["origin_ref"] == number
    moved = client.post(f"/api/v1/risks/{number}/status", json={"to": "treated"}, headers=staff)
    assert moved.status_code == 200 and moved.json["status"] == "treated"
    assert client.get(f"/api/v1/risks/{number}", headers=staff).json["actions"] == [
        raised.json["number"]
    ]
    wrong = client.post(f"/api/v1/risks/{number}/status", json={"to": "accepted"}, headers=staff)
    assert wrong.status_code == 409
    spec = client.get("/api/v1/openapi.json").json
    assert {"/api/v1/risks", "/api/v1/risks/{number}/status"} <= set(spec["paths"])


def test_management_review_figures_match_the_register(users):
    from qms.reviews import inputs

    start, end = clock.today() - timedelta(days=30), clock.today() + timedelta(days=1)
    high = add(users, 5, 5, title="Outage")
    add(users, 4, 4, title="Still high")
    add(users, 2, 2, title="Low one")
    services.update_risk(
        users["staff"], high, treatment="UPS", residual_likelihood=2, residual_impact=2
    )
    good = services.raise_action(users["staff"], high, "Install UPS", "staff", end)
    bad = services.raise_action(users["staff"], high, "Train staff", "staff", end)
    db.session.commit()
    for action, verdict in ((good, "verified_effective"), (bad, "not_effective")):
        improvement.action_transition(users["staff"], action, "in_progress")
        improvement.action_transition(users["staff"], action, "done", note="Done")
        improvement.action_transition(users["approver"], action, verdict, result="Checked")
    db.session.commit()
    part = inputs.risks(start, end, [good, bad])
    got = {f["key"]: f["value"] for f in part["figures"]}
    assert got["risks.actions"] == 2  # the preventive actions of the period
    assert got["risks.register_open"] == 3
    assert got["risks.high"] == 1
    assert got["risks.treated"] == 1
    assert got["risks.risk_actions"] == 2
    assert got["risks.risk_actions_effective"] == 1
    assert got["risks.risk_actions_not_effective"] == 1
    assert got["risks.level_lowered"] == 1 and got["risks.level_raised"] == 0
    assert {i["key"] for i in part["items"]} >= {high.number, good.number, bad.number}


def test_register_page_export_and_settings_page(users, client, auth):
    add(users)
    auth.login("staff")
    assert client.get("/risks/").status_code == 200
    assert client.get("/risks/settings").status_code == 403
    xlsx = client.get("/risks/register.xlsx")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    assert client.post("/risks/", data={}).status_code == 403
    auth.logout()
    auth.login("admin")
    assert client.get("/risks/settings").status_code == 200
    form = {f"cell-{lk}-{im}": "high" for lk in range(1, 6) for im in range(1, 6)}
    saved = client.post("/risks/settings", data=form | {"scale": "5"})
    assert saved.status_code == 302
    assert services.list_risks()[0].level == "high" and matrix.current().level(1, 1) == "high"
    bad = client.post("/risks/settings", data=form | {"scale": "5", "cell-1-1": "nope"})
    assert bad.status_code == 422


def test_audit_programme_weighs_high_risks_and_a_plan_takes_them_as_criteria(users, client, auth):
    from qms.audits import services as audits
    from tests.builders_audits import plan, procedure

    procedure(users)
    high = add(users, 5, 5, process="Acceptance")
    low = add(users, 1, 2, title="Low one")
    year = clock.today().year
    unit = audits.save_unit(users["approver"], year, "department", "Service Hall", "low")
    process = audits.save_unit(users["approver"], year, "process", "Licensing", "low")
    db.session.commit()
    # Low risk would be once a year; the register's high risk makes it four times.
    assert (unit.frequency, process.frequency) == (4, 1)
    rows = {(r.kind, r.name): r for r in audits.coverage(year).rows}
    assert rows[("department", "Service Hall")].high_risks == 1
    # A process with high risks that the programme leaves out is shown, flagged.
    assert rows[("process", "Acceptance")].high_risks == 1
    assert not rows[("process", "Acceptance")].in_programme
    audit = plan(users, risks=[high.number])
    db.session.commit()
    assert [r.number for r in services.risks_of_audit(audit.ref)] == [high.number]
    assert high.audits == [audit.ref]
    services.change_status(users["approver"], low, "closed")
    with pytest.raises(ValidationFailed) as exc:
        plan(users, title="Second", risks=[low.number])
    assert exc.value.field == "risks"
    db.session.rollback()
    auth.login("auditor")
    assert high.number in client.get(f"/audits/{audit.ref}").get_data(as_text=True)
    assert high.number in client.get("/audits/new").get_data(as_text=True)
    page = client.get(f"/audits/programme/{year}").get_data(as_text=True)
    assert "1 high risk" in page


def test_risks_are_found_by_search(users):
    from qms.search import services as search

    risk = add(users, title="Portal outage", cause="Single data centre")
    found = search.search("data centre", types=["risk"])
    assert [h.key for h in found.items] == [risk.number]
    services.update_risk(users["staff"], risk, cause="Single power supply")
    db.session.commit()
    assert search.search("data centre", types=["risk"]).items == []


def test_demo_risk_texts_exist_in_english_and_chinese():
    from qms.demo import risks as demo_risks

    assert demo_risks.EN.keys() == demo_risks.ZH_HANS.keys()
