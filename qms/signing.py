"""The installation's signing key: an SSH key git signs release commits and tags with.

The private key lives in the instance folder (``QMS_SIGNING_DIR``, by default
``instance/signing/``), never in the database, so someone who can edit the database
still cannot sign. Its public half, and every earlier public half with the time it was
retired, is in ``allowed_signers`` (the format of ``ssh-keygen -Y verify`` and of git's
``gpg.ssh.allowedSignersFile``). That file is committed on main as
``.qms/allowed_signers`` beside the stand-alone verifier ``.qms/verify.py``, so that a
plain clone carries what it needs to check every signature without the application.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask import current_app

from qms import ROOT

#: The principal the installation signs as (git finds it by the key, not by this name).
PRINCIPAL = "qms@localhost"
ALLOWED_SIGNERS = ".qms/allowed_signers"
VERIFIER = ".qms/verify.py"
#: The stand-alone verifier (Python standard library only), copied onto main.
VERIFIER_SOURCE = ROOT / "qms" / "clone_verify.py"


def directory() -> Path:
    """Return the folder holding the key, outside the database."""
    configured = current_app.config.get("QMS_SIGNING_DIR")
    return Path(configured or Path(current_app.config["QMS_INSTANCE"]) / "signing")


def key_path(folder: Path | None = None) -> Path:
    return (folder or directory()) / "key"


def allowed_signers_path(folder: Path | None = None) -> Path:
    return (folder or directory()) / "allowed_signers"


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%d%H%M%SZ")


def _keygen(folder: Path, comment: str) -> str:
    """Write a new ed25519 key pair in ``folder``; return its public line."""
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    key = key_path(folder)
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(key)],
        check=True,
        capture_output=True,
        stdin=subprocess.DEVNULL,
    )
    return key.with_suffix(".pub").read_text().strip()


def generate(folder: Path, now: datetime | None = None) -> None:
    """Make the first key of an installation in ``folder`` (which has none yet)."""
    now = now or datetime.now(UTC)
    public = _keygen(folder, f"QMS signing key {now:%Y-%m-%d}")
    allowed_signers_path(folder).write_text(f'{PRINCIPAL} namespaces="git" {public}\n')


def ensure_key() -> Path:
    """Return the key, making the installation's first one when there is none.

    An installation upgraded from before signing gets its key on first use. The key is
    made in a folder of its own and renamed into place, so two processes starting at
    once end with one key, never two halves.
    """
    key = key_path()
    if not key.exists():
        folder = directory()
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".signing-", dir=folder.parent))
        generate(staging)
        try:
            os.rename(staging, folder)
        except OSError:  # another process made the key first (or left an empty folder)
            shutil.rmtree(staging, ignore_errors=True)
            if not key.exists():
                raise RuntimeError(f"{folder} exists but holds no signing key") from None
    return key


def rotate(now: datetime | None = None) -> tuple[str, Path]:
    """Retire the current key and make a new one; return the new public key and the old key.

    The retired key's line stays in the allowed signers, valid until a second after now,
    so what it signed still verifies and anything it signs later does not. The rotation
    is then published on main signed by the retired key (:func:`publish`), which vouches
    for its successor to anyone checking a clone.
    """
    folder = directory()
    ensure_key()
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    retired = folder / "retired"
    retired.mkdir(exist_ok=True)
    stamp = _stamp(now)
    key = key_path(folder)
    old_public = key.with_suffix(".pub").read_text().strip()
    old_key = retired / f"key-{stamp}"
    key.rename(old_key)
    key.with_suffix(".pub").rename(retired / f"key-{stamp}.pub")
    lines = []
    until = _stamp(now + timedelta(seconds=1))
    for line in allowed_signers_path(folder).read_text().splitlines():
        if line.strip() and line.endswith(old_public) and "valid-before" not in line:
            principal, options, rest = line.split(" ", 2)
            line = f'{principal} {options},valid-before="{until}" {rest}'
        lines.append(line)
    public = _keygen(folder, f"QMS signing key {now:%Y-%m-%d}")
    lines.append(f'{PRINCIPAL} namespaces="git",valid-after="{stamp}" {public}')
    allowed_signers_path(folder).write_text("\n".join(lines) + "\n")
    return public, old_key


def configure(gitstore) -> None:
    """Have ``gitstore`` sign with the key and carry the signers and verifier on main."""
    key = ensure_key()
    gitstore.signing_key = str(key)
    gitstore.main_files = {ALLOWED_SIGNERS: allowed_signers_path().read_bytes()}
    if VERIFIER_SOURCE.exists():
        gitstore.main_files[VERIFIER] = VERIFIER_SOURCE.read_bytes()


def publish(reason: str, signed_by: Path | None = None, when: datetime | None = None) -> str | None:
    """Commit the allowed signers and the verifier on main when main's copy differs.

    Returns the commit, or None when main already carries them. Runs in its own unit of
    work and leaves a trail event, as any change to what proves the evidence must.
    ``signed_by`` signs this commit with another key (a rotation: the retired one), made
    at ``when``, within that key's validity.
    """
    from qms import trail
    from qms.gitstore import SYSTEM, Person, format_message
    from qms.uow import store, transactional

    @transactional
    def _publish() -> str | None:
        gitstore = store()
        ensure_key()
        configure(gitstore)
        main = gitstore.head("refs/heads/main")
        if not gitstore.main_file_changes(main):
            return None
        if main is None or (
            not gitstore.commit_info(main).parents and not gitstore.refs("refs/tags/")
        ):
            return None  # nothing released: the first release carries them (restore needs it)
        if signed_by is not None:
            gitstore.signing_key = str(signed_by)
        try:
            commit = gitstore.commit_on_main(
                {},
                format_message(reason, trailers=[("Signers", ALLOWED_SIGNERS)]),
                Person(*SYSTEM),
                when=when,
            )
        finally:
            gitstore.signing_key = str(key_path())
        trail.record(
            "signing.published",
            "repository",
            ALLOWED_SIGNERS,
            after={"commit": commit, "reason": reason, "fingerprints": fingerprints()},
        )
        return commit

    return _publish()


def fingerprints() -> list[str]:
    """Return the fingerprints of every allowed signer, oldest first."""
    out = []
    for line in allowed_signers_path().read_text().splitlines():
        parts = line.split()
        if len(parts) >= 4:
            done = subprocess.run(
                ["ssh-keygen", "-l", "-f", "-"],
                input=f"{parts[2]} {parts[3]}\n".encode(),
                capture_output=True,
                check=False,
            )
            out.append(done.stdout.decode().split(" ")[1] if done.returncode == 0 else "?")
    return out
