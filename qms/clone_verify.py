#!/usr/bin/env python3
"""Verify a QMS document repository with git and Python alone: no application, no database.

Each installation commits this file on main as ``.qms/verify.py``, beside
``.qms/allowed_signers``: the public keys of the installation's signing key, present and
retired. For an auditor::

    git clone --mirror <repository URL> qms.git
    git -C qms.git show main:.qms/verify.py > verify.py
    python3 verify.py qms.git --fingerprint SHA256:<the key's fingerprint, told you apart>

It checks that ``git fsck`` finds no damage; that every commit on main's first-parent
line since signing began, and every release tag, carries a good signature by an allowed
signer; that every release on main has its tag, on that commit; that each tag's
``Content-Blob`` is the content at its ``Path`` in the tagged commit and the release
commit's own ``Content-Blob``; and that the audit trail's anchors (``refs/qms/trail``,
fetched by ``--mirror``) form one signed, unbroken chain whose sequence never goes back.
Each problem is printed with what, which object and since when; the exit code is 1 when
there is any. It uses only the standard library, so it runs where the QMS does not.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass

MAIN = "refs/heads/main"
TRAIL_REF = "refs/qms/trail"
ALLOWED_SIGNERS = ".qms/allowed_signers"
SIGNATURE_MARK = "-----BEGIN SSH SIGNATURE-----"


@dataclass(frozen=True)
class Problem:
    """One thing that does not verify: what is wrong, with which object, since when."""

    what: str
    object: str
    since: str = ""

    def __str__(self) -> str:
        since = f" (since {self.since})" if self.since else ""
        return f"{self.what}: {self.object}{since}"


class Git:
    """Plain git on one repository, with the allowed signers for signature checks."""

    def __init__(self, repo: str, allowed_signers: str | None = None):
        self.repo = repo
        self.allowed_signers = allowed_signers

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        config = ["-c", "gpg.format=ssh"]
        if self.allowed_signers:
            config += ["-c", f"gpg.ssh.allowedSignersFile={self.allowed_signers}"]
        return subprocess.run(
            ["git", "-C", self.repo, *config, *args],
            capture_output=True,
            text=True,
            check=check,
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"},
        )

    def out(self, *args: str) -> str:
        return self.run(*args).stdout

    def ok(self, *args: str) -> bool:
        return self.run(*args, check=False).returncode == 0

    def value(self, *args: str) -> str | None:
        done = self.run(*args, check=False)
        return done.stdout.strip() if done.returncode == 0 else None


def trailers(message: str) -> dict[str, list[str]]:
    """Return the ``Key: value`` lines of a message's last paragraph."""
    paragraphs = [p for p in message.strip().split("\n\n") if p.strip()]
    if len(paragraphs) < 2:
        return {}
    found: dict[str, list[str]] = {}
    for line in paragraphs[-1].splitlines():
        key, sep, value = line.partition(": ")
        if not sep or not key or " " in key:
            return {}
        found.setdefault(key, []).append(value.strip())
    return found


def last(found: dict[str, list[str]], key: str) -> str | None:
    values = found.get(key)
    return values[-1] if values else None


def _log(git: Git, ref: str) -> list[tuple[str, str, str, str, list[str]]]:
    """Return (sha, committer date, signature status, message, parents) oldest first."""
    sep, end = "\x1f", "\x1e"
    out = git.out(
        "log",
        "--first-parent",
        "--reverse",
        f"--format=%H{sep}%cI{sep}%G?{sep}%P{sep}%B{end}",
        ref,
        "--",
    )
    entries = []
    for chunk in out.split(end):
        chunk = chunk.lstrip("\n")
        if chunk:
            sha, date, status, parents, message = chunk.split(sep, 4)
            entries.append((sha, date, status, message, parents.split()))
    return entries


def verify_repository(
    repo: str, allowed_signers: str | None = None, fingerprints: list[str] | None = None
) -> tuple[list[Problem], list[str]]:
    """Return the problems found in the repository at ``repo`` and notes on what was checked.

    ``allowed_signers`` is a file to check signatures against; by default main's own
    ``.qms/allowed_signers``. ``fingerprints``, when given, are the keys the auditor was
    told apart: main's allowed signers must name each and no other.
    """
    problems: list[Problem] = []
    notes: list[str] = []
    git = Git(repo)
    if git.value("rev-parse", "--verify", "--quiet", f"{MAIN}^{{commit}}") is None:
        return [Problem("the repository has no main branch", repo)], notes
    fsck = git.run("fsck", "--strict", "--no-progress", check=False)
    if fsck.returncode != 0:
        for line in (fsck.stderr + fsck.stdout).strip().splitlines()[:20]:
            problems.append(Problem("git fsck finds damage", line.strip()))
    with tempfile.TemporaryDirectory(prefix="qms-verify-") as tmp:
        if allowed_signers is None:
            content = git.value("show", f"{MAIN}:{ALLOWED_SIGNERS}")
            if content is None:
                released = git.out("for-each-ref", "--count=1", "refs/tags/").strip()
                if not released and len(git.out("rev-list", MAIN).split()) <= 1:
                    notes.append("nothing was released yet: there is nothing signed to check")
                else:
                    problems.append(Problem("main carries no allowed signers", ALLOWED_SIGNERS))
                return problems, notes
            allowed_signers = os.path.join(tmp, "allowed_signers")
            with open(allowed_signers, "w", encoding="utf-8") as f:
                f.write(content + "\n")
        if fingerprints:
            problems += _fingerprints(allowed_signers, fingerprints)
        git = Git(repo, allowed_signers)
        main_log = _log(git, MAIN)
        signed_from = _signing_start(git)
        problems += _main_signatures(main_log, signed_from, notes)
        problems += _signer_changes(git, signed_from, tmp)
        problems += _tags(git, main_log, signed_from, notes)
        problems += _anchors(git, notes)
    return problems, notes


def _fingerprints(allowed_signers: str, expected: list[str]) -> list[Problem]:
    found = set()
    with open(allowed_signers, encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 4:
                key = subprocess.run(
                    ["ssh-keygen", "-l", "-f", "-"],
                    input=f"{parts[2]} {parts[3]}\n",
                    capture_output=True,
                    text=True,
                    check=False,
                )
                if key.returncode == 0:
                    found.add(key.stdout.split()[1])
    # Each key added later was vouched for by an earlier one (_signer_changes), so one
    # fingerprint learnt apart anchors the whole line of keys.
    return [
        Problem("a key you were given is not among the allowed signers", fp)
        for fp in expected
        if fp not in found
    ]


def _signing_start(git: Git) -> str | None:
    """Return the first commit on main's first-parent line carrying the allowed signers."""
    out = git.out(
        "log", "--first-parent", "--reverse", "--format=%H", MAIN, "--", ALLOWED_SIGNERS
    ).split()
    return out[0] if out else None


def _main_signatures(main_log, signed_from: str | None, notes: list[str]) -> list[Problem]:
    """Every commit on main since signing began is signed by an allowed signer."""
    problems = []
    signing = False
    unsigned_before = 0
    for sha, date, status, _message, _parents in main_log:
        signing = signing or sha == signed_from
        if not signing:
            unsigned_before += status != "G"
            continue
        if status != "G":
            problems.append(Problem(_status_text(status, "commit on main"), sha, date))
    if unsigned_before:
        notes.append(f"{unsigned_before} commit(s) on main are from before signing began")
    notes.append(f"{len(main_log)} commit(s) on main checked")
    return problems


def _signer_changes(git: Git, signed_from: str | None, tmp: str) -> list[Problem]:
    """Each change of the allowed signers is signed by a key the version before allowed.

    So a key can only be added by one already trusted: replacing the file and re-signing
    everything with a key of one's own needs history rewritten back to where signing
    began, which the fingerprints the auditor was given then show.
    """
    problems = []
    changes = git.out(
        "log", "--first-parent", "--reverse", "--format=%H %cI", MAIN, "--", ALLOWED_SIGNERS
    ).splitlines()
    for line in changes:
        sha, date = line.split(" ", 1)
        if sha == signed_from:
            continue
        before = git.value("show", f"{sha}^1:{ALLOWED_SIGNERS}")
        if before is None:
            problems.append(Problem("the allowed signers were removed and put back", sha, date))
            continue
        path = os.path.join(tmp, f"signers-{sha}")
        with open(path, "w", encoding="utf-8") as f:
            f.write(before + "\n")
        if not Git(git.repo, path).ok("verify-commit", sha):
            problems.append(
                Problem(
                    "the allowed signers were changed by a commit no earlier signer signed",
                    sha,
                    date,
                )
            )
    return problems


def _status_text(status: str, what: str) -> str:
    return {
        "N": f"an unsigned {what}",
        "B": f"a {what} whose signature does not match its content",
        "E": f"a {what} signed by a key that is not an allowed signer",
        "U": f"a {what} signed by a key that is not an allowed signer",
        "X": f"a {what} with an expired signature",
        "Y": f"a {what} signed by a key no longer valid then",
        "R": f"a {what} signed by a revoked key",
    }.get(status, f"a {what} whose signature does not verify")


def _tags(git: Git, main_log, signed_from: str | None, notes: list[str]) -> list[Problem]:
    """Every release on main is tagged on its commit; every tag is signed and names its blob."""
    problems = []
    position = {sha: i for i, (sha, *_rest) in enumerate(main_log)}
    start = position.get(signed_from, len(main_log)) if signed_from else len(main_log)
    sep = "\x1f"
    tags = {}
    for line in git.out(
        "for-each-ref",
        f"--format=%(refname){sep}%(objecttype){sep}%(objectname){sep}%(*objectname)",
        "refs/tags/",
    ).splitlines():
        ref, kind, obj, peeled = line.split(sep)
        tags[ref.removeprefix("refs/tags/")] = (kind, obj, peeled or obj)
    for sha, date, _status, message, _parents in main_log:
        found = trailers(message)
        codes = found.get("Document") or []
        label = last(found, "Revision")
        if last(found, "Obsolete") == "yes" or not label or len(codes) != 1:
            continue
        name = f"{codes[0]}/{label}"
        tag = tags.get(name)
        if tag is None:
            problems.append(Problem("a release on main has no tag", f"{name} ({sha[:10]})", date))
        elif tag[2] != sha:
            problems.append(
                Problem(
                    "a release tag names another commit than the release on main",
                    f"{name}: tag {tag[2][:10]}, release {sha[:10]}",
                    date,
                )
            )
    by_sha = {sha: (date, message) for sha, date, _s, message, _p in main_log}
    for name, (kind, obj, commit) in sorted(tags.items()):
        signed_era = position.get(commit, len(main_log)) >= start
        date, message = by_sha.get(commit, ("", ""))
        if commit not in by_sha:
            problems.append(
                Problem("a tag names a commit outside main's history", f"{name} ({commit[:10]})")
            )
        if kind != "tag":
            problems.append(Problem("a lightweight, unsigned tag", name, date))
            continue
        raw = git.out("cat-file", "tag", obj)
        body = raw.split("\n\n", 1)[1] if "\n\n" in raw else ""
        signed = SIGNATURE_MARK in body
        body = body.split(SIGNATURE_MARK, 1)[0]
        if (signed or signed_era) and not git.ok("verify-tag", obj):
            problems.append(
                Problem(
                    "a tag whose signature does not verify"
                    if signed
                    else "an unsigned release tag",
                    name,
                    date,
                )
            )
        tag_trailers = trailers(body)
        blob = last(tag_trailers, "Content-Blob")
        path = last(tag_trailers, "Path")
        if blob is None or path is None:
            if signed_era:
                problems.append(Problem("a release tag names no Content-Blob", name, date))
            continue
        if f"{last(tag_trailers, 'Document')}/{last(tag_trailers, 'Revision')}" != name:
            problems.append(Problem("a tag's trailers name another revision", name, date))
        actual = git.value("rev-parse", "--verify", "--quiet", f"{commit}:{path}")
        if actual != blob:
            problems.append(
                Problem(
                    "the tagged commit does not hold the tag's Content-Blob",
                    f"{name}: {path} is {(actual or 'absent')[:10]}, the tag says {blob[:10]}",
                    date,
                )
            )
        commit_blob = last(trailers(message), "Content-Blob")
        if commit_blob is not None and commit_blob != blob:
            problems.append(
                Problem(
                    "a tag's Content-Blob differs from its release commit's",
                    f"{name}: {blob[:10]} / {commit_blob[:10]}",
                    date,
                )
            )
    notes.append(f"{len(tags)} tag(s) checked")
    return problems


def _anchors(git: Git, notes: list[str]) -> list[Problem]:
    """The trail's anchors: one signed line of commits whose sequence never goes back."""
    if git.value("rev-parse", "--verify", "--quiet", f"{TRAIL_REF}^{{commit}}") is None:
        notes.append(f"no trail anchors ({TRAIL_REF}); clone with --mirror to check them")
        return []
    problems = []
    previous: tuple[int, str] | None = None
    entries = _log(git, TRAIL_REF)
    for index, (sha, date, status, message, parents) in enumerate(entries):
        if status != "G":
            problems.append(Problem(_status_text(status, "trail anchor"), sha, date))
        if len(parents) != (0 if index == 0 else 1):
            problems.append(Problem("the trail anchors are not one line", sha, date))
        found = trailers(message)
        try:
            seq = int(last(found, "Trail-Seq") or "")
        except ValueError:
            problems.append(Problem("a trail anchor names no sequence", sha, date))
            continue
        head = last(found, "Trail-Hash") or ""
        if previous is not None:
            if seq < previous[0]:
                problems.append(
                    Problem(
                        "the trail went back: an anchor names an earlier event than the one "
                        "before it",
                        f"{sha[:10]}: event {seq} after event {previous[0]}",
                        date,
                    )
                )
            elif seq == previous[0] and head != previous[1]:
                problems.append(
                    Problem("two anchors give one event two hashes", f"event {seq}", date)
                )
        previous = (seq, head)
    notes.append(f"{len(entries)} trail anchor(s) checked")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("repository", nargs="?", default=".", help="a clone (bare or not)")
    parser.add_argument(
        "--allowed-signers", help="check against this file instead of main's own copy"
    )
    parser.add_argument(
        "--fingerprint",
        action="append",
        default=[],
        help="a signing key's fingerprint you were told apart (may be repeated)",
    )
    args = parser.parse_args(argv)
    problems, notes = verify_repository(args.repository, args.allowed_signers, args.fingerprint)
    for note in notes:
        print(f"checked:  {note}")
    for problem in problems:
        print(f"problem:  {problem}")
    if not problems:
        print("The repository verifies: every signature, tag and anchor is intact.")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
