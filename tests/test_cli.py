"""The ``flask qms`` commands: init with the demo, users, tokens."""

import json
import subprocess
import sys

import pytest
from sqlalchemy import func, select

from qms import ROOT, trail
from qms.audits.models import Audit, AuditQuestion
from qms.auth.models import User
from qms.auth.services import user_for_token
from qms.context import services as context
from qms.demo import competence, to_traditional
from qms.demo.texts import EN, ZH_HANS
from qms.documents import services
from qms.documents.models import ChangeRequest, Document, Revision
from qms.extensions import db
from qms.gitstore import MAIN
from qms.improvement.models import Action, Nonconformity
from qms.records.models import Record
from qms.reviews import inputs
from qms.reviews.models import Complaint, Objective, Review, SurveyResult
from qms.training import matrix


@pytest.mark.parametrize(
    "lang, title, office",
    [
        ("en", "Quality manual", "Quality Office"),
        ("zh_Hans", "质量手册", "质量管理办公室"),
        ("zh_Hant", "質量手冊", "質量管理辦公室"),
    ],
)
def test_init_demo_loads_the_starter_set_with_history(app, runner, lang, title, office):
    result = runner.invoke(args=["qms", "init", "--demo", "--lang", lang])
    assert result.exit_code == 0, result.output
    assert "mrep" in result.output and "mrep-demo" in result.output
    with app.test_request_context():
        docs = db.session.scalar(select(func.count()).select_from(Document))
        assert docs >= 20
        manual = services.get_document("QM-01")
        assert manual.status == "effective" and manual.current_revision == "B"
        assert manual.title == title
        assert manual.department.name == office  # departments in the demo's language too
        assert services.get_revision(manual, "A").status == "superseded"
        # The demo leaves work to do: one revision waits for approval.
        assert db.session.scalar(select(Revision).where(Revision.status == "in_review"))
        store = services.store()
        assert len(store.refs("refs/tags/")) == db.session.scalar(
            select(func.count()).select_from(Revision).where(Revision.release_commit.is_not(None))
        )
        files = store.files(store.head(MAIN))
        assert "manual/QM-01.md" in files
        assert_quality_system_at_work(lang)
    # Loading again does nothing but print the logins.
    again = runner.invoke(args=["qms", "init", "--demo"])
    assert again.exit_code == 0 and "not loaded again" in again.output
    check = runner.invoke(args=["qms", "check"])
    assert check.exit_code == 0, check.output
    assert "agree" in check.output and "problem" not in check.output
    verified = runner.invoke(args=["qms", "verify"])
    assert verified.exit_code == 0, verified.output


def assert_quality_system_at_work(lang: str) -> None:
    """Every domain of the demo has data, made through its services, in the demo's language."""
    assert trail.verify() == []
    records = db.session.scalars(select(Record)).all()
    assert len(records) >= 5 and {"submitted", "amended"} <= {r.status for r in records}
    ncs = db.session.scalars(select(Nonconformity)).all()
    assert {"reported", "implementation", "closed"} <= {nc.state for nc in ncs}
    assert all(nc.evidence for nc in ncs if nc.source != "customer_complaint")
    actions = db.session.scalars(select(Action)).all()
    assert {"in_progress", "verified_effective"} <= {a.state for a in actions}
    # An audit done, its finding raised as an NC that cites a record; another planned.
    finding = db.session.scalar(select(AuditQuestion).where(AuditQuestion.nc_number.is_not(None)))
    audit = db.session.get(Audit, finding.audit_id)
    assert audit.state == "closed" and audit.report_lang == lang and finding.records
    nc = next(nc for nc in ncs if nc.number == finding.nc_number)
    assert nc.source == "internal_audit" and nc.evidence[0].record_number == finding.records[0]
    assert db.session.scalar(select(Audit).where(Audit.state == "planned"))
    objectives = db.session.scalars(select(Objective)).all()
    assert len(objectives) >= 3 and all(o.measurements for o in objectives)
    assert db.session.scalar(select(func.count()).select_from(SurveyResult))
    assert {c.is_open for c in db.session.scalars(select(Complaint))} == {True, False}
    review = db.session.scalar(select(Review))
    assert review.state == "prepared" and review.inputs["lang"] == lang
    # Training done, due and overdue; context registers; a legal change and its requests.
    states = {i.state for i in matrix.matrix()}
    assert {"done", "overdue"} <= states and 0 < inputs.figure(
        review.inputs, "resources.training_coverage"
    ) < 100
    assert inputs.figure(review.inputs, "context_changes.legal_changed") == 1
    [changed] = [r for r in context.list_legal_requirements() if r.changed_at]
    assert [cr.source_ref for cr in db.session.scalars(select(ChangeRequest))].count(
        changed.number
    ) == 1
    assert inputs.figure(review.inputs, "nonconformities.outputs") == 1
    # The risk register: a high risk treated by an action checked effective (§6.1, 9.3.2 e).
    assert inputs.figure(review.inputs, "risks.risk_actions_effective") == 1
    assert inputs.figure(review.inputs, "risks.level_lowered") == 1
    # Instruments, one due within the week, and a balance found out of tolerance whose NC
    # lists the two weighings made with it.
    assert inputs.figure(review.inputs, "resources.equipment") == 3
    assert inputs.figure(review.inputs, "resources.equipment_due") == 1
    assert inputs.figure(review.inputs, "resources.out_of_tolerance") == 1
    oot = next(nc for nc in ncs if nc.clause == "7.1.5.2")
    assert len(oot.evidence) == 2
    # What people wrote is in the demo's language, in the right Chinese script.
    words = [nc.title for nc in ncs] + [o.name for o in objectives] + [audit.title]
    if lang == "en":
        assert all(w.isascii() for w in words)
    else:
        assert not any(w.isascii() for w in words)
        traditional = [w == to_traditional(w) for w in words]
        assert all(traditional) if lang == "zh_Hant" else not all(traditional)


def test_demo_texts_exist_in_english_and_chinese():
    assert EN.keys() == ZH_HANS.keys()
    assert competence.EN.keys() == competence.ZH_HANS.keys()


def test_create_user_creates_department(app, runner):
    result = runner.invoke(
        args=[
            "qms",
            "create-user",
            "li",
            "--role",
            "staff",
            "--role",
            "auditor",
            "--department",
            "Window 12",
        ],
        input="long-enough-1\n",
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "li"))
        assert user.roles == {"staff", "auditor"} and user.department.name == "Window 12"
        assert user.password_hash.startswith(("scrypt:", "pbkdf2:"))


@pytest.mark.parametrize(
    "args, password, message",
    [
        (["--role", "boss", "--department", "D"], "long-enough", "Roles"),
        (["--role", "staff", "--department", "D"], "short", "8 characters"),
        (["--role", "staff", "--department", " "], "long-enough", "department"),
    ],
)
def test_create_user_refuses_bad_input(app, runner, args, password, message):
    result = runner.invoke(args=["qms", "create-user", "bob", *args], input=password + "\n")
    assert result.exit_code != 0
    assert message in result.output


def test_token_prints_a_working_token_last(app, runner, users):
    result = runner.invoke(args=["qms", "token", "staff"])
    assert result.exit_code == 0
    token = result.output.strip().splitlines()[-1]
    with app.test_request_context():
        assert user_for_token(token).username == "staff"
    assert runner.invoke(args=["qms", "token", "ghost"]).exit_code != 0


def test_release_due_command(app, runner, users):
    from datetime import timedelta

    from qms import clock
    from tests.builders import approved

    doc = approved(users)
    services.release(users["approver"], doc, clock.today() + timedelta(days=1))
    result = runner.invoke(args=["qms", "release-due"])
    assert result.exit_code == 0 and "effective" not in result.output
    rev = services.open_revision(doc)
    rev.effective_date = clock.today()
    db.session.commit()
    result = runner.invoke(args=["qms", "release-due"])
    assert "QP-07 revision A is now effective" in result.output


def test_release_due_for_a_given_day_releases_what_is_due_by_then(app, runner, users):
    """``release-due --date`` runs the daily job as on that day: due by then, and no later."""
    from datetime import timedelta

    from qms import clock
    from tests.builders import approved

    doc = approved(users)
    tomorrow = clock.today() + timedelta(days=1)
    services.release(users["approver"], doc, tomorrow + timedelta(days=1))
    result = runner.invoke(args=["qms", "release-due", "--date", tomorrow.isoformat()])
    assert result.exit_code == 0 and "effective" not in result.output
    assert services.open_revision(doc).status == "scheduled"
    day_after = (tomorrow + timedelta(days=1)).isoformat()
    result = runner.invoke(args=["qms", "release-due", "--date", day_after])
    assert "QP-07 revision A is now effective" in result.output
    db.session.expire_all()
    assert db.session.get(type(doc), doc.id).status == "effective"
    bad = runner.invoke(args=["qms", "release-due", "--date", "tomorrow"])
    assert bad.exit_code != 0 and "tomorrow" in bad.output


def test_flask_cli_runs_from_a_shell(tmp_path):
    """The documented entry point works: ``flask --app wsgi qms --help``."""
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "qms", "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"QMS_INSTANCE": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    for command in ("init", "create-user", "token", "check", "worker", "backup", "reindex"):
        assert command in result.stdout


def test_the_factory_registers_each_domains_commands(app):
    commands = app.cli.commands["qms"].commands
    for name in ("import", "export", "backup", "restore", "mirror-push", "reindex"):
        assert name in commands
    assert {"upstream-sync", "worker", "check", "release-due", "remind"} <= set(commands)


def test_importing_a_domain_adds_no_command():
    """Commands are added by the factory, never as a side effect of an import."""
    code = (
        "import json, qms.cli, qms.transfer.cli, qms.search.views, qms.adoption.views;"
        "print(json.dumps(sorted(qms.cli.qms.commands)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    names = set(json.loads(result.stdout))
    assert not names & {"import", "backup", "reindex", "upstream-sync"}


def test_worker_refuses_to_run_in_immediate_mode(app, runner):
    app.config["QMS_JOBS_IMMEDIATE"] = True
    result = runner.invoke(args=["qms", "worker"])
    assert result.exit_code != 0 and "QMS_JOBS_IMMEDIATE" in str(result.exception)
