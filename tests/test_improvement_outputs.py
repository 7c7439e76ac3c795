"""Nonconforming outputs (§8.7): affected output, disposition before close, concessions."""

import io

import pytest

from qms.auth.services import create_token
from qms.errors import Conflict, PermissionDenied, ValidationFailed
from qms.extensions import db
from qms.improvement import services
from tests.builders_improvement import in_effectiveness_check, raised


def ready(users):
    """An output NC raised by staff with every action verified, ready but for disposition."""
    nc = in_effectiveness_check(users)
    services.set_output(users["staff"], nc, "Inspection certificates JL-2026-0412 to 0418", 7)
    services.action_transition(users["auditor"], nc.actions[0], "verified_effective", result="OK")
    db.session.commit()
    return nc


def test_output_nc_cannot_close_without_a_disposition(users):
    nc = ready(users)
    with pytest.raises(Conflict) as exc:
        services.transition(users["approver"], nc, "closed", result="No recurrence.")
    assert exc.value.field == "disposition"
    db.session.rollback()
    assert nc.state == "effectiveness_check"
    services.record_disposition(
        users["author"], nc, "corrected_reissued", "Reissued", evidence_ref="JL-2026-0512"
    )
    services.transition(users["approver"], nc, "closed", result="No recurrence.")
    assert nc.state == "closed"


def test_nc_without_an_output_closes_as_before(users):
    nc = in_effectiveness_check(users)
    services.action_transition(users["auditor"], nc.actions[0], "verified_effective", result="OK")
    services.transition(users["approver"], nc, "closed", result="Fine.")
    assert nc.state == "closed"


def test_concession_needs_an_authoriser_other_than_the_raiser(users):
    nc = ready(users)
    with pytest.raises(ValidationFailed) as exc:
        services.record_disposition(users["author"], nc, "concession", evidence_ref="memo 12")
    assert exc.value.field == "authorised_by"
    with pytest.raises(ValidationFailed, match="raised"):
        services.record_disposition(
            users["author"], nc, "concession", authorised_by="staff", evidence_ref="memo 12"
        )
    db.session.rollback()
    assert nc.output.disposition is None
    row = services.record_disposition(
        users["author"], nc, "concession", authorised_by="approver", evidence_ref="memo 12"
    )
    assert (row.disposition, row.authorised_by.username) == ("concession", "approver")


def test_disposition_needs_evidence_and_a_known_kind(users):
    nc = ready(users)
    with pytest.raises(ValidationFailed) as exc:
        services.record_disposition(users["author"], nc, "recalled")
    assert exc.value.field == "evidence"
    with pytest.raises(ValidationFailed):
        services.record_disposition(users["author"], nc, "thrown_away", evidence_ref="x")
    row = services.record_disposition(
        users["author"],
        nc,
        "recalled",
        evidence=io.BytesIO(b"%PDF-1.4 recall notice"),
        evidence_name="recall.pdf",
    )
    assert row.evidence_name == "recall.pdf" and row.evidence_sha256


def test_output_needs_a_quantity_and_someone_concerned(users):
    nc = raised(users)
    with pytest.raises(ValidationFailed) as exc:
        services.set_output(users["staff"], nc, "Licences", 0)
    assert exc.value.field == "quantity"
    with pytest.raises(PermissionDenied):
        services.set_output(users["auditor"], nc, "Licences", 2)
    with pytest.raises(ValidationFailed):
        services.record_disposition(users["staff"], nc, "replaced", evidence_ref="x")


def test_api_shows_and_records_the_disposition(users, client):
    nc = ready(users)
    headers = {"Authorization": f"Bearer {create_token(users['author'])}"}
    db.session.commit()
    body = client.get(f"/api/v1/nonconformities/{nc.number}", headers=headers).json
    assert body["output"]["quantity"] == 7 and body["output"]["disposition"] is None
    refused = client.post(
        f"/api/v1/nonconformities/{nc.number}/disposition",
        json={"disposition": "concession", "authorised_by": "staff", "evidence_ref": "m"},
        headers=headers,
    )
    assert refused.status_code == 422
    done = client.post(
        f"/api/v1/nonconformities/{nc.number}/disposition",
        json={"disposition": "replaced", "evidence_ref": "JL-2026-0600"},
        headers=headers,
    )
    assert done.status_code == 200 and done.json["output"]["disposition"] == "replaced"
    changed = client.put(
        f"/api/v1/nonconformities/{nc.number}/output",
        json={"output": "Certificates", "quantity": 8},
        headers=headers,
    )
    assert changed.json["output"]["quantity"] == 8


def test_page_records_disposition_and_keeps_input_on_refusal(users, client, auth):
    nc = ready(users)
    auth.login("author")
    assert "Nonconforming output" in client.get(f"/improvement/{nc.number}").get_data(as_text=True)
    form = {
        "out-output": "Certificates JL-0412",
        "out-quantity": "7",
        "out-disposition": "concession",
        "out-authorised_by": "staff",
        "out-evidence_ref": "memo 77",
    }
    refused = client.post(f"/improvement/{nc.number}/output", data=form)
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert "cannot authorise" in page and "memo 77" in page
    form["out-authorised_by"] = "approver"
    assert client.post(f"/improvement/{nc.number}/output", data=form).status_code == 302
    db.session.expire_all()
    assert services.get_nc(nc.number).output.disposition == "concession"
