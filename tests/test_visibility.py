"""Object rules: staff see their own department's records and complaints; some roles all.

Every surface asks the one table in :mod:`qms.auth.visibility`: the record list, the
record page, its copy, the CSV and XLSX exports, search (page and API), the record API,
and the complaint list and page. Out of sight answers 404, as for a number never issued.
"""

import csv
import io
from datetime import timedelta
from urllib.parse import quote

import pytest
from openpyxl import load_workbook

from qms import clock
from qms.auth import visibility
from qms.auth.services import create_token
from qms.reviews import feedback
from qms.search import services as search
from tests.builders_records import form_in_force, submit

TODAY = clock.today() - timedelta(days=1)


@pytest.fixture
def seeded(users):
    """A record and a complaint of the Service Hall, raised by Service Hall staff."""
    form_in_force(users)
    record = submit(users, title="Zebracrossing check")
    complaint = feedback.register_complaint(
        users["staff"], "phone", TODAY, "Queue too long, Mrs Wang 13800000000", "Service Hall"
    )
    return record, complaint


def test_every_role_has_a_row_in_the_one_table():
    from qms.auth.models import ROLES

    assert set(visibility.VISIBILITY) == set(ROLES)
    for role, kinds in visibility.VISIBILITY.items():
        assert set(kinds) == set(visibility.KINDS), role


@pytest.mark.parametrize(
    "username, sees",
    [
        ("staff", True),  # Service Hall, submitted it
        ("author2", True),  # Service Hall, did not submit it
        ("staff2", False),  # Quality Office
        ("author", False),  # Quality Office
        ("auditor", True),
        ("approver", True),
        ("admin", True),
    ],
)
def test_records_pages_show_only_what_the_role_may_see(seeded, client, auth, users, username, sees):
    record, _complaint = seeded
    auth.login(username)
    listed = client.get("/records/all").get_data(as_text=True)
    assert (record.number in listed) is sees
    assert (record.number in client.get("/records/").get_data(as_text=True)) is sees
    assert client.get(f"/records/{record.number}").status_code == (200 if sees else 404)
    assert client.get(f"/records/{record.number}/amend").status_code in (
        (200, 403) if sees else (404,)
    )
    exported = client.get("/records/all?format=csv")
    assert exported.status_code == 200
    rows = list(csv.reader(io.StringIO(exported.get_data(as_text=True).lstrip("\ufeff"))))
    assert any(record.number in row for row in rows) is sees
    book = load_workbook(io.BytesIO(client.get("/records/all?format=xlsx").data))
    cells = [c.value for row in book.active.iter_rows() for c in row]
    assert (record.number in cells) is sees
    found = client.get("/search/?q=Zebracrossing").get_data(as_text=True)
    assert (record.number in found) is sees


def test_a_staff_member_cannot_open_another_departments_record_copy_or_void_it(
    seeded, client, auth
):
    record, _complaint = seeded
    auth.login("staff2")
    assert client.get(f"/records/{record.number}/copy?format=pdf").status_code == 404
    client.post(f"/records/{record.number}/void", data={"reason": "mine now"})
    assert record.status != "void"


def test_the_record_api_and_search_api_follow_the_same_table(seeded, client, users):
    record, _complaint = seeded
    for username, sees in (("staff2", False), ("staff", True), ("auditor", True)):
        headers = {"Authorization": f"Bearer {create_token(users[username])}"}
        listed = client.get("/api/v1/records", headers=headers).get_json()
        assert (record.number in {r["number"] for r in listed["items"]}) is sees
        one = client.get(f"/api/v1/records/{quote(record.number, safe='')}", headers=headers)
        assert one.status_code == (200 if sees else 404)
        hits = client.get("/api/v1/search?q=Zebracrossing", headers=headers).get_json()
        assert (record.number in {h["key"] for h in hits["items"]}) is sees
        assert hits["total"] == (1 if sees else 0)
        linked = client.post(
            f"/api/v1/records/{quote(record.number, safe='')}/links",
            json={"target_type": "nonconformity", "target_key": "NC-2026-0001"},
            headers=headers,
        )
        assert linked.status_code == (201 if sees else 404)


def test_search_counts_only_what_the_viewer_may_see(seeded, users):
    assert search.search("Zebracrossing").total == 1  # no viewer: the whole index
    assert search.search("Zebracrossing", viewer=users["staff2"]).total == 0
    assert search.search("Zebracrossing", viewer=users["approver"]).total == 1


@pytest.mark.parametrize(
    "username, sees",
    [
        ("staff", True),
        ("author2", True),
        ("staff2", False),
        ("author", False),
        ("auditor", True),
        ("approver", True),
        ("admin", True),
    ],
)
def test_complaints_and_their_personal_data_stay_in_the_department(
    seeded, client, auth, username, sees
):
    _record, complaint = seeded
    auth.login(username)
    listed = client.get("/complaints/").get_data(as_text=True)
    assert (complaint.number in listed) is sees
    page = client.get(f"/complaints/{complaint.number}")
    assert page.status_code == (200 if sees else 404)
    assert ("13800000000" in page.get_data(as_text=True)) is sees


def test_the_person_who_registered_a_complaint_for_another_department_still_sees_it(
    users, client, auth
):
    complaint = feedback.register_complaint(
        users["staff2"], "window", TODAY, "Wrong form given.", "Service Hall"
    )
    auth.login("staff2")  # Quality Office, registered it at the desk
    assert client.get(f"/complaints/{complaint.number}").status_code == 200
    auth.logout()
    auth.login("author")  # Quality Office too, but did not register it
    assert client.get(f"/complaints/{complaint.number}").status_code == 404


def test_an_nc_cannot_be_raised_from_a_complaint_out_of_sight(seeded, client, auth):
    _record, complaint = seeded
    auth.login("author")
    assert client.post(f"/complaints/{complaint.number}/nc").status_code in (302, 404)
    assert feedback.get_complaint(complaint.number).nc_number is None


def test_a_records_attached_file_follows_the_record(users, client, auth):
    """The file of a Service Hall record: its department and the all-seeing roles only."""
    from tests.test_records_pages import post_with_file

    form_in_force(users)
    auth.login("staff")
    response = post_with_file(
        client, "/records/fill/RF-01", {"title": "With file"}, b"%PDF-1.4 scan", "scan.pdf"
    )
    assert response.status_code == 302
    from qms.extensions import db
    from qms.records.models import Record

    record = db.session.scalar(db.select(Record))
    url = f"/records/attachments/{record.values['file']}"
    auth.logout()
    for username, status in (("staff2", 404), ("author2", 200), ("auditor", 200), ("staff", 200)):
        auth.login(username)
        with client.get(url) as download:
            assert download.status_code == status, username
        auth.logout()
