"""``flask qms import / export / backup / restore / mirror-push``.

The factory adds :data:`COMMANDS` to the ``flask qms`` group (``register_commands``).
"""

import functools
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from qms.errors import ServiceError


def in_request(command):
    """Run a command inside a request context: messages are translated through one."""

    @functools.wraps(command)
    def wrapped(*args, **kwargs):
        with current_app.test_request_context():
            return command(*args, **kwargs)

    return wrapped


class _Bars:
    """One click progress bar per stage, each replacing the last."""

    LABELS = {
        "converting": "Converting the files",
        "checking": "Checking the rules  ",
        "writing": "Writing to git      ",
        "recording": "Recording           ",
    }

    def __init__(self):
        self.bar = None
        self.stage = None

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage != self.stage:
            self.close()
            self.stage = stage
            self.bar = click.progressbar(length=max(total, 1), label=self.LABELS.get(stage, stage))
            self.bar.__enter__()
        self.bar.update(done - self.bar.pos)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


def _actor(username: str | None):
    from qms.auth.models import User
    from qms.extensions import db

    stmt = select(User).where(User.active.is_(True))
    if username:
        user = db.session.scalar(stmt.where(User.username == username))
        if user is None:
            raise click.ClickException(f"There is no active user {username}.")
        return user
    admins = [u for u in db.session.scalars(stmt.order_by(User.id)) if u.has_role("admin")]
    if not admins:
        raise click.ClickException("The import is signed by an administrator; create one first.")
    return admins[0]


def _show_problems(detail) -> None:
    for source, problems in (detail or {}).items():
        for problem in problems:
            click.echo(f"  {source or '(mapping)'}: {problem}", err=True)


@click.command("import")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--mapping", type=click.File("rb"), help="CSV: file, code, title, type[, parent].")
@click.option("--pattern", help="Regular expression for file names, with groups code and title.")
@click.option(
    "--type",
    "types",
    multiple=True,
    metavar="PREFIX=TYPE",
    help="Type for a code prefix, e.g. REC=record_form (may be repeated).",
)
@click.option("--dry-run", is_flag=True, help="List what would be created and every problem.")
@click.option("--user", "username", help="Administrator who signs the import (default: first).")
@with_appcontext
@in_request
def import_command(path, mapping, pattern, types, dry_run, username):
    """Import a folder or zip of DOCX, ODT, HTML and Markdown files, all or nothing."""
    from qms.transfer import importing
    from qms.transfer import services as transfer

    type_map = {}
    for pair in types:
        prefix, sep, doc_type = pair.partition("=")
        if not sep:
            raise click.BadParameter("use PREFIX=TYPE", param_hint="--type")
        type_map[prefix.strip().upper()] = doc_type.strip()
    actor = _actor(username)
    mapping_data = mapping.read() if mapping else None
    bars = _Bars()
    try:
        if dry_run:
            prepared = importing.prepare(path, mapping_data, pattern, type_map, bars)
            bars.close()
            plan = prepared.plan
            for item in plan.items:
                mark = "problem" if item.problems else "create "
                click.echo(
                    f"{mark} {item.code or '?':14} {item.doc_type or '?':17} "
                    f"{item.parent or '-':12} {item.title}  ({item.source}, {item.images} images)"
                )
                for problem in item.problems:
                    click.echo(f"        {item.source}: {problem}", err=True)
            for problem in plan.problems:
                click.echo(f"problem {problem}", err=True)
            for name in plan.skipped:
                click.echo(f"skipped {name}")
            click.echo(
                f"{len(plan.items)} documents, {plan.problem_count} problems. Nothing was written."
            )
            sys.exit(1 if plan.problem_count else 0)
        commit, prepared = transfer.import_files(actor, path, mapping_data, pattern, type_map, bars)
        bars.close()
    except ServiceError as exc:
        bars.close()
        _show_problems(exc.detail if isinstance(exc.detail, dict) else None)
        raise click.ClickException(exc.message) from exc
    click.echo(f"Imported {len(prepared.items)} documents in commit {commit[:10]}.")


@click.command("export")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
@in_request
def export_command(path):
    """Write a zip of DOCX and PDF copies, the register (CSV, XLSX) and the records (CSV)."""
    from qms.transfer import exporting

    with click.progressbar(length=1, label="Rendering controlled copies") as bar:

        def progress(done, total):
            bar.length = total
            bar.update(done - bar.pos)

        counts = exporting.export(path, progress)
    click.echo(
        f"Exported {counts['documents']} documents and the records of "
        f"{counts['record_forms']} forms to {path}."
    )


@click.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
@in_request
def backup_command(file):
    """Write the database (portable JSON), the repository (git bundle) and every attached
    file to FILE."""
    from qms.transfer import backup

    try:
        manifest = backup.backup(file)
    except ServiceError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(
        f"Backed up {sum(manifest['rows'].values())} rows, the repository and "
        f"{len(manifest['attachments'])} attached files to {file}."
    )
    if manifest["unreadable"]:
        for sha, problem in sorted(manifest["unreadable"].items()):
            click.echo(f"not in the backup: attachment {sha} is {problem}", err=True)
        raise click.ClickException(
            f"{len(manifest['unreadable'])} attached files named by the database could not be "
            "backed up (see above; qms check lists them)."
        )


@click.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
@in_request
def restore_command(file):
    """Restore FILE into this instance, which must be new and empty."""
    from flask_migrate import upgrade

    from qms.transfer import backup

    upgrade(directory=str(Path(current_app.root_path).parent / "migrations"), revision="heads")
    try:
        manifest = backup.restore(file)
    except ServiceError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(
        f"Restored {sum(manifest['rows'].values())} rows, the repository and "
        f"{len(manifest.get('attachments', {}))} attached files "
        f"(backup of {manifest['created_at']})."
    )


@click.command("mirror-push")
@with_appcontext
@in_request
def mirror_push_command():
    """Push main and the tags to QMS_MIRROR_URL now and show the result."""
    from qms.transfer import mirror

    if mirror.mirror_url() is None:
        raise click.ClickException("No mirror is configured (QMS_MIRROR_URL).")
    try:
        pushed = mirror.push_now()
    except mirror.PushFailed as exc:
        raise click.ClickException(f"The push failed: {exc}") from exc
    if pushed:
        click.echo(f"Pushed to {mirror.status()['url']}.")
    else:
        click.echo("The job worker is pushing already; the status page shows the result.")


COMMANDS = (import_command, export_command, backup_command, restore_command, mirror_push_command)
