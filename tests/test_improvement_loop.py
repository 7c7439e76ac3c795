"""The whole loop: an NC drives a procedure change through release to a verified closure."""

import re

import pytest

from qms.documents import services as documents
from qms.errors import Conflict
from qms.improvement import services
from tests.builders import content, effective
from tests.builders_improvement import SOON
from tests.conftest import PASSWORD


def test_nc_to_procedure_change_to_release_to_verified_closure(users, client, auth):
    effective(
        users, "QP-07", text=content("QP-07", body="# Document control\n\nForms are issued.\n")
    )
    # Raised by staff, against the procedure in force (revision A).
    nc = services.raise_nc(
        users["staff"],
        "Obsolete form used at window 3",
        "An application was accepted on a superseded form.",
        "internal_audit",
        clause="7.5.3",
        severity="major",
        documents=["QP-07"],
    )
    services.assign(users["approver"], nc, "author", SOON)
    services.transition(users["author"], nc, "containment")
    services.transition(
        users["author"], nc, "analysis", containment="Superseded forms removed from counters."
    )
    services.record_analysis(
        users["author"],
        nc,
        ["The old form was still on the counter.", "Nobody withdraws superseded forms."],
        "method",
        "QP-07 does not say who withdraws superseded forms.",
    )
    services.transition(users["approver"], nc, "action_plan")

    # A corrective action that changes the procedure, through a change request.
    action = services.create_action(
        users["author"],
        "corrective",
        "Make withdrawal of superseded forms a step of QP-07",
        "author2",
        SOON,
        nonconformity=nc.number,
        effectiveness_criteria="No superseded form found in three spot checks.",
    )
    cr_number = services.request_document_change(
        users["author"], action, ["QP-07"], "Add a withdrawal step."
    )
    cr = documents.get_change_request(cr_number)
    assert cr.source_ref == action.number
    services.transition(users["approver"], nc, "implementation")
    services.action_transition(users["author2"], action, "in_progress")
    # The action cannot be finished before the revision is released.
    with pytest.raises(Conflict) as exc:
        services.action_transition(users["author2"], action, "done", note="Drafted.")
    assert cr_number in exc.value.message

    # The procedure is revised citing the change request, approved and released.
    documents.decide_change_request(users["approver"], cr, accept=True)
    doc = documents.get_document("QP-07")
    documents.open_draft(users["author2"], doc, change_request=cr_number)
    revised = content(
        "QP-07",
        body="# Document control\n\nForms are issued. Superseded forms are withdrawn at once.\n",
    )
    documents.save_draft(users["author2"], doc, revised, "Withdraw superseded forms")
    documents.submit(users["author2"], doc)
    documents.approve(users["approver"], doc, PASSWORD)
    rev = documents.release(users["approver"], doc)
    assert rev.label == "B" and rev.status == "effective"

    # The action records the release; someone else verifies it; the NC closes.
    services.action_transition(users["author2"], action, "done", note="QP-07 B released.")
    assert (action.released_document, action.released_revision) == ("QP-07", "B")
    assert action.released_commit == rev.release_commit
    assert action.released_on == rev.effective_date
    services.transition(users["author"], nc, "effectiveness_check")
    services.action_transition(
        users["auditor"], action, "verified_effective", result="Three spot checks clean."
    )
    services.transition(users["approver"], nc, "closed", result="No recurrence; effective.")
    assert nc.state == "closed"
    assert documents.get_change_request(cr_number).status == "implemented"

    # The NC page shows the whole chain, down to the redline of the changed procedure.
    auth.login("staff")
    html = client.get(f"/improvement/{nc.number}").text
    for expected in (
        "QP-07",
        "revision A in force",
        "The old form was still on the counter.",
        action.number,
        cr_number,
        rev.release_commit[:10],
        "Three spot checks clean.",
        "No recurrence; effective.",
    ):
        assert expected in html, expected
    diff_link = re.search(r'href="(/documents/QP-07/diff\?[^"]+)"', html).group(1)
    assert diff_link.replace("&amp;", "&") in (
        "/documents/QP-07/diff?from=A&to=B",
        "/documents/QP-07/diff?to=B&from=A",
    )
    from qms.documents.redline import redline

    result = redline(
        documents.revision_content(documents.get_revision(doc, "A")),
        documents.revision_content(rev),
    )
    assert result.words_added > 0
    added, removed = result.words_added, result.words_removed
    assert f"{added} word{'s' if added != 1 else ''} added" in html
    assert f"{removed} word{'s' if removed != 1 else ''} removed" in html
    assert "−" not in html  # counts, never negative numbers
    redline = client.get(diff_link.replace("&amp;", "&")).text
    assert "<ins>" in redline and "withdrawn" in redline
    # The timeline tells the story in order, and the action page shows the release.
    steps = [e.action for e in services.timeline(nc)]
    assert steps.index("nc.raised") < steps.index("action.change_requested") < len(steps) - 1
    assert steps[-1] == "nc.transition"
    action_html = client.get(f"/improvement/actions/{action.id}").text
    assert rev.release_commit in action_html and cr_number in action_html
