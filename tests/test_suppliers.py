"""External providers (§8.4): status rules, evaluations and their due dates, reminders,
suspension proposed but decided by a person, NCs naming a provider, the record field that
refuses a suspended provider, the API and the management-review figures."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from qms import clock, trail
from qms.auth.services import create_token
from qms.documents.register import add_months
from qms.errors import Conflict, PermissionDenied, ValidationFailed
from qms.extensions import db
from qms.improvement import services as improvement
from qms.records import services as records
from qms.reviews import inputs
from qms.suppliers import reminders, services
from qms.suppliers.models import SupplierReminder
from tests.builders import effective
from tests.builders_records import form_in_force

TODAY = clock.today()
CRITERIA = [{"name": "Quality", "weight": 3}, {"name": "Delivery", "weight": 1}]
PURCHASE_FORM = [
    {"key": "item", "label": "Item", "type": "text", "required": True},
    {"key": "provider", "label": "Provider", "type": "supplier", "required": True},
]


def provider(users, name="Swift Courier Ltd", status="approved", **kw):
    kw.setdefault("criteria", CRITERIA)
    made = services.add_supplier(
        users["approver"],
        name,
        kw.pop("supplies", "Delivery of licences to applicants"),
        kw.pop("owner", "author"),
        controls=kw.pop("controls", "Signed delivery slips checked weekly"),
        status=status,
        **kw,
    )
    db.session.commit()
    return made


def scored(users, supplier, quality, delivery, on=None, by="approver"):
    evaluation = services.evaluate(
        users[by], supplier, {"Quality": quality, "Delivery": delivery}, on or TODAY
    )
    db.session.commit()
    return evaluation


def nc_about(users, supplier, title="Licence delivered to the wrong address"):
    nc = improvement.raise_nc(
        users["staff"],
        title,
        "The courier left the licence with a neighbour.",
        "supplier",
        supplier=supplier.number,
    )
    db.session.commit()
    return nc


# -- status ----------------------------------------------------------------------------------


def test_status_moves_only_along_the_state_table_with_a_reason_and_a_trail_event(users):
    sp = provider(users, status="conditional")
    office = users["approver"]
    with pytest.raises(ValidationFailed) as exc:
        services.change_status(office, sp, "suspended", "  ")
    assert exc.value.field == "reason"
    services.change_status(office, sp, "suspended", "Lost two licences")
    db.session.commit()
    # A suspended provider comes back on condition only, never straight to approved.
    with pytest.raises(Conflict):
        services.change_status(office, sp, "approved", "Better now")
    with pytest.raises(Conflict):
        services.change_status(office, sp, "suspended", "Again")
    services.change_status(office, sp, "conditional", "New manager, new checks")
    db.session.commit()
    assert [c.to_status for c in sp.status_changes] == ["conditional", "suspended", "conditional"]
    assert sp.status_changes[0].reason == "New manager, new checks"
    events = db.session.scalars(
        select(trail.AuditEvent).where(
            trail.AuditEvent.object_type == "supplier",
            trail.AuditEvent.object_key == sp.number,
            trail.AuditEvent.action == "supplier.status_changed",
        )
    ).all()
    assert [e.after["status"] for e in events] == ["suspended", "conditional"]


def test_approval_needs_a_good_latest_evaluation_and_only_the_office_decides(users):
    sp = provider(users, status="conditional")
    with pytest.raises(Conflict):
        services.change_status(users["approver"], sp, "approved", "Looks fine")
    scored(users, sp, 50, 50)
    with pytest.raises(Conflict):
        services.change_status(users["approver"], sp, "approved", "Looks fine")
    scored(users, sp, 90, 80)
    with pytest.raises(PermissionDenied):
        services.change_status(users["author"], sp, "approved", "I own it")
    services.change_status(users["approver"], sp, "approved", "Scored 87.5")
    assert sp.status == "approved"


def test_a_new_provider_cannot_start_suspended_and_bad_input_stores_nothing(users):
    with pytest.raises(ValidationFailed) as exc:
        services.add_supplier(users["approver"], "X", "Y", "author", status="suspended")
    assert exc.value.field == "status"
    with pytest.raises(ValidationFailed) as exc:
        services.add_supplier(
            users["approver"], "X", "Y", "author", criteria=[{"name": "Q", "weight": 0}]
        )
    assert exc.value.field == "criteria"
    with pytest.raises(ValidationFailed) as exc:
        services.add_supplier(users["approver"], "X", "Y", "nobody")
    assert exc.value.field == "owner"
    with pytest.raises(PermissionDenied):
        services.add_supplier(users["staff"], "X", "Y", "author")
    db.session.rollback()
    assert services.list_suppliers() == []


# -- evaluations -----------------------------------------------------------------------------


def test_evaluation_total_is_the_weighted_mean_and_sets_the_next_due_date(users):
    sp = provider(users, evaluation_months=6)
    assert sp.next_evaluation_due == TODAY  # evaluated before it is relied on
    on = TODAY - timedelta(days=10)
    evaluation = scored(users, sp, 80, 40, on=on)
    assert evaluation.total == 70.0  # (80*3 + 40*1) / 4
    assert [(s.criterion, s.weight, s.score) for s in evaluation.scores] == [
        ("Quality", 3, 80),
        ("Delivery", 1, 40),
    ]
    assert sp.next_evaluation_due == add_months(on, 6)
    # A longer interval moves the due date from the last evaluation.
    services.change_supplier(users["approver"], sp, evaluation_months=12)
    assert sp.next_evaluation_due == add_months(on, 12)


def test_an_evaluation_scores_every_criterion_from_0_to_100(users):
    sp = provider(users)
    for scores in ({"Quality": 80}, {"Quality": 101, "Delivery": 5}, {"Quality": "a"}):
        with pytest.raises(ValidationFailed):
            services.evaluate(users["approver"], sp, scores)
    with pytest.raises(ValidationFailed):
        services.evaluate(users["approver"], sp, {"Quality": 1, "Delivery": 1, "Price": 1})
    with pytest.raises(ValidationFailed):
        services.evaluate(
            users["approver"], sp, {"Quality": 1, "Delivery": 1}, TODAY + timedelta(days=1)
        )
    with pytest.raises(PermissionDenied):
        services.evaluate(users["staff"], sp, {"Quality": 1, "Delivery": 1})
    # The owner may evaluate their own provider.
    assert scored(users, sp, 70, 70, by="author").total == 70.0
    db.session.rollback()
    assert len(sp.evaluations) == 1


def test_re_evaluation_comes_due_and_reminds_the_owner_once(users, monkeypatch):
    from qms.improvement import mail

    delivered = []
    monkeypatch.setattr(
        mail, "deliver", lambda message, smtp=None: delivered.append(message) or True
    )
    sp = provider(users, evaluation_months=12)
    scored(users, sp, 90, 90)
    due = add_months(TODAY, 12)
    assert reminders.send_reminders(due - timedelta(days=30)) == []
    assert services.evaluation_state(sp, due - timedelta(days=20)) == "due"
    first = reminders.send_reminders(due - timedelta(days=10))
    assert first == [f"{sp.number} {due.isoformat()} -> author"]
    assert reminders.send_reminders(due - timedelta(days=5)) == []
    assert reminders.send_reminders(due + timedelta(days=5)) == []
    assert len(delivered) == 1 and sp.number in delivered[0].subject
    assert db.session.scalar(select(func.count()).select_from(SupplierReminder)) == 1


def test_a_reminder_not_delivered_is_tried_again(users, monkeypatch):
    from qms.improvement import mail

    monkeypatch.setattr(mail, "deliver", lambda message, smtp=None: False)
    provider(users)
    assert reminders.send_reminders() == []
    assert db.session.scalar(select(func.count()).select_from(SupplierReminder)) == 0


def test_due_evaluations_show_on_the_owners_home_page(users, client, auth):
    sp = provider(users)
    auth.login("author")
    page = client.get("/").get_data(as_text=True)
    assert "Provider evaluations due" in page and sp.number in page
    auth.logout()
    auth.login("staff")
    assert sp.number not in client.get("/").get_data(as_text=True)


# -- suspension proposed ---------------------------------------------------------------------


def test_a_poor_evaluation_proposes_suspension_but_does_not_suspend(users, client, auth):
    sp = provider(users)
    scored(users, sp, 50, 60)  # 52.5, below 60
    found = services.proposal(sp)
    assert found and "52.5" in found.reasons[0]
    assert sp.status == "approved"
    auth.login("approver")
    listing = client.get("/suppliers/").get_data(as_text=True)
    assert "suspension proposed" in listing
    page = client.get(f"/suppliers/{sp.number}").get_data(as_text=True)
    assert "Suspension proposed" in page and "Suspend the provider" in page
    # A person decides, with a reason.
    response = client.post(
        f"/suppliers/{sp.number}/status", data={"status": "suspended", "reason": ""}
    )
    assert response.status_code == 422
    assert services.get_supplier(sp.number).status == "approved"
    client.post(
        f"/suppliers/{sp.number}/status",
        data={"status": "suspended", "reason": "Poor evaluation"},
    )
    db.session.expire_all()
    assert services.get_supplier(sp.number).status == "suspended"
    assert not services.proposal(services.get_supplier(sp.number))


def test_repeated_ncs_in_twelve_months_propose_suspension(users, app):
    sp = provider(users)
    scored(users, sp, 95, 95)
    for n in range(services.NC_LIMIT - 1):
        nc_about(users, sp, f"Late delivery {n}")
    assert not services.proposal(sp)
    unfounded = nc_about(users, sp, "Late delivery, it was said")
    improvement.transition(users["approver"], unfounded, "rejected", reason="Delivered on time")
    db.session.commit()
    assert not services.proposal(sp)  # an NC found unfounded does not count
    nc_about(users, sp, "Late delivery again")
    found = services.proposal(sp)
    assert found and "3 nonconformities" in found.reasons[0]
    assert services.get_supplier(sp.number).status == "approved"
    # A year on, the NCs are no longer recent.
    assert not services.proposal(sp, today=TODAY + timedelta(days=400))
    app.config["QMS_SUPPLIER_NC_LIMIT"] = 5
    assert not services.proposal(sp)


# -- NCs --------------------------------------------------------------------------------------


def test_an_nc_names_the_provider_and_appears_on_its_page(users, client, auth):
    effective(users, "QP-08", title="Courier contract")
    sp = provider(users, documents=["QP-08"])
    nc = nc_about(users, sp)
    assert nc.supplier_id == sp.id
    assert [n.number for n in services.ncs_of(sp)] == [nc.number]
    with pytest.raises(ValidationFailed) as exc:
        improvement.raise_nc(users["staff"], "T", "D", "supplier", supplier="SP-9999")
    assert exc.value.field == "supplier"
    db.session.rollback()
    auth.login("staff")
    page = client.get(f"/suppliers/{sp.number}").get_data(as_text=True)
    assert nc.number in page and "QP-08" in page
    nc_page = client.get(f"/improvement/{nc.number}").get_data(as_text=True)
    assert sp.number in nc_page
    # Raised from the NC form, naming the provider.
    response = client.post(
        "/improvement/new",
        data={
            "title": "Parcel damaged",
            "description": "The envelope was torn.",
            "source": "supplier",
            "supplier": sp.number,
            "severity": "minor",
            "department": "Service Hall",
        },
    )
    assert response.status_code == 302
    assert len(services.ncs_of(sp)) == 2


# -- the record field ------------------------------------------------------------------------


def test_a_suspended_provider_cannot_be_chosen_on_a_new_purchase_record(users):
    good = provider(users, "Good Paper Co")
    bad = provider(users, "Bad Toner Co")
    form_in_force(users, "RF-09", PURCHASE_FORM)
    record = records.submit_record(
        users["staff"], "RF-09", {"item": "Toner", "provider": bad.number}
    )
    db.session.commit()
    services.change_status(users["approver"], bad, "suspended", "Counterfeit toner")
    db.session.commit()
    offered = [number for number, _label in records.choices()["supplier"]]
    assert good.number in offered and bad.number not in offered
    with pytest.raises(ValidationFailed) as exc:
        records.submit_record(users["staff"], "RF-09", {"item": "Toner", "provider": bad.number})
    assert "suspended" in exc.value.detail["provider"][0]
    with pytest.raises(ValidationFailed):
        records.submit_record(users["staff"], "RF-09", {"item": "Toner", "provider": "SP-9999"})
    db.session.rollback()
    assert (
        records.submit_record(
            users["staff"], "RF-09", {"item": "Paper", "provider": good.number}
        ).values["provider"]
        == good.number
    )
    # The record filled before the suspension keeps its provider when amended.
    amended = records.amend_record(
        users["staff"], record.number, {"item": "Toner x2", "provider": bad.number}, "Quantity"
    )
    assert amended.values == {"item": "Toner x2", "provider": bad.number}
    assert bad.number in [n for n, _l in records.choices(amended.values)["supplier"]]


def test_the_supplier_field_on_the_form_page_offers_only_providers_not_suspended(
    users, client, auth
):
    good = provider(users, "Good Paper Co")
    bad = provider(users, "Bad Toner Co")
    services.change_status(users["approver"], bad, "suspended", "Counterfeit toner")
    form_in_force(users, "RF-09", PURCHASE_FORM)
    db.session.commit()
    auth.login("staff")
    page = client.get("/records/fill/RF-09").get_data(as_text=True)
    assert good.number in page and bad.number not in page


# -- API ---------------------------------------------------------------------------------------


def test_api_lists_creates_changes_and_evaluates_providers(users, client):
    office = {"Authorization": f"Bearer {create_token(users['approver'])}"}
    staff = {"Authorization": f"Bearer {create_token(users['staff'])}"}
    db.session.commit()
    made = client.post(
        "/api/v1/suppliers",
        json={
            "name": "City IT Services",
            "supplies": "Helpdesk and network",
            "owner": "author",
            "status": "conditional",
            "criteria": CRITERIA,
        },
        headers=office,
    )
    assert made.status_code == 201, made.json
    number = made.json["number"]
    assert made.json["next_evaluation_due"] == TODAY.isoformat()
    refused = client.post(
        "/api/v1/suppliers",
        json={"name": "X", "supplies": "Y", "owner": "author"},
        headers=staff,
    )
    assert refused.status_code == 403
    bad = client.post(
        f"/api/v1/suppliers/{number}/evaluations", json={"scores": {"Quality": 80}}, headers=office
    )
    assert bad.status_code == 422
    evaluated = client.post(
        f"/api/v1/suppliers/{number}/evaluations",
        json={"scores": {"Quality": 40, "Delivery": 60}, "comment": "Slow"},
        headers=office,
    )
    assert evaluated.status_code == 201 and evaluated.json["total"] == 45.0
    listed = client.get("/api/v1/suppliers?proposed=true", headers=staff).json["items"]
    assert [s["number"] for s in listed] == [number]
    assert listed[0]["suspension_proposed"]
    assert client.get("/api/v1/suppliers?status=approved", headers=staff).json["items"] == []
    changed = client.patch(
        f"/api/v1/suppliers/{number}", json={"controls": "Monthly SLA report"}, headers=office
    )
    assert changed.status_code == 200 and changed.json["controls"] == "Monthly SLA report"
    conflict = client.post(
        f"/api/v1/suppliers/{number}/status",
        json={"status": "approved", "reason": "Fine"},
        headers=office,
    )
    assert conflict.status_code == 409
    suspended = client.post(
        f"/api/v1/suppliers/{number}/status",
        json={"status": "suspended", "reason": "Poor evaluation"},
        headers=office,
    )
    assert suspended.status_code == 200 and suspended.json["status"] == "suspended"
    shown = client.get(f"/api/v1/suppliers/{number}", headers=staff).json
    assert [c["to_status"] for c in shown["status_changes"]] == ["suspended", "conditional"]
    assert client.get("/api/v1/suppliers/SP-9999", headers=staff).status_code == 404
    nc = client.post(
        "/api/v1/nonconformities",
        json={
            "title": "Outage",
            "description": "Down 3 h",
            "source": "supplier",
            "supplier": number,
        },
        headers=staff,
    )
    assert nc.status_code == 201 and nc.json["supplier"] == number
    about = client.get(f"/api/v1/nonconformities?supplier={number}", headers=staff).json
    assert [n["number"] for n in about["items"]] == [nc.json["number"]]
    assert client.get(f"/api/v1/suppliers/{number}", headers=staff).json["nonconformities"] == [
        nc.json["number"]
    ]
    spec = client.get("/api/v1/openapi.json").json
    assert {"/api/v1/suppliers", "/api/v1/suppliers/{number}/evaluations"} <= set(spec["paths"])


def test_xlsx_export_and_search_find_the_provider(users, client, auth):
    sp = provider(users, "Swift Courier Ltd")
    auth.login("staff")
    response = client.get("/suppliers/register.xlsx")
    assert response.status_code == 200 and response.data[:2] == b"PK"
    from qms.search import services as search

    hits = search.search("Swift courier")
    assert any(h.key == sp.number for h in hits.items)


# -- management review -----------------------------------------------------------------------


def test_management_review_shows_provider_performance_from_evaluations_and_ncs(users):
    start = TODAY - timedelta(days=60)
    good = provider(users, "Good Paper Co")
    poor = provider(users, "Bad Toner Co")
    idle = provider(users, "Idle Print Co")
    scored(users, good, 90, 70, on=TODAY - timedelta(days=100))  # before the period
    scored(users, good, 80, 80, on=TODAY - timedelta(days=20))  # 80
    scored(users, poor, 40, 60, on=TODAY - timedelta(days=10))  # 45
    nc_about(users, poor, "Toner leaked")
    nc_about(users, poor, "Toner late")
    improvement.raise_nc(users["staff"], "Courier", "Lost", "supplier")  # no provider named
    services.change_status(users["approver"], poor, "suspended", "Poor evaluation")
    db.session.commit()
    ncs = db.session.scalars(improvement.list_ncs()).unique().all()
    # The period ends tomorrow: by then the idle provider's first evaluation is overdue.
    got = inputs.external_providers(start, TODAY + timedelta(days=1), ncs)
    figure = {f["key"]: f["value"] for f in got["figures"]}
    assert figure["external_providers.providers"] == 3
    assert figure["external_providers.evaluated"] == 2
    assert figure["external_providers.average_score"] == 62.5  # (80 + 45) / 2
    assert figure["external_providers.poor"] == 1
    assert figure["external_providers.ncs"] == 3
    assert figure["external_providers.suspended"] == 1
    assert figure["external_providers.proposed"] == 0  # the poor one is decided already
    assert figure["external_providers.overdue"] == 1  # idle was never evaluated
    keys = {i["key"] for i in got["items"] if i["kind"] == "supplier"}
    assert keys == {good.number, poor.number}
    assert idle.number not in keys


# -- the demo --------------------------------------------------------------------------------


def test_the_demo_shows_providers_at_work(ctx):
    from qms import demo
    from qms.records.models import Record

    demo.load_demo("en")
    listed = {s.name: s for s in services.list_suppliers()}
    courier = listed["Hangzhou Swift Courier Co."]
    it = listed["City Network IT Services"]
    toner = listed["Bright Toner Supplies"]
    assert (courier.status, it.status, toner.status) == ("approved", "conditional", "approved")
    assert not services.proposal(courier) and not services.proposal(it)
    assert services.proposal(toner)  # proposed, but left for a person to decide
    assert services.evaluation_state(it) == "due"
    assert [nc.source for nc in services.ncs_of(toner)] == ["supplier"]
    purchase = db.session.scalar(select(Record).where(Record.form_code == "RF-08-04-01"))
    assert purchase.values["provider"] == toner.number
    assert "WI-07-03" in courier.documents


# -- pages -----------------------------------------------------------------------------------


def test_office_adds_evaluates_and_changes_a_provider_on_its_pages(users, client, auth):
    auth.login("approver")
    bad = client.post(
        "/suppliers/",
        data={
            "name": "Paper Co",
            "supplies": "Paper",
            "owner": "author",
            "status": "approved",
            "evaluation_months": 12,
            "criteria": "Quality fifty",
        },
    )
    assert bad.status_code == 422 and "name: weight" in bad.get_data(as_text=True)
    assert services.list_suppliers() == []
    made = client.post(
        "/suppliers/",
        data={
            "name": "Paper Co",
            "supplies": "Paper",
            "owner": "author",
            "status": "approved",
            "evaluation_months": 6,
            "criteria": "Quality: 3\nDelivery: 1",
        },
    )
    assert made.status_code == 302
    (sp,) = services.list_suppliers()
    assert [(c.name, c.weight) for c in sp.criteria] == [("Quality", 3), ("Delivery", 1)]
    refused = client.post(
        f"/suppliers/{sp.number}/evaluations",
        data={"evaluated_on": TODAY.isoformat(), "score_0": "80", "score_1": "200"},
    )
    assert refused.status_code == 422 and not services.get_supplier(sp.number).evaluations
    done = client.post(
        f"/suppliers/{sp.number}/evaluations",
        data={"evaluated_on": TODAY.isoformat(), "score_0": "80", "score_1": "40"},
    )
    assert done.status_code == 302
    db.session.expire_all()
    sp = services.get_supplier(sp.number)
    assert sp.latest_evaluation.total == 70.0
    assert sp.next_evaluation_due == add_months(TODAY, 6)
    changed = client.post(
        f"/suppliers/{sp.number}",
        data={
            "name": "Paper Co",
            "supplies": "Paper and envelopes",
            "owner": "author",
            "evaluation_months": 6,
            "criteria": "Quality: 3\nDelivery: 1",
        },
    )
    assert changed.status_code == 302
    db.session.expire_all()
    assert services.get_supplier(sp.number).supplies == "Paper and envelopes"
    page = client.get(f"/suppliers/{sp.number}").get_data(as_text=True)
    assert "Paper and envelopes" in page and "70" in page


def test_staff_read_the_register_but_cannot_change_it(users, client, auth):
    sp = provider(users)
    auth.login("staff")
    assert client.get("/suppliers/").status_code == 200
    page = client.get(f"/suppliers/{sp.number}").get_data(as_text=True)
    assert "Record an evaluation" not in page and "Change the status" not in page
    assert client.post("/suppliers/", data={"name": "X"}).status_code == 403
    assert (
        client.post(
            f"/suppliers/{sp.number}/status", data={"status": "suspended", "reason": "x"}
        ).status_code
        == 403
    )
    assert client.post(f"/suppliers/{sp.number}/evaluations", data={}).status_code == 403
    assert client.get("/suppliers/SP-9999").status_code == 404
