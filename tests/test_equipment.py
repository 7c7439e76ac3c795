"""The equipment register (§7.1.5): due dates, reminders, out of tolerance, record fields."""

import io
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook

from qms import clock, trail
from qms.auth.services import create_token
from qms.equipment import services
from qms.equipment.models import Equipment
from qms.errors import Conflict, PermissionDenied, ValidationFailed
from qms.extensions import db
from qms.improvement import services as improvement
from qms.records import services as records
from tests.builders_records import form_in_force

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

FIELDS = [
    {"key": "title", "label": "Title", "type": "text", "required": True},
    {"key": "scale", "label": "Scale", "type": "equipment", "measurement": "mass"},
    {"key": "weight", "label": "Weight", "type": "number"},
]


def today() -> date:
    return clock.today()


def instrument(users, calibrated_days_ago=30, months=12, **kw) -> Equipment:
    kw.setdefault("measurement", "mass")
    eq = services.register_equipment(
        users["approver"],
        kw.pop("name", "Platform scale"),
        kw.pop("owner", "staff"),
        interval_value=months,
        last_calibrated_on=None
        if calibrated_days_ago is None
        else today() - timedelta(days=calibrated_days_ago),
        **kw,
    )
    db.session.commit()
    return eq


def make_overdue(users, eq) -> None:
    """Shorten the interval so the due date has passed, as if time had gone by."""
    services.update_equipment(users["approver"], eq, interval_value=30, interval_unit="days")
    db.session.commit()
    assert eq.status == "in_use" and eq.next_due < today()


def weigh(users, eq, title="Weighing"):
    record = records.submit_record(
        users["staff"], "RF-01", {"title": title, "scale": eq.number, "weight": "1.5"}
    )
    db.session.commit()
    return record


# -- due dates ------------------------------------------------------------------------------


def test_next_due_follows_the_interval_in_months_or_days():
    assert services.next_due_from(date(2026, 1, 31), 1, "months") == date(2026, 2, 28)
    assert services.next_due_from(date(2024, 2, 29), 12, "months") == date(2025, 2, 28)
    assert services.next_due_from(date(2026, 11, 15), 3, "months") == date(2027, 2, 15)
    assert services.next_due_from(date(2026, 1, 1), 90, "days") == date(2026, 4, 1)


def test_registered_instrument_is_due_an_interval_after_its_last_calibration(users):
    eq = instrument(users, calibrated_days_ago=10, months=6)
    assert eq.number == "EQ-0001"
    assert eq.status == "in_use"
    assert eq.next_due == services.add_months(today() - timedelta(days=10), 6)
    assert [c.result for c in eq.calibrations] == ["pass"]
    assert trail.events_for("equipment", eq.number)[0].action == "equipment.registered"
    fresh = instrument(users, calibrated_days_ago=None, name="New caliper")
    assert fresh.status == "out_of_calibration" and fresh.next_due is None


def test_register_refuses_bad_input_and_non_office(users):
    with pytest.raises(PermissionDenied):
        services.register_equipment(users["staff"], "Scale", "staff", "mass", 12)
    bad = [
        ({"name": ""}, "name"),
        ({"measurement": " "}, "measurement"),
        ({"interval_value": 0}, "interval_value"),
        ({"interval_value": "12"}, "interval_value"),
        ({"interval_unit": "weeks"}, "interval_unit"),
        ({"owner": "nobody"}, "owner"),
        ({"kind": "guess"}, "kind"),
        ({"last_calibrated_on": today() + timedelta(days=1)}, "last_calibrated_on"),
    ]
    for change, field in bad:
        args = {"name": "Scale", "owner": "staff", "measurement": "mass", "interval_value": 12}
        args.update(change)
        with pytest.raises(ValidationFailed) as refused:
            services.register_equipment(users["approver"], **args)
        assert refused.value.field == field, change
    instrument(users, number="BAL-7")
    with pytest.raises(ValidationFailed, match="already"):
        instrument(users, number="BAL-7")
    assert db.session.query(Equipment).count() == 1


def test_changing_the_interval_moves_the_due_date(users):
    eq = instrument(users, calibrated_days_ago=10, months=12)
    services.update_equipment(users["approver"], eq, interval_value=30, interval_unit="days")
    assert eq.next_due == today() + timedelta(days=20)
    with pytest.raises(PermissionDenied):
        services.update_equipment(users["staff"], eq, name="Mine")


# -- status -------------------------------------------------------------------------------


def test_status_follows_the_state_table(users):
    eq = instrument(users)
    with pytest.raises(ValidationFailed):
        services.change_status(users["staff"], eq, "withdrawn")  # no reason
    services.change_status(users["staff"], eq, "out_of_calibration", "Dropped on the floor")
    with pytest.raises(Conflict, match="good calibration"):
        services.change_status(users["staff"], eq, "in_use")
    services.change_status(users["staff"], eq, "withdrawn", "Scrapped")
    with pytest.raises(Conflict):
        services.change_status(users["staff"], eq, "out_of_calibration", "x")
    with pytest.raises(PermissionDenied):
        services.change_status(users["staff2"], eq, "in_use")
    # Back from withdrawn only with a good calibration in force: the last one was good.
    services.change_status(users["approver"], eq, "in_use")
    assert eq.status == "in_use"


def test_a_good_calibration_puts_an_instrument_back_in_use(users):
    eq = instrument(users, calibrated_days_ago=None)
    cal = services.record_calibration(
        users["staff"],
        eq,
        today(),
        "pass",
        "Provincial metrology institute",
        certificate=(io.BytesIO(PDF), "cert.pdf"),
    )
    db.session.commit()
    assert eq.status == "in_use" and eq.next_due == services.add_months(today(), 12)
    assert services.certificate_path(cal).read_bytes() == PDF
    with pytest.raises(ValidationFailed) as refused:
        services.record_calibration(users["staff"], eq, today() - timedelta(days=5), "pass")
    assert refused.value.field == "performed_on"
    with pytest.raises(ValidationFailed):
        services.record_calibration(users["staff"], eq, today(), "fine")
    with pytest.raises(PermissionDenied):
        services.record_calibration(users["staff2"], eq, today(), "pass")


# -- due, overdue and reminders -------------------------------------------------------------


def test_calibration_comes_due_and_reminds_the_owner_once(users, monkeypatch):
    from qms.improvement import mail

    delivered = []
    monkeypatch.setattr(
        mail, "deliver", lambda message, smtp=None: delivered.append(message) or True
    )
    eq = instrument(users, calibrated_days_ago=30, months=12)
    instrument(users, calibrated_days_ago=10, months=12, name="Later scale")
    assert services.send_reminders() == []
    soon = eq.next_due - timedelta(days=3)
    assert services.send_reminders(soon) == [f"EQ-0001 {eq.next_due} -> staff"]
    assert services.send_reminders(soon) == []
    assert services.send_reminders(eq.next_due + timedelta(days=2)) == []
    assert len(delivered) == 1 and "EQ-0001" in delivered[0].subject
    # A new due date is a new reminder.
    services.record_calibration(users["staff"], eq, today(), "pass")
    db.session.commit()
    again = services.send_reminders(eq.next_due)
    assert [line for line in again if line.startswith("EQ-0001")] == [
        f"EQ-0001 {eq.next_due} -> staff"
    ]


def test_an_undelivered_reminder_is_tried_again(users, monkeypatch):
    from qms.improvement import mail

    eq = instrument(users, calibrated_days_ago=360)
    monkeypatch.setattr(mail, "deliver", lambda message, smtp=None: False)
    assert services.send_reminders() == []
    monkeypatch.setattr(mail, "deliver", lambda message, smtp=None: True)
    assert services.send_reminders() == [f"EQ-0001 {eq.next_due} -> staff"]


def test_overdue_turns_out_of_calibration_by_the_periodic_job(users, monkeypatch):
    from qms import jobs
    from qms.improvement import mail

    monkeypatch.setattr(mail, "deliver", lambda message, smtp=None: True)
    eq = instrument(users, calibrated_days_ago=40)
    make_overdue(users, eq)
    instrument(users, calibrated_days_ago=5, months=1, name="Fine scale")
    assert services.record_problem(eq.number) is not None  # overdue even before the job
    done = jobs.run_now("equipment_due")
    assert done["overdue"] == ["EQ-0001"]
    db.session.expire_all()
    assert db.session.get(Equipment, eq.id).status == "out_of_calibration"
    assert trail.events_for("equipment", "EQ-0001")[-1].after["reason"] == "overdue"
    assert jobs.run_now("equipment_due") == {"overdue": [], "reminded": []}


def test_owner_sees_calibration_due_on_the_home_page(users, client, auth):
    instrument(users, calibrated_days_ago=360)
    auth.login("staff")
    page = client.get("/").get_data(as_text=True)
    assert "Calibration due" in page and "EQ-0001" in page
    auth.logout()
    auth.login("staff2")
    assert "Calibration due" not in client.get("/").get_data(as_text=True)


# -- record fields --------------------------------------------------------------------------


def test_an_instrument_out_of_calibration_is_refused_on_a_record(users, client, auth):
    form_in_force(users, fields=FIELDS)
    good = instrument(users)
    bad = instrument(users, name="Old scale")
    ruler = instrument(users, name="Ruler", measurement="length")
    services.change_status(users["approver"], bad, "out_of_calibration", "Drift")
    overdue = instrument(users, calibrated_days_ago=40, name="Overdue scale")
    # Its due date has passed, but the periodic job has not run yet: still "in use".
    make_overdue(users, overdue)
    assert weigh(users, good).values["scale"] == good.number
    for eq, word in ((bad, "out of calibration"), (overdue, "overdue"), ("EQ-9", "register")):
        number = eq if isinstance(eq, str) else eq.number
        with pytest.raises(ValidationFailed) as refused:
            records.submit_record(users["staff"], "RF-01", {"title": "x", "scale": number})
        assert word in refused.value.detail["scale"][0]
    # The form offers only usable instruments serving the field's measurement.
    auth.login("staff")
    page = client.get("/records/fill/RF-01").get_data(as_text=True)
    assert good.number in page
    assert bad.number not in page and overdue.number not in page and ruler.number not in page
    response = client.post(
        "/records/fill/RF-01", data={"title": "x", "scale": bad.number, "action": "submit"}
    )
    assert "out of calibration" in response.get_data(as_text=True)


def test_an_amendment_may_keep_an_instrument_since_taken_out_of_use(users, client, auth):
    form_in_force(users, fields=FIELDS)
    eq = instrument(users)
    other = instrument(users, name="Old scale")
    record = weigh(users, eq)
    services.change_status(users["approver"], eq, "withdrawn", "Scrapped")
    services.change_status(users["approver"], other, "withdrawn", "Scrapped")
    db.session.commit()
    # The amend page still shows the instrument the record names, selected; no other
    # instrument out of use is offered.
    auth.login("staff")
    page = client.get(f"/records/{record.number}/amend").get_data(as_text=True)
    assert f'value="{eq.number}" selected' in page or f'selected value="{eq.number}"' in page
    assert other.number not in page
    values = dict(record.values, weight="1.6")
    amended = records.amend_record(users["staff"], record.number, values, "Typo")
    assert amended.values["scale"] == eq.number


# -- out of tolerance -----------------------------------------------------------------------


def test_out_of_tolerance_raises_an_nc_listing_the_records_since_the_last_good_calibration(
    users,
):
    form_in_force(users, fields=FIELDS)
    eq = instrument(users, calibrated_days_ago=30)
    other = instrument(users, name="Other scale")
    before = weigh(users, eq, "Before the check")
    before.submitted_at = clock.now() - timedelta(days=3)
    db.session.commit()
    # Recalibrated yesterday: the record before it relied on the earlier good calibration.
    services.record_calibration(users["staff"], eq, today() - timedelta(days=1), "pass")
    db.session.commit()
    after = [weigh(users, eq, f"After {n}") for n in range(2)]
    weigh(users, other, "Other instrument")
    voided = weigh(users, eq, "Voided")
    records.void_record(users["approver"], voided.number, "Entered twice")
    db.session.commit()
    cal = services.record_calibration(
        users["staff"], eq, today(), "out_of_tolerance", note="Reads 0.4 % high"
    )
    db.session.commit()
    assert eq.status == "out_of_calibration"
    nc = improvement.get_nc(cal.nc_number)
    listed = [line[2:] for line in nc.description.splitlines() if line.startswith("- ")]
    assert listed == [r.number for r in after]
    assert before.number not in nc.description
    assert "Which of these measurements are affected?" in nc.description
    assert sorted(e.record_number for e in nc.evidence) == sorted(r.number for r in after)
    assert nc.clause == "7.1.5.2" and nc.responsible.username == "staff"
    # Out of calibration now: a new record may not name it.
    with pytest.raises(ValidationFailed):
        weigh(users, eq)


def test_out_of_tolerance_without_a_good_calibration_lists_every_record(users):
    form_in_force(users, fields=FIELDS)
    eq = instrument(users, calibrated_days_ago=None)
    services.record_calibration(users["staff"], eq, today() - timedelta(days=1), "out_of_tolerance")
    db.session.commit()
    cal = eq.calibrations[0]
    assert "No record names" in improvement.get_nc(cal.nc_number).description


# -- pages, export, API ---------------------------------------------------------------------


def test_register_pages_and_xlsx_export(users, client, auth):
    instrument(users)
    auth.login("approver")
    assert client.get("/equipment/").status_code == 200
    response = client.post(
        "/equipment/",
        data={
            "name": "Caliper",
            "owner": "staff",
            "measurement": "length",
            "kind": "calibration",
            "interval_value": "6",
            "interval_unit": "months",
            "last_calibrated_on": today().isoformat(),
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    refused = client.post(
        "/equipment/",
        data={
            "name": "Caliper",
            "owner": "staff",
            "measurement": "length",
            "kind": "calibration",
            "interval_value": "0",
            "interval_unit": "months",
        },
    )
    assert refused.status_code == 422
    assert "from 1 to 120" in refused.get_data(as_text=True)
    assert client.get("/equipment/EQ-0002").status_code == 200
    response = client.post(
        "/equipment/EQ-0002/calibrations",
        data={
            "performed_on": today().isoformat(),
            "result": "pass",
            "certificate": (io.BytesIO(PDF), "cert.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    eq = services.get_equipment("EQ-0002")
    cal = eq.calibrations[0]
    download = client.get(f"/equipment/EQ-0002/calibrations/{cal.id}/certificate")
    assert download.data == PDF
    download.close()
    sheet = load_workbook(io.BytesIO(client.get("/equipment/export.xlsx").data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert [r[0] for r in rows[1:]] == ["EQ-0001", "EQ-0002"]
    only = client.get("/equipment/export.xlsx?measurement=length").data
    sheet = load_workbook(io.BytesIO(only)).active
    assert [r[0] for r in sheet.iter_rows(min_row=2, values_only=True)] == ["EQ-0002"]
    auth.logout()
    auth.login("staff2")
    assert client.post("/equipment/", data={"name": "x"}).status_code == 403


def test_api_lists_creates_updates_and_records_calibrations(users, client):
    office = {"Authorization": f"Bearer {create_token(users['approver'])}"}
    owner = {"Authorization": f"Bearer {create_token(users['staff'])}"}
    other = {"Authorization": f"Bearer {create_token(users['staff2'])}"}
    db.session.commit()
    body = {
        "name": "Thermometer",
        "owner": "staff",
        "measurement": "temperature",
        "interval_value": 90,
        "interval_unit": "days",
        "last_calibrated_on": (today() - timedelta(days=85)).isoformat(),
    }
    created = client.post("/api/v1/equipment", json=body, headers=office)
    assert created.status_code == 201, created.json
    number = created.json["number"]
    assert created.json["next_due"] == (today() + timedelta(days=5)).isoformat()
    assert created.json["status"] == "in_use"
    assert client.post("/api/v1/equipment", json=body, headers=owner).status_code == 403
    bad = client.post("/api/v1/equipment", json=dict(body, interval_value=0), headers=office)
    assert bad.status_code == 422 and "interval_value" in bad.json["detail"]
    client.post("/api/v1/equipment", json=dict(body, measurement="mass"), headers=office)
    listed = client.get("/api/v1/equipment?due=due", headers=other).json
    assert [e["number"] for e in listed["items"]] == ["EQ-0001", "EQ-0002"]
    listed = client.get("/api/v1/equipment?measurement=mass", headers=other).json
    assert [e["number"] for e in listed["items"]] == ["EQ-0002"]
    changed = client.patch(
        f"/api/v1/equipment/{number}", json={"location": "Lab 2"}, headers=office
    )
    assert changed.status_code == 200 and changed.json["location"] == "Lab 2"
    assert client.get("/api/v1/equipment/EQ-9", headers=other).status_code == 404
    result = client.post(
        f"/api/v1/equipment/{number}/calibrations",
        data={
            "performed_on": today().isoformat(),
            "result": "out_of_tolerance",
            "certificate": (io.BytesIO(PDF), "cert.pdf"),
        },
        content_type="multipart/form-data",
        headers=owner,
    )
    assert result.status_code == 201, result.json
    assert result.json["nc_number"].startswith("NC-")
    assert result.json["certificate_name"] == "cert.pdf"
    as_json = client.post(
        f"/api/v1/equipment/{number}/calibrations",
        json={"performed_on": today().isoformat(), "result": "adjusted"},
        headers=owner,
    )
    assert as_json.status_code == 201
    read = client.get(f"/api/v1/equipment/{number}", headers=other).json
    assert read["status"] == "in_use" and len(read["calibrations"]) == 3
    refused = client.post(
        f"/api/v1/equipment/{number}/calibrations",
        json={"performed_on": today().isoformat(), "result": "adjusted"},
        headers=other,
    )
    assert refused.status_code == 403
    status = client.post(
        f"/api/v1/equipment/{number}/status",
        json={"status": "withdrawn", "reason": "Broken"},
        headers=owner,
    )
    assert status.status_code == 200 and status.json["status"] == "withdrawn"
    again = client.post(
        f"/api/v1/equipment/{number}/status",
        json={"status": "out_of_calibration", "reason": "x"},
        headers=owner,
    )
    assert again.status_code == 409
    spec = client.get("/api/v1/openapi.json").json
    assert "/api/v1/equipment/{number}/calibrations" in spec["paths"]


# -- management review ----------------------------------------------------------------------


def test_management_review_shows_equipment_figures_that_match_the_data(users):
    from qms.reviews import inputs
    from qms.reviews import services as reviews
    from tests.test_reviews_meeting import START, plan

    due_soon = instrument(users, calibrated_days_ago=360, name="Due soon")
    instrument(users, calibrated_days_ago=10, name="Fine")
    overdue = instrument(users, calibrated_days_ago=40, name="Overdue")
    make_overdue(users, overdue)
    gone = instrument(users, calibrated_days_ago=10, name="Scrapped")
    services.change_status(users["approver"], gone, "withdrawn", "Scrapped")
    # Calibrations in the period: those the instruments were registered with (but the one
    # of "Due soon", a year ago), and Flaky's pass then out-of-tolerance result.
    assert due_soon.calibrations[0].performed_on < START
    flaky = instrument(users, calibrated_days_ago=None, name="Flaky")
    services.record_calibration(users["staff"], flaky, today() - timedelta(days=3), "pass")
    cal = services.record_calibration(
        users["staff"], flaky, today() - timedelta(days=2), "out_of_tolerance"
    )
    db.session.commit()
    got = reviews.prepare(users["approver"], plan(users)).inputs
    assert inputs.figure(got, "resources.equipment") == 4
    assert inputs.figure(got, "resources.equipment_due") == 1
    assert inputs.figure(got, "resources.equipment_overdue") == 1
    assert inputs.figure(got, "resources.calibrations") == 5
    assert inputs.figure(got, "resources.out_of_tolerance") == 1
    resources = next(s for s in got["sections"] if s["key"] == "resources")
    item = next(i for i in resources["items"] if i["kind"] == "equipment")
    assert item["key"] == flaky.number and cal.nc_number in item["text"]


def test_an_instrument_is_found_by_search_as_it_is_written(users):
    from qms import search

    eq = instrument(users, serial="SN-77812", location="Weighing room 3")
    hits = search.search("SN-77812", types=["equipment"]).items
    assert [(h.type, h.key) for h in hits] == [("equipment", eq.number)]
    assert hits[0].url.endswith(f"/equipment/{eq.number}")
    services.update_equipment(users["approver"], eq, location="Archive")
    db.session.commit()
    assert search.search("Archive", types=["equipment"]).items[0].key == eq.number
    assert search.reindex(["equipment"]) == {"equipment": 1}
