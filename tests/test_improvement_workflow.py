"""The NC and action workflow: each step allowed for the right person, refused otherwise."""

from datetime import date, timedelta

import pytest

from qms import trail
from qms.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from qms.improvement import services
from tests.builders import content, effective
from tests.builders_improvement import (
    SOON,
    action_for,
    analysed,
    in_action_plan,
    in_analysis,
    in_containment,
    in_effectiveness_check,
    in_implementation,
    raised,
)

ROLES = ["staff", "author", "auditor", "approver", "admin"]


# -- raising -----------------------------------------------------------------------------


def test_anyone_can_raise_a_nonconformity_numbered_within_the_year(users):
    year = date.today().year
    for n, username in enumerate(ROLES, start=1):
        nc = raised(users, by=username, severity="major")
        assert nc.number == f"NC-{year}-{n:04d}"
        assert nc.state == "reported"
        assert nc.raised_by.username == username
        assert nc.department == users[username].department
        assert nc.severity == "major"
        assert [e.action for e in trail.events_for("nonconformity", nc.number)] == ["nc.raised"]


BAD_INPUT = [
    ({"title": " "}, "title"),
    ({"description": ""}, "description"),
    ({"source": "gossip"}, "source"),
    ({"severity": "catastrophic"}, "severity"),
    ({"clause": "11.9"}, "clause"),
    ({"department": "Nowhere"}, "department"),
    ({"responsible": "nobody"}, "responsible"),
    ({"due_date": date.today() - timedelta(days=1)}, "due_date"),
    ({"documents": ["QP-99"]}, "documents"),
]


def test_raising_refuses_bad_input_naming_the_field(users):
    for change, field in BAD_INPUT:
        with pytest.raises(ValidationFailed) as exc:
            raised(users, **change)
        assert exc.value.field == field, change
        assert exc.value.message


def test_documents_concerned_are_pinned_to_the_revision_in_force(users):
    effective(users, "QP-07")
    nc = raised(users, documents=["QP-07"])
    assert [(d.code, d.revision) for d in nc.documents] == [("QP-07", "A")]
    effective(users, "QP-07", text=content("QP-07", body="# Changed\n\nNew text.\n"))
    assert [(d.code, d.revision) for d in services.get_nc(nc.number).documents] == [("QP-07", "A")]
    # A document named later is pinned to what is in force then.
    other = raised(users)
    services.add_document(users["staff"], other, "QP-07")
    assert other.documents[0].revision == "B"


def test_unknown_nonconformity_is_not_found(users):
    with pytest.raises(NotFound):
        services.get_nc("NC-1999-0001")


# -- assigning and containment -----------------------------------------------------------


def test_only_the_quality_office_assigns(users):
    nc = raised(users, responsible=None)
    for username in ["staff", "author", "auditor", "admin"]:
        with pytest.raises(PermissionDenied):
            services.assign(users[username], nc, "author", SOON)
    services.assign(users["approver"], nc, "author", SOON)
    assert nc.responsible.username == "author"


def test_containment_waits_for_a_responsible_person(users):
    nc = raised(users, responsible=None)
    with pytest.raises(Conflict) as exc:
        services.transition(users["approver"], nc, "containment")
    assert "assigns it first" in exc.value.message


def test_responsible_person_takes_on_containment(users):
    nc = raised(users)
    services.transition(users["author"], nc, "containment")
    assert nc.state == "containment"


def test_others_cannot_work_the_responsible_persons_step(users):
    nc = raised(users)
    for username in ["staff", "author2", "approver", "auditor", "admin"]:
        with pytest.raises(PermissionDenied) as exc:
            services.transition(users[username], nc, "containment")
        assert "Only the person responsible" in exc.value.message
        assert services.get_nc(nc.number).state == "reported"


def test_leaving_containment_needs_what_was_done(users):
    nc = in_containment(users)
    with pytest.raises(ValidationFailed) as exc:
        services.transition(users["author"], nc, "analysis")
    assert exc.value.field == "containment"
    services.transition(
        users["author"], nc, "analysis", containment="Form removed.", containment_by="staff"
    )
    assert nc.state == "analysis"
    assert nc.containment_by.username == "staff" and nc.containment_on == date.today()


def test_steps_cannot_be_skipped(users):
    for builder, skipped in [
        (raised, ["implementation", "closed", "analysis"]),
        (in_containment, ["action_plan", "closed"]),
        (in_analysis, ["effectiveness_check", "implementation"]),
    ]:
        nc = builder(users)
        for to in skipped:
            for username in ("approver", "author"):
                with pytest.raises(Conflict) as exc:
                    services.transition(users[username], nc, to)
                assert "cannot move" in exc.value.message


# -- analysis ----------------------------------------------------------------------------


def test_analysis_is_written_by_the_responsible_person_in_the_analysis_step(users):
    nc = in_containment(users)
    with pytest.raises(Conflict):
        services.record_analysis(users["author"], nc, ["Why"], "method", "Cause")
    services.transition(users["author"], nc, "analysis", containment="Done at once.")
    with pytest.raises(PermissionDenied):
        services.record_analysis(users["approver"], nc, ["Why"], "method", "Cause")
    with pytest.raises(ValidationFailed) as exc:
        services.record_analysis(users["author"], nc, ["", " "], "method", "Cause")
    assert exc.value.field == "whys"
    with pytest.raises(ValidationFailed) as exc:
        services.record_analysis(users["author"], nc, ["Why"] * 6, "method", "Cause")
    assert exc.value.field == "whys"
    with pytest.raises(ValidationFailed) as exc:
        services.record_analysis(users["author"], nc, ["Why"], "luck", "Cause")
    assert exc.value.field == "cause_category"
    services.record_analysis(users["author"], nc, ["One", "Two"], "people", "Training gap")
    assert nc.whys == ["One", "Two"] and nc.cause_category == "people"


def test_quality_office_accepts_the_analysis(users):
    nc = analysed(users)
    services.transition(users["approver"], nc, "action_plan", comment="Convincing.")
    assert nc.state == "action_plan"
    assert nc.analysis_accepted_by.username == "approver"


def test_only_the_quality_office_accepts_the_analysis(users):
    nc = analysed(users)
    for username in ["staff", "author", "author2", "auditor", "admin"]:
        with pytest.raises(PermissionDenied) as exc:
            services.transition(users[username], nc, "action_plan")
        assert "quality office" in exc.value.message


def test_analysis_cannot_be_accepted_while_missing(users):
    nc = in_analysis(users)
    with pytest.raises(Conflict) as exc:
        services.transition(users["approver"], nc, "action_plan")
    assert "missing" in exc.value.message and "root cause" in exc.value.message


def test_the_quality_office_does_not_accept_its_own_analysis(users):
    nc = analysed(users, responsible="approver2")
    with pytest.raises(PermissionDenied):
        services.transition(users["approver2"], nc, "action_plan")
    services.transition(users["approver"], nc, "action_plan")


# -- the plan ----------------------------------------------------------------------------


def test_quality_office_accepts_the_plan(users):
    nc = in_action_plan(users)
    action_for(users, nc)
    services.transition(users["approver"], nc, "implementation")
    assert nc.state == "implementation" and nc.plan_accepted_by.username == "approver"


def test_only_the_quality_office_accepts_the_plan(users):
    nc = in_action_plan(users)
    action_for(users, nc)
    for username in ["staff", "author", "auditor", "admin"]:
        with pytest.raises(PermissionDenied) as exc:
            services.transition(users[username], nc, "implementation")
        assert "accepts the plan" in exc.value.message


def test_a_plan_needs_actions_with_effectiveness_criteria(users):
    nc = in_action_plan(users)
    with pytest.raises(Conflict) as exc:
        services.transition(users["approver"], nc, "implementation")
    assert "no action" in exc.value.message
    action = action_for(users, nc, effectiveness_criteria="")
    with pytest.raises(Conflict) as exc:
        services.transition(users["approver"], nc, "implementation")
    assert action.number in exc.value.message
    services.update_action_plan(users["author"], action, "No recurrence in 3 months.", None)
    services.transition(users["approver"], nc, "implementation")


def test_only_the_responsible_person_or_quality_office_plans_actions_of_an_nc(users):
    nc = in_action_plan(users)
    for username in ["staff", "author2", "auditor"]:
        with pytest.raises(PermissionDenied):
            action_for(users, nc, by=username)
    action_for(users, nc, by="approver")
    action_for(users, nc, by="author")
    assert len(nc.actions) == 2


def test_actions_are_not_added_once_the_plan_is_accepted(users):
    nc = in_implementation(users)
    with pytest.raises(Conflict) as exc:
        action_for(users, nc, by="approver")
    assert exc.value.field == "nonconformity"


def test_anyone_can_propose_an_action_without_an_nc(users):
    for n, username in enumerate(ROLES, start=1):
        action = services.create_action(
            users[username],
            "preventive",
            "Second check on weekend shifts",
            "author",
            SOON,
            origin="trend",
            origin_ref="Rising complaint count in Q3",
        )
        assert action.nonconformity is None and action.origin == "trend"
        assert action.number == f"ACT-{date.today().year}-{n:04d}"


def test_a_correction_needs_its_nonconformity(users):
    with pytest.raises(ValidationFailed) as exc:
        services.create_action(users["author"], "correction", "Fix it", "author", SOON)
    assert exc.value.field == "nonconformity"


def test_an_action_needs_an_owner_and_a_due_date(users):
    with pytest.raises(ValidationFailed) as exc:
        services.create_action(users["author"], "improvement", "Idea", None, SOON)
    assert exc.value.field == "owner"
    with pytest.raises(ValidationFailed) as exc:
        services.create_action(users["author"], "improvement", "Idea", "author", None)
    assert exc.value.field == "due_date"


# -- implementation ----------------------------------------------------------------------


def test_corrective_action_waits_for_the_accepted_plan_but_a_correction_does_not(users):
    nc = in_action_plan(users)
    corrective = action_for(users, nc)
    correction = action_for(users, nc, action_type="correction", title="Replace the form")
    with pytest.raises(Conflict) as exc:
        services.action_transition(users["author2"], corrective, "in_progress")
    assert "not accepted" in exc.value.message
    services.action_transition(users["author2"], correction, "done", note="Replaced.")
    assert correction.state == "done"


def test_only_the_owner_works_an_action(users):
    nc = in_implementation(users)
    action = nc.actions[0]
    for username in ["staff", "author", "approver", "auditor"]:
        with pytest.raises(PermissionDenied) as exc:
            services.action_transition(users[username], action, "in_progress")
        assert "Only the owner" in exc.value.message
    services.action_transition(users["author2"], action, "in_progress")
    assert action.state == "in_progress"


def test_done_needs_what_was_done(users):
    action = in_implementation(users).actions[0]
    with pytest.raises(ValidationFailed) as exc:
        services.action_transition(users["author2"], action, "done", note=" ")
    assert exc.value.field == "note"


def test_effectiveness_check_needs_every_action_finished(users):
    nc = in_implementation(users)
    first = nc.actions[0]
    with pytest.raises(Conflict) as exc:
        services.transition(users["author"], nc, "effectiveness_check")
    assert "not finished" in exc.value.message and first.number in exc.value.message
    services.action_transition(users["author2"], first, "done", note="Done.")
    services.transition(users["author"], nc, "effectiveness_check")
    assert nc.state == "effectiveness_check"


# -- effectiveness and closure -----------------------------------------------------------


def test_the_doer_cannot_verify_their_own_action(users):
    nc = in_effectiveness_check(users)
    action = nc.actions[0]
    for to in ("verified_effective", "not_effective"):
        with pytest.raises(PermissionDenied) as exc:
            services.action_transition(users["author2"], action, to, result="OK")
        assert "someone else" in exc.value.message


def test_verification_needs_the_quality_system(users):
    nc = in_effectiveness_check(users)
    with pytest.raises(PermissionDenied) as exc:
        services.action_transition(users["staff"], nc.actions[0], "verified_effective", result="x")
    assert "quality office" in exc.value.message


@pytest.mark.parametrize("username", ["approver", "auditor", "author"])
def test_someone_other_than_the_doer_verifies(users, username):
    action = in_effectiveness_check(users).actions[0]
    with pytest.raises(ValidationFailed) as exc:
        services.action_transition(users[username], action, "verified_effective", result="")
    assert exc.value.field == "result"
    services.action_transition(users[username], action, "verified_effective", result="3 checks OK")
    assert action.state == "verified_effective" and action.checked_by.username == username


def test_closing_needs_every_action_verified(users):
    nc = in_effectiveness_check(users)
    with pytest.raises(Conflict) as exc:
        services.transition(users["approver"], nc, "closed", result="Fine.")
    assert "verified" in exc.value.message
    services.action_transition(users["auditor"], nc.actions[0], "verified_effective", result="OK")
    with pytest.raises(ValidationFailed) as exc:
        services.transition(users["approver"], nc, "closed")
    assert exc.value.field == "result"
    services.transition(users["approver"], nc, "closed", result="No recurrence.")
    assert nc.state == "closed" and nc.closed_at and nc.checked_by.username == "approver"
    with pytest.raises(Conflict):
        services.add_link_evidence(users["staff"], nc, "https://example.org/x")


def test_only_the_quality_office_closes(users):
    nc = in_effectiveness_check(users)
    services.action_transition(users["auditor"], nc.actions[0], "verified_effective", result="OK")
    for username in ["author", "staff", "auditor"]:
        with pytest.raises(PermissionDenied) as exc:
            services.transition(users[username], nc, "closed", result="OK")
        assert "quality office" in exc.value.message


def test_whoever_carried_out_an_action_does_not_close(users):
    nc = in_effectiveness_check(users, owner="approver2")
    services.action_transition(users["auditor"], nc.actions[0], "verified_effective", result="OK")
    with pytest.raises(PermissionDenied) as exc:
        services.transition(users["approver2"], nc, "closed", result="OK")
    assert "someone else" in exc.value.message
    assert "closed" not in services.allowed_transitions(users["approver2"], nc)
    assert "closed" in services.allowed_transitions(users["approver"], nc)


def test_not_effective_actions_reopen_the_nc_and_it_is_worked_again(users):
    nc = in_effectiveness_check(users)
    action = nc.actions[0]
    with pytest.raises(Conflict) as exc:
        services.transition(users["approver"], nc, "analysis", reason="Not good")
    assert "not effective" in exc.value.message
    services.action_transition(users["auditor"], action, "not_effective", result="Found again.")
    with pytest.raises(ValidationFailed):
        services.transition(users["approver"], nc, "analysis")
    services.transition(users["approver"], nc, "analysis", reason="Obsolete forms found again.")
    assert nc.state == "analysis" and nc.reopen_count == 1
    assert nc.analysis_accepted_by is None
    assert trail.events_for("nonconformity", nc.number)[-1].action == "nc.reopened"
    with pytest.raises(Conflict):
        services.transition(users["approver"], nc, "closed", result="x")
    # Worked again: analysis accepted, plan accepted, the action redone and verified.
    services.record_analysis(users["author"], nc, ["Stock kept in drawers"], "material", "Drawers")
    services.transition(users["approver"], nc, "action_plan")
    services.transition(users["approver"], nc, "implementation")
    services.action_transition(users["author2"], action, "in_progress")
    services.action_transition(users["author2"], action, "done", note="Drawers emptied too.")
    services.transition(users["author"], nc, "effectiveness_check")
    services.action_transition(users["auditor"], action, "verified_effective", result="Clean.")
    services.transition(users["approver"], nc, "closed", result="Effective after rework.")
    assert nc.state == "closed"


@pytest.mark.parametrize("builder", [raised, in_containment, in_analysis])
def test_quality_office_rejects_an_unfounded_report_with_a_reason(users, builder):
    nc = builder(users)
    with pytest.raises(PermissionDenied):
        services.transition(users["author"], nc, "rejected", reason="Not a problem")
    with pytest.raises(ValidationFailed) as exc:
        services.transition(users["approver"], nc, "rejected", reason="")
    assert exc.value.field == "reason"
    services.transition(users["approver"], nc, "rejected", reason="The form was current.")
    assert nc.state == "rejected" and nc.rejection_reason == "The form was current."
    assert services.allowed_transitions(users["approver"], nc) == []


def test_an_nc_is_not_rejected_once_its_plan_is_accepted(users):
    nc = in_implementation(users)
    with pytest.raises(Conflict):
        services.transition(users["approver"], nc, "rejected", reason="Too late")


def test_allowed_transitions_name_what_each_person_may_do(users):
    nc = raised(users)
    assert services.allowed_transitions(users["author"], nc) == ["containment"]
    assert services.allowed_transitions(users["approver"], nc) == ["rejected"]
    assert services.allowed_transitions(users["staff"], nc) == []


def test_each_step_leaves_a_trail_event_in_the_timeline(users):
    nc = in_effectiveness_check(users)
    actions = [e.action for e in services.timeline(nc)]
    assert actions[0] == "nc.raised"
    assert actions.count("nc.transition") == 5
    assert "nc.analysed" in actions and "action.created" in actions
    assert "action.transition" in actions
    assert trail.verify() == []


# -- recurrence, lists, to-do ------------------------------------------------------------


def test_similar_earlier_ncs_share_clause_department_or_document(users):
    effective(users, "QP-07")
    same_clause = raised(users, by="auditor", clause="8.5.1")
    same_doc = raised(users, by="auditor", clause="9.1", documents=["QP-07"])
    same_dept = raised(users, by="staff", clause="7.1")
    unrelated = raised(users, by="auditor", clause="7.2")
    nc = raised(users, by="staff", clause="8.5.1", documents=["QP-07"])
    found = {s.nc.number: s.reasons for s in services.similar_to(nc)}
    assert set(found) == {same_clause.number, same_doc.number, same_dept.number}
    assert unrelated.number not in found
    assert any("8.5.1" in r for r in found[same_clause.number])
    assert any("QP-07" in r for r in found[same_doc.number])


def test_list_filters_and_aging(users, ctx):
    from qms.extensions import db

    major = raised(users, severity="major", source="internal_audit", clause="9.2")
    minor = raised(users, by="auditor", clause="8.5.1")
    late = raised(users, clause="7.5.3")
    late.due_date = date.today() - timedelta(days=2)
    late.raised_at = late.raised_at - timedelta(days=45)
    db.session.commit()

    def numbers(**kw):
        return {n.number for n in db.session.scalars(services.list_ncs(services.NcFilters(**kw)))}

    assert numbers(severity="major") == {major.number}
    assert numbers(source="internal_audit") == {major.number}
    assert numbers(clause="8.5") == {minor.number}
    assert numbers(department_id=users["auditor"].department_id) == {minor.number}
    assert numbers(overdue=True) == {late.number}
    assert numbers(state="reported") == {major.number, minor.number, late.number}
    buckets = services.aging([major, minor, late])
    assert [b["count"] for b in buckets] == [2, 1, 0, 0]


def test_my_todo_lists_what_is_assigned_to_me_and_what_i_decide(users):
    nc = analysed(users)
    unassigned = raised(users, responsible=None)
    mine = services.todo(users["author"])
    assert mine.ncs == [nc] and mine.actions == []
    office = services.todo(users["approver"])
    assert {n.number for n in office.to_accept} == {nc.number, unassigned.number}
    services.transition(users["approver"], nc, "action_plan")
    action = action_for(users, nc)
    assert services.todo(users["author2"]).actions == [action]


def test_home_summary_counts_in_sql_what_the_todo_list_lists(users):
    analysed(users)
    raised(users, responsible=None)
    raised(users, due_date=date.today() + timedelta(days=60))
    in_action_plan(users)
    implemented = in_implementation(users)
    services.action_transition(users["author2"], implemented.actions[0], "done", note="Done.")
    in_effectiveness_check(users)
    soon = services.due_soon()
    for username in ["staff", "author", "author2", "auditor", "approver", "admin"]:
        user = users[username]
        full, summary = services.todo(user), services.todo_summary(user, soon)
        assert summary.count == full.count, username
        due = [n for n in full.ncs if n.due_date and n.due_date <= soon]
        assert summary.ncs == due, username
        assert summary.actions == [a for a in full.actions if a.due_date <= soon], username
        assert summary.due == len(summary.ncs) + len(summary.actions)
    assert services.todo_summary(users["approver"], soon).count > 0


def test_every_step_of_the_responsible_person_is_refused_to_others(users):
    contained = in_containment(users)
    implemented = in_implementation(users)
    services.action_transition(users["author2"], implemented.actions[0], "done", note="Done.")
    for nc, to, fields in [
        (contained, "analysis", {"containment": "Removed."}),
        (implemented, "effectiveness_check", {}),
    ]:
        for username in ["staff", "author2", "approver", "auditor"]:
            with pytest.raises(PermissionDenied) as exc:
                services.transition(users[username], nc, to, **fields)
            assert "Only the person responsible" in exc.value.message
        services.transition(users["author"], nc, to, **fields)
        assert nc.state == to


def test_reopening_is_for_the_quality_office_and_not_the_doer(users):
    nc = in_effectiveness_check(users, owner="approver2")
    services.action_transition(users["auditor"], nc.actions[0], "not_effective", result="Again.")
    with pytest.raises(PermissionDenied) as exc:
        services.transition(users["approver2"], nc, "analysis", reason="Not effective")
    assert "someone else" in exc.value.message
    with pytest.raises(PermissionDenied) as exc:
        services.transition(users["author"], nc, "analysis", reason="Not effective")
    assert "quality office" in exc.value.message
    services.transition(users["approver"], nc, "analysis", reason="Not effective")
    assert nc.state == "analysis"


# -- the organisation's date -------------------------------------------------------------


@pytest.fixture
def far_zone(app):
    """Put the organisation in a zone whose date differs from the UTC date right now."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    now = datetime.now(UTC)
    for name in ("Etc/GMT+12", "Pacific/Kiritimati"):
        if now.astimezone(ZoneInfo(name)).date() != now.date():
            app.config["QMS_TIMEZONE"] = name
            return now.astimezone(ZoneInfo(name)).date()
    pytest.skip("no zone differs from UTC at this minute")


def test_dates_are_the_organisations_not_utc(users, far_zone):
    from qms import clock

    assert clock.today() == far_zone
    # Due "today" where the office is may be yesterday or tomorrow in UTC: it is accepted.
    nc = raised(users, due_date=far_zone)
    assert nc.due_date == far_zone
    with pytest.raises(ValidationFailed):
        raised(users, due_date=far_zone - timedelta(days=1))
    services.transition(users["author"], nc, "containment")
    services.transition(users["author"], nc, "analysis", containment="Form removed.")
    assert nc.containment_on == far_zone
    assert services.days_open(nc) == 0
    assert services.due_soon(0) == far_zone
