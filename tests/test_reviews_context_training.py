"""Management review inputs from training (§9.3.2 d), context (b) and nonconforming outputs."""

from datetime import timedelta

from qms import clock
from qms.context import services as context
from qms.extensions import db
from qms.improvement import services as improvement
from qms.reviews import inputs, objectives, services
from tests.builders import effective
from tests.builders_improvement import raised
from tests.test_context import REVIEW, legal
from tests.test_reviews_meeting import plan
from tests.test_training import hall_position, train


def seeded(users):
    """Two clerks must read QP-07 and QP-08: three of four trainings done; context changes."""
    effective(users)
    effective(users, "QP-08", title="Calibration")
    hall_position(users, docs=("QP-07", "QP-08"))
    train(users, "staff")
    train(users, "staff", document_code="QP-08")
    train(users, "author2")
    req = legal(users, ("QP-07",))
    context.add_issue(users["approver"], "external", "New e-government rules", "approver", REVIEW)
    context.add_party(users["approver"], "Citizens", "Right first time", "approver", REVIEW)
    context.add_party(users["approver"], "Notaries", "Answers in a day", "approver", REVIEW)
    context.change_legal_requirement(users["approver"], req, article="Art. 9 (2026)")
    nc = raised(users)
    improvement.set_output(users["staff"], nc, "Certificates JL-0412 to 0418", 7)
    raised(users, title="Unrelated")
    db.session.commit()
    return req, nc


def test_review_inputs_show_training_coverage_context_and_legal_changes(users):
    req, nc = seeded(users)
    got = services.prepare(users["approver"], plan(users)).inputs
    assert inputs.figure(got, "resources.training_coverage") == 75.0
    assert inputs.figure(got, "resources.training_overdue") == 0
    [resources] = [s for s in got["sections"] if s["key"] == "resources"]
    assert {(i["key"], i["value"]) for i in resources["items"]} == {("Service Hall", 75.0)}
    assert inputs.figure(got, "context_changes.issues") == 1
    assert inputs.figure(got, "context_changes.parties") == 2
    assert inputs.figure(got, "context_changes.legal_added") == 1
    assert inputs.figure(got, "context_changes.legal_changed") == 1
    [ctx] = [s for s in got["sections"] if s["key"] == "context_changes"]
    assert [i["key"] for i in ctx["items"] if i["kind"] == "legal"] == [req.number]
    assert inputs.figure(got, "nonconformities.outputs") == 1
    [ncs] = [s for s in got["sections"] if s["key"] == "nonconformities"]
    [outputs] = [f for f in ncs["figures"] if f["key"] == "nonconformities.outputs"]
    assert outputs["data"] == {"ncs": [nc.number], "quantity": 7}


def test_changes_before_the_period_are_not_inputs(users):
    seeded(users)
    later = clock.today() + timedelta(days=1)
    review = plan(users, planned_on=later, period_start=later, period_end=later)
    got = services.prepare(users["approver"], review).inputs
    for key in ("issues", "parties", "legal_added", "legal_changed"):
        assert inputs.figure(got, f"context_changes.{key}") == 0
    assert inputs.figure(got, "nonconformities.outputs") == 0


def test_training_coverage_and_output_ncs_are_objective_sources(users):
    seeded(users)
    coverage = objectives.create_objective(
        users["approver"],
        "Training coverage",
        "%",
        95,
        "higher",
        "monthly",
        source="training_coverage",
    )
    errors = objectives.create_objective(
        users["approver"], "Wrong certificates", "", 0, "lower", "monthly", source="output_ncs"
    )
    db.session.commit()
    period = clock.today().strftime("%Y-%m")
    measured = objectives.refresh(coverage, period, users["approver"])
    assert (measured.value, measured.meets_target) == (75.0, False)
    assert objectives.refresh(errors, period, users["approver"]).value == 1


def test_output_rate_per_thousand_issued_counts_the_records_of_a_form(users, client, auth):
    import pytest

    from qms.errors import ValidationFailed
    from qms.records import services as records
    from tests.builders_records import form_in_force

    seeded(users)  # one output NC affecting 7 certificates
    with pytest.raises(ValidationFailed, match="record form"):
        objectives.create_objective(
            users["approver"], "Error rate", "‰", 3, "lower", "monthly", source="output_rate"
        )
    db.session.rollback()
    fields = [{"key": "certificate", "label": "Certificate", "type": "text", "required": True}]
    form_in_force(users, "RF-09", fields)
    for n in range(20):
        records.submit_record(users["staff"], "RF-09", {"certificate": f"JL-{n:04d}"})
    db.session.commit()
    rate = objectives.create_objective(
        users["approver"],
        "Certificate error rate",
        "‰",
        3,
        "lower",
        "monthly",
        source="output_rate",
        source_form="RF-09",
    )
    db.session.commit()
    measured = objectives.refresh(rate, clock.today().strftime("%Y-%m"), users["approver"])
    assert measured.value == 350.0  # 7 affected of 20 issued
    assert "7 affected of 20 issued" in measured.note
    assert measured.meets_target is False
    # Another source keeps no form.
    objectives.update_objective(users["approver"], rate, source="output_ncs")
    assert rate.source_form is None

    auth.login("approver")
    page = client.post(
        "/objectives/new",
        data={
            "name": "Rate without form",
            "target": "3",
            "direction": "lower",
            "frequency": "monthly",
            "source": "output_rate",
            "source_form": "",
        },
    )
    assert page.status_code == 200 and "outputs issued" in page.get_data(as_text=True)


def test_the_review_page_links_each_input_to_its_page(users, client, auth):
    from qms.reviews import sources

    req, nc = seeded(users)
    review = services.prepare(users["approver"], plan(users))
    db.session.commit()
    auth.login("approver")
    page = client.get(f"/reviews/{review.number}").get_data(as_text=True)
    assert f'href="/context/legal/{req.number}"' in page
    assert f'href="{sources.item_url("nc", nc.number)}"' in page
    assert sources.item_url("risk", "RO-2026-0001") == "/risks/RO-2026-0001"
    assert sources.item_url("supplier", "SUP-0001") == "/suppliers/SUP-0001"
    assert sources.item_url("equipment", "EQ-0001") == "/equipment/EQ-0001"
    assert sources.item_url("party", "IP-0001").endswith("/context/#parties")
    assert sources.item_url("department", "Service Hall") is None
