"""The ``flask --app wsgi qms`` commands."""

import contextlib
import re
import sys
from datetime import UTC, datetime
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from qms.errors import ServiceError


@click.group()
def qms():
    """Run and look after the QMS."""


@qms.command()
@click.option("--demo", is_flag=True, help="Load the starter documents, departments and users.")
@click.option(
    "--lang",
    type=click.Choice(["en", "zh_Hans", "zh_Hant"]),
    default="en",
    show_default=True,
    help="Language of the starter documents.",
)
@with_appcontext
def init(demo: bool, lang: str):
    """Create the database, the document repository and optionally the demo."""
    from flask_migrate import upgrade

    from qms.auth.models import User
    from qms.demo import founded
    from qms.extensions import db
    from qms.gitstore import GitStore

    # "heads": each domain's migrations form a branch from the first one.
    upgrade(directory=str(Path(current_app.root_path).parent / "migrations"), revision="heads")
    from qms import clock, signing

    # A demo tells a year and more of history: its repository begins before it.
    with clock.travel(founded(lang)) if demo else contextlib.nullcontext():
        GitStore.init(current_app.config["QMS_DOCUMENTS_REPO"])

    # The key is made now; its public half goes onto main with the first release (a new
    # instance stays empty, so that a backup can still be restored into it).
    signing.ensure_key()
    click.echo(f"Signing key: {signing.key_path()} ({', '.join(signing.fingerprints())})")
    click.echo(f"Database ready: {db.engine.url.render_as_string(hide_password=True)}")
    click.echo(f"Document repository: {current_app.config['QMS_DOCUMENTS_REPO']}")
    if demo:
        from qms.demo import DEMO_USERS, load_demo

        if db.session.scalar(select(User.id).limit(1)) is not None:
            click.echo("The instance has users already; the demo was not loaded again.")
        else:
            with click.progressbar(length=1, label="Loading the starter documents") as bar:

                def progress(done, total):
                    bar.length = total
                    bar.update(done - bar.pos)

                load_demo(lang, progress=progress)
        demo = {u.username for u in db.session.scalars(select(User))}
        if demo.intersection(u[0] for u in DEMO_USERS):
            click.echo("Demo logins (username / password):")
            for username, _name, roles, dept, password in DEMO_USERS:
                if username in demo:
                    click.echo(f"  {username:8} {password:13} {', '.join(roles)} — {dept}")


def _stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


def read_password() -> str:
    """Ask for a password: twice, hidden, on a terminal; else one line of standard input.

    From a pipe the line may come twice (what a script answering both prompts sends);
    two different lines are refused.
    """
    if _stdin_is_terminal():
        return click.prompt("Password", hide_input=True, confirmation_prompt=True)
    lines = sys.stdin.read().splitlines()
    if not lines or not lines[0]:
        raise click.ClickException("No password on standard input.")
    if len(lines) > 1 and lines[1] and lines[1] != lines[0]:
        raise click.ClickException("The two passwords on standard input differ.")
    return lines[0]


def _user(username: str):
    from qms.auth.services import AccountError, user_named

    try:
        return user_named(username)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc


def _refuse_password_option(ctx, param, value):
    if value is not None:
        raise click.UsageError(
            "A password on the command line is seen by other users of this host and kept in"
            " the shell's history. Leave out --password: the command asks for it, or reads"
            " it from standard input (echo ... | flask qms create-user ...).",
            ctx,
        )
    return value


@qms.command("create-user")
@click.argument("username")
@click.option("--role", "roles", multiple=True, required=True, help="May be given several times.")
@click.option("--department", required=True)
@click.option(
    "--password",
    hidden=True,
    expose_value=False,
    callback=_refuse_password_option,
    is_eager=True,
)
@click.option("--name", "full_name", default="")
@click.option("--email", default=None)
@with_appcontext
def create_user_command(username, roles, department, full_name, email):
    """Create a user; asks for the password (or reads it from standard input).

    The department is created when it does not exist yet.
    """
    from qms.auth.services import AccountError, create_user

    password = read_password()
    try:
        create_user(username, password, list(roles), department, full_name, email)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Created {username} ({', '.join(roles)}) in {department}.")


@qms.command("set-password")
@click.argument("username")
@click.option(
    "--final",
    is_flag=True,
    help="Do not make the user choose their own password at the next sign-in.",
)
@with_appcontext
def set_password_command(username, final):
    """Set USERNAME's password (asked for); the user must change it at the next sign-in."""
    from qms.auth.services import AccountError, reset_password

    user = _user(username)
    password = read_password()
    try:
        reset_password(user, password, must_change=not final)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"The password of {username} is set; its sessions have ended.")


@qms.command()
@click.argument("username")
@with_appcontext
def deactivate(username):
    """Switch USERNAME's account off: no sign-in, no session, no API token."""
    from qms.auth.services import AccountError, set_active

    try:
        set_active(_user(username), False)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"The account of {username} is switched off.")


@qms.command()
@click.argument("username")
@with_appcontext
def activate(username):
    """Switch USERNAME's account on again."""
    from qms.auth.services import set_active

    set_active(_user(username), True)
    click.echo(f"The account of {username} is switched on.")


@qms.command("set-roles")
@click.argument("username")
@click.argument("roles", nargs=-1, required=True)
@with_appcontext
def set_roles_command(username, roles):
    """Replace USERNAME's roles by ROLES (staff, author, auditor, approver, admin)."""
    from qms.auth.services import AccountError, set_roles

    try:
        set_roles(_user(username), list(roles))
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{username} now holds: {', '.join(sorted(set(roles)))}.")


@qms.command()
@click.argument("username")
@with_appcontext
def unlock(username):
    """Lift USERNAME's lockout after too many wrong passwords."""
    from qms.auth.services import unlock as unlock_user

    unlock_user(_user(username))
    click.echo(f"The account of {username} is unlocked.")


@qms.command()
@click.argument("username")
@with_appcontext
def tokens(username):
    """List USERNAME's API tokens: id, state, label, created, last use, expiry."""
    from qms.auth.services import token_state, tokens_of

    rows = tokens_of(_user(username))
    if not rows:
        click.echo(f"{username} has no API token.")

    def day(value):
        return value.strftime("%Y-%m-%d %H:%M") if value else "-"

    for t in rows:
        click.echo(
            f"{t.id:>5}  {token_state(t):8} created {day(t.created_at)}"
            f"  last used {day(t.last_used_at)}  expires {day(t.expires_at)}"
            f"  {t.label}".rstrip()
        )


@qms.command("revoke-token")
@click.argument("username")
@click.argument("token_id", type=int)
@with_appcontext
def revoke_token_command(username, token_id):
    """Revoke USERNAME's API token TOKEN_ID (see ``qms tokens``)."""
    from qms.auth.services import AccountError, revoke_token

    try:
        revoke_token(_user(username), token_id)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Token {token_id} of {username} is revoked.")


@qms.command()
@click.argument("username")
@click.option("--days", default=90, show_default=True, help="Days until the token expires.")
@click.option("--label", default="", help="What the token is for.")
@with_appcontext
def token(username, days, label):
    """Create an API token for USERNAME and print it alone on the last line."""
    from qms.auth.services import AccountError, create_token

    try:
        value = create_token(_user(username), days, label)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"API token for {username} (shown once):")
    click.echo(value)


@qms.command()
@click.option("--repair", is_flag=True, help="Fix in the database what git proves.")
@with_appcontext
def check(repair):
    """Compare the database with the document repository and the attachment store."""
    from qms import attachments
    from qms.documents.consistency import check as run_check

    findings = run_check(repair=repair)
    for finding in findings:
        click.echo(("repaired: " if finding.repaired else "problem:  ") + finding.message)
    open_problems = [f for f in findings if not f.repaired]
    if not findings:
        click.echo("The database and the document repository agree.")
    files = attachments.problems()
    for problem in files:
        click.echo("problem:  " + problem)
    if not files:
        click.echo("Every attached file the database names is there and intact.")
    sys.exit(1 if open_problems or files else 0)


@qms.command()
@click.option(
    "--clone",
    "clone",
    type=click.Path(exists=True, file_okay=False),
    help="Verify this plain clone alone, without the database.",
)
@click.option("--fingerprint", multiple=True, help="A signing key the clone must be signed by.")
def verify(clone, fingerprint):
    """Prove the evidence intact: signatures, tags, signed content, trail, roles, records."""
    if clone:
        from qms.clone_verify import main

        args = [clone] + [f"--fingerprint={fp}" for fp in fingerprint]
        sys.exit(main(args))
    _verify_instance()


@with_appcontext
def _verify_instance():
    from qms.verify import verify as run_verify

    problems = run_verify()
    for problem in problems:
        click.echo(f"problem:  {problem}")
    if not problems:
        click.echo(
            "Verified: git is intact, every release and tag is signed and holds its signed "
            "content, the trail matches its anchors, roles and records match the trail."
        )
    sys.exit(1 if problems else 0)


@qms.command("rotate-signing-key")
@with_appcontext
def rotate_signing_key():
    """Retire the signing key and make a new one; the old public key stays allowed until now."""
    from qms import signing, trail
    from qms.uow import transactional

    now = datetime.now(UTC).replace(microsecond=0)
    public, retired = signing.rotate(now)

    @transactional
    def record():
        trail.record(
            "signing.key_rotated",
            "repository",
            signing.ALLOWED_SIGNERS,
            after={"public_key": public, "fingerprints": signing.fingerprints()},
        )

    record()
    commit = signing.publish("Rotate the installation's signing key", retired, now)
    click.echo(f"New signing key: {public}")
    click.echo(f"Published on main: {commit[:10] if commit else 'already there'}")


@qms.command("anchor-trail")
@with_appcontext
def anchor_trail():
    """Anchor the audit trail's head in git now (the job runner does it hourly)."""
    from qms import anchors

    commit = anchors.anchor()
    click.echo(
        f"Anchored: {commit[:10]}" if commit else "The newest anchor names the head already."
    )


@qms.command()
@click.option("--workers", default=2, show_default=True, help="Jobs run at once (threads).")
@click.option(
    "--periodic/--no-periodic",
    default=True,
    show_default=True,
    help="Also run the scheduled jobs (due releases, reminders, sync, notices).",
)
@with_appcontext
def worker(workers, periodic):
    """Run the job worker: imports, mirror pushes and the scheduled jobs, until stopped."""
    import logging

    from qms import jobs

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # Without the password a Redis or PostgreSQL URL may carry.
    click.echo("Job queue: " + re.sub(r"//[^/@]*@", "//…@", current_app.config["QMS_JOBS_URL"]))
    jobs.run_worker(current_app._get_current_object(), workers=workers, periodic=periodic)


@qms.command("release-due")
@click.option(
    "--date",
    "day",
    type=click.DateTime(["%Y-%m-%d"]),
    help="Run as if on this day (the worker runs it daily for the office's today).",
)
@with_appcontext
def release_due(day):
    """Make effective the revisions whose effective date has come (run daily)."""
    from qms.documents.services import apply_due_releases

    try:
        done = apply_due_releases(day.date() if day else None)
    except ServiceError as exc:
        raise click.ClickException(exc.message) from exc
    for rev in done:
        click.echo(f"{rev.document.code} revision {rev.label} is now effective.")


@qms.command()
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), help="Run as if on this day.")
@with_appcontext
def remind(day):
    """E-mail reminders of NCs and actions due soon or overdue, each once (run daily)."""
    from qms.improvement.mail import send_reminders, settings

    if settings() is None:
        click.echo("No SMTP host configured (QMS_SMTP_HOST); no reminder was sent.")
        return
    sent = send_reminders(day.date() if day else None)
    for line in sent:
        click.echo(f"sent: {line}")
    click.echo(f"{len(sent)} reminder(s) sent.")
