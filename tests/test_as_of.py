"""The system as in force on any date, and what changed between two dates, from main's history."""

import io
import zipfile
from datetime import timedelta

import pytest

from qms import clock
from qms.auth.services import create_token
from qms.documents import history, services
from qms.extensions import db
from qms.gitstore import MAIN
from qms.uow import store
from tests.builders import approved, content

FIELDS_A = "fields:\n  - {key: name, label: Name, type: text}\n"
FIELDS_B = (
    "fields:\n  - {key: name, label: Full name, type: text}\n"
    "  - {key: phone, label: Phone, type: text}\n"
)


def form_text(code: str, fields: str, title: str = "Visitor log") -> str:
    return (
        f"---\ncode: {code}\ntitle: {title}\ntype: record_form\nparent: QP-07\n"
        f"clauses: ['7.5']\n{fields}---\n\n# {title}\n"
    )


def release_on(users, code, day, text, **kw):
    """Release a revision of ``code`` effective on ``day`` (a past day: loading history)."""
    doc = approved(users, code, text, **kw)
    services.release(users["approver"], doc, day, allow_past=True)
    db.session.commit()
    return doc


@pytest.fixture
def days(ctx):
    today = clock.today()
    return {
        "d1": today - timedelta(days=30),
        "d2": today - timedelta(days=20),
        "d3": today - timedelta(days=10),
        "today": today,
    }


@pytest.fixture
def system(users, days):
    """QP-07 A on d1, B on d2, C on d3; WI-01 new on d2 and obsoleted today; a form on d1/d3."""
    release_on(users, "QP-07", days["d1"], content("QP-07", "Document control", "# A\n\nFirst."))
    release_on(
        users,
        "RF-01",
        days["d1"],
        form_text("RF-01", FIELDS_A),
        doc_type="record_form",
        title="Visitor log",
    )
    release_on(users, "QP-07", days["d2"], content("QP-07", "Document control", "# B\n\nSecond."))
    release_on(
        users,
        "WI-01",
        days["d2"],
        content("WI-01", "Counter work", "# W\n\nWork.", doc_type="work_instruction"),
        doc_type="work_instruction",
        title="Counter work",
    )
    release_on(
        users, "QP-07", days["d3"], content("QP-07", "Control of documents", "# C\n\nThird.")
    )
    release_on(
        users,
        "RF-01",
        days["d3"],
        form_text("RF-01", FIELDS_B),
        doc_type="record_form",
        title="Visitor log",
    )
    services.obsolete(users["approver"], services.get_document("WI-01"), "Merged into QP-07")
    db.session.commit()
    return days


@pytest.fixture
def api(client, users):
    token = create_token(users["staff"])
    db.session.commit()

    def get(path):
        return client.get(f"/api/v1{path}", headers={"Authorization": f"Bearer {token}"})

    return get


def test_each_date_shows_the_revisions_in_force_then(system):
    """The service reads main's history, so each day has the revision released by then."""
    d = system
    assert history.state_as_of(d["d1"] - timedelta(days=1)).documents == {}
    in_force = {
        day: {c: i.revision for c, i in history.state_as_of(d[day]).documents.items()}
        for day in ("d1", "d2", "d3")
    }
    assert in_force["d1"] == {"QP-07": "A", "RF-01": "A"}
    assert in_force["d2"] == {"QP-07": "B", "RF-01": "A", "WI-01": "A"}
    assert in_force["d3"] == {"QP-07": "C", "RF-01": "B", "WI-01": "A"}
    # The day before the next release still shows the earlier one: end of day, not a range.
    assert history.state_as_of(d["d2"] - timedelta(days=1)).documents["QP-07"].revision == "A"
    assert "Second." in history.document_as_of("QP-07", d["d2"]).text()
    assert history.document_as_of("QP-07", d["d2"]).title == "Document control"
    assert history.document_as_of("QP-07", d["d3"]).title == "Control of documents"


def test_state_comes_from_git_not_from_database_rows(system):
    """Editing the register's rows does not change what was in force."""
    doc = services.get_document("QP-07")
    doc.current_revision = "Z"
    doc.title = "Tampered"
    db.session.commit()
    item = history.document_as_of("QP-07", system["d2"])
    assert item.revision == "B" and item.title == "Document control"


def test_obsoleted_document_disappears_after_its_obsoletion(system):
    d = system
    assert "WI-01" in history.state_as_of(d["today"] - timedelta(days=1)).documents
    assert "WI-01" not in history.state_as_of(d["today"]).documents


def test_an_obsoletion_counts_on_the_offices_day_not_the_commit_time(users, monkeypatch):
    """The obsoletion commit carries its day, as a release does: a frozen clock is followed."""
    today = clock.today()
    release_on(users, "QP-07", today - timedelta(days=9), content("QP-07"))
    withdrawn = today - timedelta(days=3)
    monkeypatch.setattr(clock, "today", lambda: withdrawn)
    services.obsolete(users["approver"], services.get_document("QP-07"), "Replaced")
    db.session.commit()
    assert "QP-07" in history.state_as_of(withdrawn - timedelta(days=1)).documents
    assert "QP-07" not in history.state_as_of(withdrawn).documents


def test_main_history_is_read_once_and_then_only_what_is_new(system, users, monkeypatch):
    """Pages ask git for main's log again only after main moved, and then only the new part."""
    history.main_history()
    calls = []
    real = type(store()).first_parent_changes

    def spy(self, ref=MAIN):
        calls.append(ref)
        return real(self, ref)

    monkeypatch.setattr(type(store()), "first_parent_changes", spy)
    for day in system.values():
        history.state_as_of(day)
    assert calls == []
    old = store().head(MAIN)
    release_on(users, "QP-07", system["today"], content("QP-07", "Document control", "# D\n"))
    assert history.state_as_of(system["today"]).documents["QP-07"].revision == "D"
    assert calls == [f"{old}..{MAIN}"]
    assert history.state_as_of(system["d3"]).documents["QP-07"].revision == "C"


def test_main_moved_back_is_read_again_in_full(system):
    """A main that was rewound is not mistaken for the history read before."""
    first = history.main_history()
    back = first[-3].sha
    store().publish_refs([(MAIN, back, store().head(MAIN))])
    assert [c.sha for c in history.main_history()] == [c.sha for c in first[:-2]]
    assert "WI-01" in history.state_as_of(system["today"]).documents


def test_register_page_as_of_each_date(system, auth, client):
    auth.login("staff")
    d = system
    page = client.get(f"/documents/?as_of={d['d2']}").get_data(as_text=True)
    assert f"As in force on {d['d2']}" in page
    assert 'type="date"' in page and 'href="/documents/"' in page
    assert "WI-01" in page and "QP-07" in page
    assert ">B</td>" in page
    page = client.get(f"/documents/?as_of={d['d1']}").get_data(as_text=True)
    assert ">A</td>" in page and "WI-01" not in page
    page = client.get(f"/documents/?as_of={d['today']}").get_data(as_text=True)
    assert "WI-01" not in page and ">C</td>" in page
    # Today's register offers the picker too.
    assert 'name="as_of"' in client.get("/documents/").get_data(as_text=True)


def test_document_page_as_of_shows_the_text_then(system, auth, client):
    auth.login("staff")
    d = system
    page = client.get(f"/documents/QP-07?as_of={d['d1']}").get_data(as_text=True)
    assert "First." in page and "Third." not in page and f"As in force on {d['d1']}" in page
    page = client.get(f"/documents/QP-07?as_of={d['d3']}").get_data(as_text=True)
    assert "Third." in page and "Control of documents" in page
    page = client.get(f"/documents/WI-01?as_of={d['today']}").get_data(as_text=True)
    assert "WI-01 was not in force on" in page
    page = client.get(f"/documents/QP-07?as_of={d['d1'] - timedelta(days=1)}")
    assert page.status_code == 200 and "was not in force" in page.get_data(as_text=True)


def test_hierarchy_page_as_of(system, auth, client):
    auth.login("staff")
    d = system
    page = client.get(f"/documents/tree?as_of={d['d1']}").get_data(as_text=True)
    assert "RF-01" in page and "WI-01" not in page
    # The form names QP-07 as its parent in its front matter, so it sits beneath it.
    assert page.index("QP-07") < page.index("RF-01")
    assert "--depth: 1" in page
    page = client.get(f"/documents/tree?as_of={d['d2']}").get_data(as_text=True)
    assert "WI-01" in page


@pytest.mark.parametrize("bad", ["2026-13-01", "yesterday", "2026-1-1", "0000-00-00", "9" * 60])
def test_bad_dates_answer_400_on_pages(users, auth, client, bad):
    auth.login("staff")
    for path in ("/documents/", "/documents/tree", "/documents/QP-07", "/documents/export"):
        response = client.get(f"{path}?as_of={bad}")
        assert response.status_code == 400, path
        assert "is not a date" in response.get_data(as_text=True)


def test_future_date_shows_today_with_a_message(system, auth, client):
    auth.login("staff")
    page = client.get(f"/documents/?as_of={system['today'] + timedelta(days=400)}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f"As in force on {system['today']}" in text
    assert "A date in the future shows the system as it stands today." in text


def test_controlled_copy_as_in_force_on_a_date(system, auth, client):
    auth.login("staff")
    response = client.get(f"/documents/export?as_of={system['d2']}")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert f"as-in-force-on-{system['d2']}" in response.headers["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    assert f"as in force on {system['d2']}" in archive.read("README.txt").decode()
    register = archive.read("register.csv").decode("utf-8-sig")
    assert f"as in force on {system['d2']}" in register and "WI-01" in register
    assert "Second." in archive.read("procedures/QP-07.md").decode()
    assert "record-forms/RF-01.md" in archive.namelist()
    response = client.get(f"/documents/?as_of={system['d1']}&format=csv")
    register = response.get_data(as_text=True)
    assert response.mimetype == "text/csv" and f"as in force on {system['d1']}" in register
    assert "QP-07" in register and "WI-01" not in register


def test_api_as_of(system, api):
    d = system
    body = api(f"/documents?as_of={d['d2']}").json
    assert {i["code"]: i["revision"] for i in body["items"]} == {
        "QP-07": "B",
        "RF-01": "A",
        "WI-01": "A",
    }
    assert body["as_of"] == d["d2"].isoformat() and body["total"] == 3
    body = api(f"/documents?as_of={d['today']}&type=procedure").json
    assert [(i["code"], i["revision"]) for i in body["items"]] == [("QP-07", "C")]
    body = api(f"/documents/QP-07?as_of={d['d1']}").json
    assert body["revision"] == "A" and "First." in body["content"]
    assert [r["revision"] for r in body["revisions"]] == ["A"]
    body = api(f"/documents/QP-07?as_of={d['d3']}").json
    assert [r["revision"] for r in body["revisions"]] == ["A", "B", "C"]
    assert api(f"/documents/WI-01?as_of={d['today']}").status_code == 404
    # Without as_of the register answers as before.
    assert "next_review_due" in api("/documents").json["items"][0]


@pytest.mark.parametrize(
    "path",
    [
        "/documents?as_of=2026-02-30",
        "/documents/QP-07?as_of=x",
        "/changes?from=2026-99-01",
        "/changes?to=soon",
    ],
)
def test_bad_dates_answer_400_in_the_api(users, api, path):
    response = api(path)
    assert response.status_code == 400
    assert "is not a date" in response.json["error"]


def test_unknown_preset_answers_400(users, api, auth, client):
    assert api("/changes?since=lunch").status_code == 400
    auth.login("staff")
    response = client.get("/documents/changes?since=lunch")
    assert response.status_code == 400 and "Since can be review or audit." in response.text


def test_changes_between_two_dates(system):
    d = system
    result = history.changes_between(d["d2"], d["d3"])
    assert [c.code for c in result.new] == ["WI-01"]
    assert [(c.code, c.before.revision, c.after.revision) for c in result.revised] == [
        ("QP-07", "A", "C"),
        ("RF-01", "A", "B"),
    ]
    assert result.obsoleted == []
    (form,) = result.forms_changed
    assert form.code == "RF-01"
    assert form.fields_added == ["phone"] and form.fields_changed == ["name"]
    assert form.fields_removed == []
    result = history.changes_between(d["d3"] + timedelta(days=1), d["today"])
    assert [c.code for c in result.obsoleted] == ["WI-01"]
    assert result.new == [] and result.revised == []
    result = history.changes_between(d["d1"], d["d1"])
    assert sorted(c.code for c in result.new) == ["QP-07", "RF-01"]


def test_changes_page_links_the_redlines(system, auth, client):
    auth.login("staff")
    d = system
    page = client.get(f"/documents/changes?from={d['d2']}&to={d['d3']}").get_data(as_text=True)
    assert "/documents/QP-07/diff?from=A&amp;to=C" in page
    assert "/documents/RF-01/diff?from=A&amp;to=B" in page
    assert "WI-01" in page and "phone" in page
    # The redline it links to works.
    assert client.get("/documents/QP-07/diff?from=A&to=C").status_code == 200
    response = client.get(f"/documents/changes?from={d['d3']}&to={d['d2']}")
    assert response.status_code == 400
    assert client.get("/documents/changes?from=nope").status_code == 400


def test_changes_api(system, api):
    d = system
    body = api(f"/changes?from={d['d2']}&to={d['d3']}").json
    assert [c["code"] for c in body["new"]] == ["WI-01"]
    assert [c["code"] for c in body["revised"]] == ["QP-07", "RF-01"]
    assert body["revised"][0]["redline"] == "/api/v1/documents/QP-07/diff?from=A&to=C"
    assert body["forms_changed"][0]["fields_added"] == ["phone"]
    body = api(f"/changes?from={d['today']}").json
    assert [c["code"] for c in body["obsoleted"]] == ["WI-01"]


def test_changes_since_the_last_management_review_and_audit(system, auth, client, api, users):
    from qms.audits.models import Audit
    from qms.reviews.models import Review

    d = system
    db.session.add(
        Review(
            number="MR-1",
            title="Review",
            planned_on=d["d2"],
            period_start=d["d1"],
            period_end=d["d2"],
            chair_id=users["approver"].id,
            state="held",
            held_on=d["d2"],
            created_by_id=users["approver"].id,
        )
    )
    db.session.add(
        Audit(
            ref="IA-1",
            year=d["d1"].year,
            title="Audit",
            lead_auditor_id=users["approver"].id,
            planned_start=d["d3"] - timedelta(days=2),
            planned_end=d["d3"],
            state="closed",
            created_by_id=users["approver"].id,
        )
    )
    db.session.commit()
    body = api("/changes?since=review").json
    assert body["from"] == (d["d2"] + timedelta(days=1)).isoformat()
    assert [c["code"] for c in body["revised"]] == ["QP-07", "RF-01"]
    assert [c["code"] for c in body["obsoleted"]] == ["WI-01"]
    body = api("/changes?since=audit").json
    assert body["from"] == (d["d3"] + timedelta(days=1)).isoformat()
    assert body["revised"] == [] and [c["code"] for c in body["obsoleted"]] == ["WI-01"]
    auth.login("staff")
    page = client.get("/documents/changes?since=review").get_data(as_text=True)
    assert "since management review MR-1" in page


def test_review_page_links_to_changes_in_its_period(system, auth, client, users):
    from qms.reviews import services as reviews

    d = system
    review = reviews.plan_review(
        users["admin"], "Review", d["today"], "approver", ["author"], d["d1"], d["d3"]
    )
    db.session.commit()
    auth.login("approver")
    page = client.get(f"/reviews/{review.number}").get_data(as_text=True)
    assert f"/documents/changes?from={d['d1']}&amp;to={d['d3']}" in page


def test_openapi_documents_as_of_and_changes(client):
    spec = client.get("/api/v1/openapi.json").json
    params = spec["paths"]["/api/v1/documents"]["get"]["parameters"]
    assert any(p["name"] == "as_of" for p in params)
    assert "/api/v1/changes" in spec["paths"]
