"""The pages offer a step only when the server's rules (the same can_<verb>) allow it."""

from qms.documents import services as documents
from qms.improvement import services as improvement
from tests.builders import effective, in_review
from tests.builders_improvement import action_for, analysed, in_action_plan


def test_the_author_is_not_offered_sign_as_reviewed(users, client, auth):
    in_review(users)
    auth.login("author")
    page = client.get("/documents/QP-07").get_data(as_text=True)
    assert "Sign as reviewed" not in page
    auth.logout()
    auth.login("staff")
    assert "Sign as reviewed" in client.get("/documents/QP-07").get_data(as_text=True)


def test_the_effectiveness_check_is_not_offered_while_actions_are_open(users, client, auth):
    nc = in_action_plan(users)
    action = action_for(users, nc, owner="author2")
    nc = improvement.transition(users["approver"], nc, "implementation")
    auth.login("author")
    page = client.get(f"/improvement/{nc.number}").get_data(as_text=True)
    assert "Actions finished: ask for the effectiveness check" not in page
    assert "still open" in page and action.number in page
    # The server refuses it too, with its reason.
    response = client.post(
        f"/improvement/{nc.number}/transition",
        data={"t-effectiveness_check-to": "effectiveness_check"},
    )
    assert "Actions not finished yet" in response.get_data(as_text=True)
    improvement.action_transition(users["author2"], action, "done", note="Done.")
    page = client.get(f"/improvement/{nc.number}").get_data(as_text=True)
    assert "Actions finished: ask for the effectiveness check" in page and "still open" not in page


def test_the_responsible_approver_is_not_offered_to_accept_their_own_analysis(users, client, auth):
    nc = analysed(users, responsible="approver2")
    auth.login("approver2")
    assert "Accept the analysis" not in client.get(f"/improvement/{nc.number}").get_data(
        as_text=True
    )
    auth.logout()
    auth.login("approver")
    assert "Accept the analysis" in client.get(f"/improvement/{nc.number}").get_data(as_text=True)


def test_an_accepted_change_request_links_to_starting_the_revision(users, client, auth):
    doc = effective(users, "QP-07")
    cr = documents.raise_change_request(users["staff"], "Fix step 3", "Wrong order", ["QP-07"])
    auth.login("author")
    assert "Start the revision" not in client.get(
        f"/documents/change-requests/{cr.number}"
    ).get_data(as_text=True)
    documents.decide_change_request(users["approver"], cr, accept=True)
    page = client.get(f"/documents/change-requests/{cr.number}").get_data(as_text=True)
    assert "Start the revision of QP-07" in page
    auth.logout()
    auth.login("staff")  # not an author: nothing to start
    assert "Start the revision" not in client.get(
        f"/documents/change-requests/{cr.number}"
    ).get_data(as_text=True)
    auth.logout()
    auth.login("author")
    response = client.post(
        "/documents/QP-07/draft/open",
        data={"open-source": "effective", "open-change_request": cr.number},
    )
    assert response.status_code == 302
    rev = documents.open_revision(doc)
    assert rev is not None and rev.change_request.number == cr.number
    page = client.get(f"/documents/change-requests/{cr.number}").get_data(as_text=True)
    assert "Start the revision of QP-07" not in page and f"QP-07 {rev.label}" in page
