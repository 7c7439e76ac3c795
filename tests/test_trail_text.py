"""Trails told in sentences: display names, field labels, before → after; hashes on request."""

import ast
import re
from pathlib import Path

import pytest
from flask_babel import refresh

from qms import ROOT, trail_text
from qms.extensions import db
from qms.improvement import services as improvement
from qms.records import services as records
from tests.builders import effective
from tests.builders_improvement import raised
from tests.builders_records import form_in_force, submit


def _timeline(page: str) -> str:
    """Return the trail's list of a page (the <ol class="timeline"> and what it holds)."""
    start = page.index('<ol class="timeline">')
    return page[start : page.index("</ol>", start)]


def _visible(html: str) -> str:
    """Drop the verify toggles' contents: what a reader sees without asking to verify."""
    return re.sub(r"<details.*?</details>", "", html, flags=re.S)


def _names(users):
    users["author"].full_name = "Alan Writer"
    users["staff"].full_name = "Sam Clerk"
    db.session.commit()


def _recorded_actions() -> set[str]:
    """Every action name a ``trail.record(...)`` call in the package can write."""
    found = set()
    for path in Path(ROOT, "qms").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "record"
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "trail"
                and node.args
            ):
                continue
            first = node.args[0]
            options = [first.body, first.orelse] if isinstance(first, ast.IfExp) else [first]
            found.update(o.value for o in options if isinstance(o, ast.Constant))
    return found


def test_every_event_the_system_records_has_a_sentence():
    actions = _recorded_actions()
    assert len(actions) > 90
    assert sorted(actions - set(trail_text.ACTIONS)) == []


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("en", ["Sam Clerk", "raised the nonconformity", "Responsible", "Alan Writer", "minor"]),
        (
            "zh_Hans",
            ["Sam Clerk", "登记了不符合项", "责任人", "Alan Writer", "<del>已报告</del> → "],
        ),
        ("zh_Hant", ["Sam Clerk", "登記了不符合事項", "責任人", "Alan Writer"]),
    ],
)
def test_an_nc_trail_reads_as_sentences_with_display_names_and_labels(
    users, client, auth, lang, words
):
    _names(users)
    effective(users, "QP-07")
    nc = raised(users, documents=["QP-07"], severity="minor")
    improvement.transition(users["author"], nc, "containment")
    refresh()
    auth.login("staff")
    client.post(f"/language/{lang}")
    page = client.get(f"/improvement/{nc.number}").get_data(as_text=True)
    shown = _visible(_timeline(page))
    for word in words:
        assert word in shown, word
    # No Python lists or dicts, no raw codes, no user names where a person is meant.
    assert "['" not in shown and "{'" not in shown
    assert "staff_report" not in shown and "responsible:" not in shown
    assert ">author<" not in shown and " author " not in shown
    # The chain's hashes are there, behind the verify toggle only.
    event = [e for e in improvement.timeline(nc)][-1]
    assert event.hash not in shown and event.hash in _timeline(page)
    assert "<details" in _timeline(page)


def test_a_record_trail_names_fields_by_their_form_labels_before_and_after(users, client, auth):
    _names(users)
    form_in_force(users)
    record = submit(users, title="Before", channel="phone", checks=["a", "b"])
    records.amend_record(
        users["staff"], record.number, {**record.values, "title": "After"}, "Typing error"
    )
    auth.login("staff")
    page = client.get(f"/records/{record.number}").get_data(as_text=True)
    shown = _visible(_timeline(page))
    assert "Sam Clerk" in shown and "amended the record" in shown
    assert "Title" in shown and "<del>Before</del> → After" in shown
    assert "Reason" in shown and "Typing error" in shown
    assert "['" not in shown and "{'" not in shown and "values" not in shown


def test_an_audit_trail_joins_lists_and_names_the_lead_auditor(users, client, auth):
    from tests.builders_audits import plan

    users["auditor"].full_name = "Ada Checker"
    db.session.commit()
    audit = plan(users)
    auth.login("auditor")
    page = client.get(f"/audits/{audit.ref}").get_data(as_text=True)
    shown = _visible(_timeline(page))
    assert "planned the audit" in shown and "Lead auditor" in shown and "Ada Checker" in shown
    assert "['" not in shown and "departments:" not in shown and "lead_auditor" not in shown


def test_reviews_complaints_and_providers_show_their_trails_in_sentences(users, client, auth):
    from datetime import timedelta

    from qms import clock
    from qms.reviews import feedback
    from qms.reviews import services as reviews
    from qms.suppliers import services as suppliers

    _names(users)
    review = reviews.plan_review(
        users["admin"],
        title="Annual review",
        planned_on=clock.today(),
        chair="approver",
        attendees=["author"],
        period_start=clock.today() - timedelta(days=30),
        period_end=clock.today(),
    )
    complaint = feedback.register_complaint(
        users["staff"], "hotline", clock.today(), "Waited an hour.", "Service Hall"
    )
    provider = suppliers.add_supplier(
        users["approver"],
        "Swift Courier Ltd",
        "Delivery of licences",
        "author",
        status="approved",
        criteria=[{"name": "Quality", "weight": 3}, {"name": "On time", "weight": 1}],
    )
    db.session.commit()
    auth.login("approver")
    pages = {
        f"/reviews/{review.number}": ["planned the management review", "Alan Writer"],
        f"/complaints/{complaint.number}": ["registered the complaint", "Sam Clerk", "hotline"],
        f"/suppliers/{provider.number}": ["added the provider", "Owner", "Alan Writer"],
    }
    for path, words in pages.items():
        page = client.get(path).get_data(as_text=True)
        shown = _visible(_timeline(page))
        for word in words:
            assert word in shown, (path, word)
        assert "['" not in shown and "{'" not in shown and "[[" not in shown, path
