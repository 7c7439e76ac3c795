"""E-mail through a real local SMTP server process: assignments, reminders once, languages."""

import email
import email.policy
import socket
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from qms.extensions import db
from qms.improvement import mail, services
from qms.improvement.models import Nonconformity, Reminder
from qms.uow import unit_of_work
from tests.builders_improvement import SOON, in_action_plan, raised


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Mailbox:
    """What the SMTP server process stored: one file per message in a maildir."""

    def __init__(self, path: Path):
        self.path = path

    def messages(self) -> list[email.message.EmailMessage]:
        files = sorted((self.path / "new").glob("*"), key=lambda p: p.stat().st_mtime_ns)
        return [
            email.message_from_bytes(f.read_bytes(), policy=email.policy.default) for f in files
        ]

    def subjects(self) -> list[str]:
        return [m["Subject"] for m in self.messages()]


@pytest.fixture
def smtp(app, tmp_path):
    """Run aiosmtpd as a separate process storing messages in a maildir; point the app at it."""
    port = free_port()
    maildir = tmp_path / "maildir"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            f"127.0.0.1:{port}",
            "-c",
            "aiosmtpd.handlers.Mailbox",
            str(maildir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 15
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                pytest.fail(f"The SMTP server did not start: {proc.stderr.read()!r}")
            time.sleep(0.05)
    app.config.update(
        QMS_SMTP_HOST="127.0.0.1",
        QMS_SMTP_PORT=str(port),
        QMS_MAIL_FROM="qms@example.org",
        QMS_BASE_URL="https://qms.example.org",
    )
    yield Mailbox(maildir)
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    proc.stderr.close()


def test_assignment_is_mailed_to_the_person_responsible(users, smtp):
    nc = raised(users, responsible="author")
    [message] = smtp.messages()
    assert message["To"] == "Author <author@example.org>"
    assert message["From"] == "qms@example.org"
    assert nc.number in message["Subject"] and "assigned to you" in message["Subject"]
    body = message.get_content()
    assert nc.title in body and f"https://qms.example.org/improvement/{nc.number}" in body


def test_action_owner_is_told_of_the_assignment(users, smtp):
    nc = in_action_plan(users)
    before = len(smtp.messages())
    action = services.create_action(
        users["author"],
        "corrective",
        "Fix it",
        "author2",
        date.today() + timedelta(days=5),
        nonconformity=nc.number,
    )
    [message] = smtp.messages()[before:]
    assert message["To"].addresses[0].username == "author2"
    assert action.number in message["Subject"]


def test_assignment_mail_waits_for_the_work_it_belongs_to(users, smtp):
    """Raised as one step of larger work that then fails, the NC is gone and nobody is told."""
    with pytest.raises(RuntimeError), unit_of_work():
        raised(users, responsible="author")
        assert smtp.messages() == []
        raise RuntimeError("a later step of the same work failed")
    assert smtp.messages() == []
    assert db.session.scalar(select(func.count()).select_from(Nonconformity)) == 0


def test_no_mail_when_the_commit_fails(users, smtp, monkeypatch):
    def refuse():
        raise RuntimeError("the database went away")

    monkeypatch.setattr(db.session, "commit", refuse)
    with pytest.raises(RuntimeError):
        raised(users, responsible="author")
    with pytest.raises(RuntimeError):
        services.create_action(
            users["staff"], "improvement", "Queue display", "staff2", SOON, origin="suggestion"
        )
    monkeypatch.undo()
    assert smtp.messages() == []
    assert db.session.scalar(select(func.count()).select_from(Nonconformity)) == 0


def test_mail_is_sent_after_the_commit(users, smtp, monkeypatch):
    seen = []
    deliver = mail.deliver

    def deliver_and_look(message, smtp=None):
        # Another connection sees only what was committed.
        with db.engine.connect() as conn:
            seen.append(conn.execute(select(Nonconformity.number)).scalars().all())
        return deliver(message, smtp)

    monkeypatch.setattr(mail, "deliver", deliver_and_look)
    nc = raised(users, responsible="author")
    assert seen == [[nc.number]]
    [message] = smtp.messages()
    assert nc.number in message["Subject"]


def test_mail_is_written_in_the_recipients_language(users, smtp):
    users["author"].locale = "zh_Hans"
    users["author2"].locale = "zh_Hant"
    db.session.commit()
    raised(users, responsible="author")
    raised(users, responsible="author2")
    simplified, traditional = smtp.messages()
    assert "质量体系跟踪平台" in simplified.get_content()
    assert "品質系統追蹤平台" in traditional.get_content()


def test_remind_twice_sends_each_reminder_once(users, smtp, runner):
    today = date.today()
    soon = raised(users, responsible="author", due_date=today + timedelta(days=2))
    late = raised(users, responsible="author2", due_date=today + timedelta(days=30))
    late.due_date = today - timedelta(days=1)
    action = services.create_action(
        users["staff"],
        "improvement",
        "Queue display",
        "staff2",
        today + timedelta(days=1),
        origin="suggestion",
    )
    raised(users, responsible="staff", due_date=today + timedelta(days=20))  # not due yet
    db.session.commit()
    assigned = len(smtp.messages())

    first = runner.invoke(args=["qms", "remind"])
    assert first.exit_code == 0, first.output
    assert "3 reminder(s) sent." in first.output
    second = runner.invoke(args=["qms", "remind"])
    assert second.exit_code == 0 and "0 reminder(s) sent." in second.output

    reminders = smtp.messages()[assigned:]
    assert len(reminders) == 3
    by_number = {m["Subject"].split(": ", 1)[-1].split(" ")[0]: m for m in reminders}
    assert set(by_number) == {soon.number, late.number, action.number}
    assert by_number[late.number]["Subject"].startswith("Overdue")
    assert "1 day ago" in by_number[late.number].get_content()
    assert by_number[soon.number]["Subject"].startswith(f"Due on {soon.due_date}")
    assert db.session.scalar(select(func.count()).select_from(Reminder)) == 3


def test_a_due_reminder_and_then_an_overdue_one_on_the_day_after(users, smtp, runner):
    due = date.today() + timedelta(days=5)
    nc = raised(users, responsible="author", due_date=due)
    assigned = len(smtp.messages())
    for day in (due - timedelta(days=4), due - timedelta(days=3), due - timedelta(days=1), due):
        runner.invoke(args=["qms", "remind", "--date", day.isoformat()])
    for _ in range(2):
        runner.invoke(args=["qms", "remind", "--date", (due + timedelta(days=1)).isoformat()])
    subjects = smtp.subjects()[assigned:]
    assert subjects == [
        f"Due on {due}: {nc.number} {nc.title}",
        f"Overdue: {nc.number} {nc.title}",
    ]


def test_a_reminder_whose_claim_cannot_commit_is_not_sent(users, smtp, monkeypatch):
    raised(users, responsible="author", due_date=date.today())
    assigned = len(smtp.messages())

    def refuse():
        raise RuntimeError("the database went away")

    monkeypatch.setattr(db.session, "commit", refuse)
    with pytest.raises(RuntimeError):
        mail.send_reminders()
    monkeypatch.undo()
    assert len(smtp.messages()) == assigned
    assert db.session.scalar(select(func.count()).select_from(Reminder)) == 0
    assert len(mail.send_reminders()) == 1 and len(smtp.messages()) == assigned + 1


def test_finished_items_get_no_reminder(users, smtp):
    nc = raised(users, responsible="author", due_date=date.today())
    services.transition(users["approver"], nc, "rejected", reason="Unfounded.")
    assert mail.send_reminders() == []


def test_without_an_smtp_host_mail_steps_aside(users, runner, caplog, monkeypatch):
    monkeypatch.delenv("QMS_SMTP_HOST", raising=False)
    with caplog.at_level("INFO", logger="qms.improvement.mail"):
        nc = raised(users, responsible="author", due_date=date.today())
    assert nc.number and "No SMTP host configured" in caplog.text
    result = runner.invoke(args=["qms", "remind"])
    assert result.exit_code == 0 and "no reminder was sent" in result.output
    assert db.session.scalar(select(func.count()).select_from(Reminder)) == 0


def test_an_unreachable_server_is_logged_and_retried_next_run(app, users, caplog):
    app.config.update(QMS_SMTP_HOST="127.0.0.1", QMS_SMTP_PORT=str(free_port()))
    with caplog.at_level("WARNING", logger="qms.improvement.mail"):
        nc = raised(users, responsible="author", due_date=date.today())
        assert mail.send_reminders() == []
    assert nc.state == "reported" and "Could not send" in caplog.text
    # Nothing is recorded as sent, so the next run tries again.
    assert db.session.scalar(select(func.count()).select_from(Reminder)) == 0


def test_smtp_settings_come_from_the_environment(app, monkeypatch):
    monkeypatch.setenv("QMS_SMTP_HOST", "mail.example.org")
    monkeypatch.setenv("QMS_SMTP_PORT", "2525")
    monkeypatch.setenv("QMS_SMTP_USER", "qms")
    monkeypatch.setenv("QMS_SMTP_PASSWORD", "secret")
    monkeypatch.setenv("QMS_SMTP_TLS", "true")
    monkeypatch.setenv("QMS_MAIL_FROM", "quality@example.org")
    with app.app_context():
        settings = mail.settings()
    assert settings == mail.SmtpSettings(
        "mail.example.org", 2525, "qms", "secret", True, "quality@example.org"
    )


def test_mail_is_composed_outside_a_request(app):
    """``qms remind`` and the demo loader run with no request, so with no logged-in user."""
    from qms.auth.services import create_user

    item = {
        "kind": "nonconformity",
        "number": "NC-2026-0001",
        "title": "Wrong form accepted",
        "due_date": None,
        "path": "/improvement/NC-2026-0001",
    }
    with app.app_context():
        user = create_user("li", "long-enough-1", ["staff"], "Service Hall", "Li", "li@example.org")
        db.session.commit()
        subject, body = mail.render(user, "improvement/mail/assigned.txt", item=item)
    assert "NC-2026-0001" in subject and "Wrong form accepted" in body
