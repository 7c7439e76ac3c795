"""Positions and competences set up in the browser; the matrix follows them."""

from qms import trail
from qms.extensions import db
from qms.training import services
from tests.builders import effective
from tests.test_training import dept, state


def test_positions_are_set_up_in_the_browser_and_the_matrix_follows(users, client, auth):
    effective(users)
    effective(users, "QP-08", title="Records")
    auth.login("approver")
    assert client.get("/training/positions").status_code == 200
    made = client.post(
        "/training/competences",
        data={"name": "Metrology certificate", "validity_months": "24"},
    )
    assert made.status_code == 302
    hall = dept(users, "Service Hall")
    response = client.post(
        "/training/positions",
        data={
            "department": str(hall.id),
            "name": "Window clerk",
            "documents": "QP-07，QP-08",
            "competences": ["Metrology certificate"],
        },
    )
    assert response.status_code == 302
    [position] = services.list_positions(hall.id)
    assert [d.code for d in position.documents] == ["QP-07", "QP-08"]
    assert [c.name for c in position.competences] == ["Metrology certificate"]
    url = f"/training/positions/{position.id}"
    assert client.post(f"{url}/holders", data={"user": "staff"}).status_code == 302
    assert state(users["staff"]).state == "due"
    page = client.get(url).get_data(as_text=True)
    assert "Staff" in page and "QP-08" in page

    # Someone of another department cannot hold it; the refusal is shown, nothing stored.
    refused = client.post(f"{url}/holders", data={"user": "staff2"})
    assert refused.status_code == 400 and "does not work in" in refused.get_data(as_text=True)

    assert (
        client.post(
            f"{url}/requirements", data={"documents": "QP-07", "competences": []}
        ).status_code
        == 302
    )
    db.session.expire_all()
    assert [d.code for d in services.get_position(position.id).documents] == ["QP-07"]
    assert [i.key for i in services_items(users["staff"])] == ["QP-07"]
    bad = client.post(f"{url}/requirements", data={"documents": "QP-07, QP-99"})
    assert bad.status_code == 400 and "QP-99" in bad.get_data(as_text=True)
    db.session.expire_all()
    assert [d.code for d in services.get_position(position.id).documents] == ["QP-07"]

    assert client.post(f"{url}/holders/staff/leave").status_code == 302
    assert services_items(users["staff"]) == []
    actions = [e.action for e in trail.events_for("position", str(position.id))]
    assert actions == ["position.created", "position.assigned", "position.changed", "position.left"]


def services_items(user):
    from qms.training import matrix

    return matrix.items_for([user])


def test_a_duplicate_position_keeps_what_was_typed(users, client, auth):
    hall = dept(users, "Service Hall")
    services.create_position(users["approver"], hall, "Window clerk")
    db.session.commit()
    auth.login("approver")
    response = client.post(
        "/training/positions",
        data={"department": str(hall.id), "name": "Window clerk", "description": "Typed text"},
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "already has a position" in page and "Typed text" in page
    assert len(services.list_positions(hall.id)) == 1


def test_only_the_quality_office_changes_positions(users, client, auth):
    hall = dept(users, "Service Hall")
    position = services.create_position(users["approver"], hall, "Window clerk")
    db.session.commit()
    auth.login("staff")
    assert client.get("/training/positions").status_code == 403
    auth.logout()
    auth.login("auditor")
    assert client.get(f"/training/positions/{position.id}").status_code == 200
    assert client.post("/training/positions", data={"name": "X"}).status_code == 403
    assert client.post("/training/competences", data={"name": "X"}).status_code == 403
    assert client.post(f"/training/positions/{position.id}/holders").status_code == 403
    assert client.get("/training/positions/999").status_code == 404
