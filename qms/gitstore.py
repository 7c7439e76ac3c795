"""The document repository: the only module that talks to git.

One bare repository per installation. Nothing is checked out: blobs are written to
the object database, trees are built in a throw-away index, commits are made with
``commit-tree`` and refs move only by compare-and-swap (``update-ref REF NEW OLD``),
so several processes or hosts can write at once without losing an update.

``refs/heads/main`` holds the effective documents; a draft revision lives on
``refs/heads/drafts/<code>/<revision>``; a released revision is tagged
``<code>/<revision>``. A release is a merge of the draft into main, so the draft's
saves stay in ``git log`` after its branch is deleted.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path

import git
from git.exc import BadName, GitCommandError
from gitdb.base import IStream
from gitdb.db.loose import LooseObjectDB

from qms import clock

MAIN = "refs/heads/main"
#: The refs the application moves (besides main); others, like refs/upstream/, are fetched.
MANAGED_PREFIXES = ("refs/heads/drafts/", "refs/tags/", "refs/qms/")
#: The signed chain of audit-trail anchors (see :mod:`qms.anchors`).
TRAIL_REF = "refs/qms/trail"
ZERO = "0" * 40
SYSTEM = ("QMS tracker", "qms@localhost")


class GitStoreError(RuntimeError):
    """Git refused an operation."""


class RefConflict(GitStoreError):
    """A ref moved since it was read: someone else wrote first."""


@dataclass(frozen=True)
class Person:
    name: str
    email: str


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    message: str
    author: str
    authored_at: datetime
    trailers: dict[str, list[str]]
    parents: tuple[str, ...]

    @property
    def subject(self) -> str:
        return self.message.split("\n", 1)[0]

    def trailer(self, key: str) -> str | None:
        values = self.trailers.get(key)
        return values[-1] if values else None


def draft_ref(code: str, revision: str) -> str:
    return f"refs/heads/drafts/{code}/{revision}"


def tag_name(code: str, revision: str) -> str:
    return f"{code}/{revision}"


def format_message(subject: str, body: str = "", trailers: list[tuple[str, str]] = ()) -> str:
    """Build a commit message whose trailers ``git log`` and ``interpret-trailers`` read."""
    parts = [subject.strip().replace("\n", " ")]
    if body.strip():
        parts.append(body.strip())
    if trailers:
        lines = [f"{k}: {' '.join(str(v).split())}" for k, v in trailers if v not in (None, "")]
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


def parse_trailers(message: str) -> dict[str, list[str]]:
    """Return the ``Key: value`` lines of the message's last paragraph."""
    paragraphs = [p for p in message.strip().split("\n\n") if p.strip()]
    if len(paragraphs) < 2:
        return {}
    result: dict[str, list[str]] = {}
    for line in paragraphs[-1].splitlines():
        key, sep, value = line.partition(": ")
        if not sep or not key or " " in key:
            return {}
        result.setdefault(key, []).append(value.strip())
    return result


class GitStore:
    """A bare document repository on disk."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        try:
            self.repo = git.Repo(self.path)
        except (git.NoSuchPathError, git.InvalidGitRepositoryError) as exc:
            raise GitStoreError(f"No document repository at {self.path}") from exc
        self.git = self.repo.git
        #: Ref moves queued by the unit of work: ref -> (value it was read at, new value).
        #: None outside a unit of work, where refs cannot move (see :mod:`qms.uow`).
        self.pending: dict[str, tuple[str | None, str | None]] | None = None
        #: The installation's private SSH signing key; commits on main and tags are signed
        #: with it when set (see :mod:`qms.signing`).
        self.signing_key: str | None = None
        #: Files every commit on main carries (the allowed signers, the clone verifier):
        #: path -> content, added to a commit on main whenever main's copy differs.
        self.main_files: dict[str, bytes] = {}

    @classmethod
    def init(cls, path: str | os.PathLike) -> GitStore:
        """Create the bare repository with an initial empty commit on main, if needed."""
        path = Path(path)
        if not (path / "HEAD").exists():
            path.mkdir(parents=True, exist_ok=True)
            git.Repo.init(path, bare=True, initial_branch="main")
        store = cls(path)
        if store.head(MAIN) is None:
            tree = store._write_tree(None, {})
            commit = store._commit_tree(
                tree,
                [],
                format_message("Initialise the QMS document repository"),
                Person(*SYSTEM),
            )
            store.publish_refs([(MAIN, commit, None)])
        return store

    def close(self) -> None:
        self.repo.close()

    # -- reading -------------------------------------------------------------------------

    def head(self, ref: str) -> str | None:
        """Return the commit a ref points at, or None when it does not exist.

        Inside a unit of work a ref moved by it reads as moved, though git has not yet
        published the move.
        """
        if self.pending is not None and ref in self.pending:
            value = self.pending[ref][1]
            if value is None:
                return None
            return self.git.rev_parse("--verify", "--quiet", f"{value}^{{commit}}")
        try:
            return self.git.rev_parse("--verify", "--quiet", f"{ref}^{{commit}}")
        except GitCommandError:
            return None

    def ref_value(self, ref: str) -> str | None:
        """Return the object a ref names as git has it now (a tag's own id, not peeled)."""
        try:
            return self.git.rev_parse("--verify", "--quiet", ref)
        except GitCommandError:
            return None

    def ref_values(self, refs: list[str]) -> dict[str, str | None]:
        """Return :meth:`ref_value` of each of ``refs``, read by one git process."""
        if not refs:
            return {}
        out = self.git.for_each_ref("--format=%(refname) %(objectname)", *refs)
        found = dict(line.split(" ", 1) for line in out.splitlines() if line)
        # A pattern also matches the refs below it (refs/heads/main/x): keep exact names.
        return {ref: found.get(ref) for ref in refs}

    def managed_refs(self) -> dict[str, str]:
        """Return main, every draft branch and every tag with the object each names."""
        out = self.git.for_each_ref(
            "--format=%(refname) %(objectname)",
            MAIN,
            "refs/heads/drafts/",
            "refs/tags/",
            "refs/qms/",
        )
        return dict(line.split(" ", 1) for line in out.splitlines())

    def read(self, commit: str, path: str) -> bytes | None:
        """Return the content of ``path`` at ``commit``, or None when absent."""
        try:
            return (self.repo.commit(commit).tree / path).data_stream.read()
        except (KeyError, ValueError, BadName):
            return None

    def blob_id(self, commit: str, path: str) -> str | None:
        """Return the blob id of ``path`` at ``commit``, or None when absent."""
        try:
            return (self.repo.commit(commit).tree / path).hexsha
        except (KeyError, ValueError, BadName):
            return None

    def read_blob(self, sha: str) -> bytes:
        return self.repo.odb.stream(bytes.fromhex(sha)).read()

    def has_object(self, sha: str) -> bool:
        """Whether the repository holds object ``sha``, loose or packed.

        (GitPython's ``odb.has_object`` looks at loose objects only: after a restore, a
        clone or ``git gc`` everything is packed.)
        """
        try:
            self.repo.odb.info(bytes.fromhex(sha))
        except (ValueError, BadName):
            return False
        return True

    def files(self, commit: str) -> dict[str, str]:
        """Return every file path at ``commit`` with its blob id."""
        return {
            item.path: item.hexsha
            for item in self.repo.commit(commit).tree.traverse()
            if item.type == "blob"
        }

    def folder(self, commit: str, path: str) -> dict[str, str]:
        """Return the files under folder ``path`` at ``commit`` by path inside it, with blob ids."""
        try:
            tree = self.repo.commit(commit).tree / path
        except (KeyError, ValueError, BadName):
            return {}
        if tree.type != "tree":
            return {}
        return {
            item.path[len(path) + 1 :]: item.hexsha
            for item in tree.traverse()
            if item.type == "blob"
        }

    def commit_info(self, sha: str) -> CommitInfo:
        commit = self.repo.commit(sha)
        return CommitInfo(
            sha=commit.hexsha,
            message=commit.message,
            author=f"{commit.author.name} <{commit.author.email}>",
            authored_at=commit.authored_datetime,
            trailers=parse_trailers(commit.message),
            parents=tuple(p.hexsha for p in commit.parents),
        )

    def log(self, ref: str = MAIN, first_parent: bool = True) -> list[CommitInfo]:
        """Return the commits reachable from ``ref``, newest first."""
        return [
            self.commit_info(c.hexsha)
            for c in self.repo.iter_commits(ref, first_parent=first_parent)
        ]

    def first_parent_changes(
        self, ref: str = MAIN
    ) -> list[tuple[CommitInfo, datetime, dict[str, str | None]]]:
        """Return ``ref``'s first-parent commits, oldest first, in one ``git log``.

        ``ref`` may be a range (``OLD..refs/heads/main``) to read only the newer commits.

        Each comes with its commit time and the files it changed against its first parent
        (path -> new blob id, None when deleted): a release merges its draft, and only what
        the merge brought onto main counts.
        """
        out = self.git.log(
            "--first-parent",
            "--diff-merges=first-parent",
            "--raw",
            "--no-abbrev",
            "--no-renames",
            "--reverse",
            "--format=%x1e%H%x1f%P%x1f%an <%ae>%x1f%at%x1f%ct%x1f%B%x1f",
            ref,
            "--",
        )
        result = []
        for record in out.split("\x1e")[1:]:
            sha, parents, author, authored, committed, message, raw = record.split("\x1f", 6)
            changes: dict[str, str | None] = {}
            for line in raw.splitlines():
                if not line.startswith(":"):
                    continue
                meta, _tab, path = line.partition("\t")
                fields = meta.split()
                changes[path] = None if fields[4].startswith("D") else fields[3]
            info = CommitInfo(
                sha=sha,
                message=message,
                author=author,
                authored_at=datetime.fromtimestamp(int(authored), UTC),
                trailers=parse_trailers(message),
                parents=tuple(parents.split()),
            )
            result.append((info, datetime.fromtimestamp(int(committed), UTC), changes))
        return result

    def refs(self, prefix: str) -> dict[str, str]:
        """Return the refs under ``prefix`` with the commits they point at."""
        out = self.git.for_each_ref("--format=%(refname) %(objectname) %(*objectname)", prefix)
        result = {}
        for line in out.splitlines():
            name, obj, peeled = (line.split(" ") + [""])[:3]
            result[name] = peeled or obj  # annotated tags peel to their commit
        return result

    def locked_refs(self) -> list[str]:
        """Return the managed refs that have a lock file beside them."""
        names = [
            lock.relative_to(self.path).as_posix().removesuffix(".lock")
            for lock in (self.path / "refs").rglob("*.lock")
        ]
        if (self.path / "HEAD.lock").exists() or (self.path / "packed-refs.lock").exists():
            names.append(MAIN)  # HEAD names main; packed refs are every ref's, main's too
        return sorted({n for n in names if n == MAIN or n.startswith(MANAGED_PREFIXES)})

    def remove_stale_locks(self, refs: list[str], packed_after: float = 2.0) -> list[str]:
        """Remove the lock files of ``refs``, which the caller knows nobody is moving.

        A ``git update-ref`` killed mid-way leaves ``<ref>.lock`` behind, and git then
        refuses every move of that ref. The unit of work calls this while it holds the
        refs' rows, when no living process can be publishing them. ``packed-refs.lock``
        may belong to any ref, so it goes only once it is older than ``packed_after``
        seconds: a fetch of upstream refs may hold it, for milliseconds.
        """
        removed = []
        locks = [self.path / f"{ref}.lock" for ref in refs]
        if MAIN in refs:
            locks.append(self.path / "HEAD.lock")
        packed = self.path / "packed-refs.lock"
        with contextlib.suppress(FileNotFoundError):
            if time.time() - packed.stat().st_mtime > packed_after:
                locks.append(packed)
        for lock in locks:
            with contextlib.suppress(FileNotFoundError):
                lock.unlink()
                removed.append(lock.name)
        return removed

    def fsck(self) -> str:
        """Run ``git fsck --strict`` and return its output; raise when it finds damage."""
        try:
            return self.git.fsck("--strict", "--no-progress")
        except GitCommandError as exc:
            raise GitStoreError(exc.stderr or str(exc)) from exc

    # -- writing -------------------------------------------------------------------------

    def _store(self, kind: bytes, content: bytes) -> str:
        """Write a loose object in this process and return its id.

        GitPython's object database would run ``git hash-object`` for each object; gitdb's
        loose-object writer, which it builds on, writes the same file (compressed to a
        temporary file, then renamed into place) without a process.
        """
        istream = LooseObjectDB.store(self.repo.odb, IStream(kind, len(content), BytesIO(content)))
        return istream.hexsha.decode() if isinstance(istream.hexsha, bytes) else istream.hexsha

    def write_blob(self, content: bytes) -> str:
        """Store ``content`` as a blob and return its id."""
        return self._store(b"blob", content)

    def _write_tree(self, base_commit: str | None, changes: dict[str, str | None]) -> str:
        """Return a tree: ``base_commit``'s tree with ``changes`` (path -> blob, None deletes)."""
        if base_commit is None and all(blob and "/" not in path for path, blob in changes.items()):
            # A flat tree of new files (the trail's anchor) is written here, in one object.
            entries = b"".join(
                b"100644 " + path.encode("utf-8") + b"\0" + bytes.fromhex(blob)
                for path, blob in sorted(changes.items(), key=lambda item: item[0].encode())
            )
            return self._store(b"tree", entries)
        fd, index = tempfile.mkstemp(prefix="qms-index-")
        os.close(fd)
        os.unlink(index)  # git wants to create the index file itself
        env = {"GIT_INDEX_FILE": index}
        try:
            if base_commit:
                self.git.read_tree(base_commit, env=env)
            # --index-info takes additions and removals alike (mode 0 removes) and, unlike
            # --force-remove, needs no work tree.
            lines = "".join(
                f"100644 {blob}\t{path}\n" if blob else f"0 {ZERO}\t{path}\n"
                for path, blob in changes.items()
            )
            with tempfile.TemporaryFile() as stdin:
                stdin.write(lines.encode("utf-8"))
                stdin.seek(0)
                self.git.update_index("--index-info", istream=stdin, env=env)
            return self.git.write_tree(env=env)
        finally:
            for leftover in (index, index + ".lock"):
                if os.path.exists(leftover):
                    os.unlink(leftover)

    def _commit_tree(
        self,
        tree: str,
        parents: list[str],
        message: str,
        author: Person,
        when: datetime | None = None,
        sign: bool = False,
    ) -> str:
        env = {
            "GIT_AUTHOR_NAME": author.name,
            "GIT_AUTHOR_EMAIL": author.email,
            "GIT_COMMITTER_NAME": SYSTEM[0],
            "GIT_COMMITTER_EMAIL": SYSTEM[1],
        }
        # The demo's history is committed on the dates it tells.
        when = when or clock.travelled()
        if when is not None:
            env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = when.isoformat()
        args = [tree]
        if sign and self.signing_key:
            env.update(self._signing_config())
            args.append("-S")
        for parent in parents:
            args += ["-p", parent]
        fd, msgfile = tempfile.mkstemp(prefix="qms-msg-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(message)
            return self.git.commit_tree(*args, "-F", msgfile, env=env)
        finally:
            os.unlink(msgfile)

    def _signing_config(self) -> dict[str, str]:
        """Return the environment that has git sign with the installation's SSH key."""
        return {
            "GIT_CONFIG_COUNT": "2",
            "GIT_CONFIG_KEY_0": "gpg.format",
            "GIT_CONFIG_VALUE_0": "ssh",
            "GIT_CONFIG_KEY_1": "user.signingkey",
            "GIT_CONFIG_VALUE_1": self.signing_key,
        }

    def ssh_sign(self, payload: bytes) -> bytes:
        """Return the armoured SSH signature of ``payload`` in git's namespace."""
        import subprocess

        done = subprocess.run(
            ["ssh-keygen", "-q", "-Y", "sign", "-n", "git", "-f", self.signing_key],
            input=payload,
            capture_output=True,
            check=False,
        )
        if done.returncode != 0:
            raise GitStoreError(done.stderr.decode(errors="replace") or "ssh-keygen failed")
        return done.stdout

    def update_ref(self, ref: str, new: str | None, old: str | None) -> None:
        """Queue moving ``ref`` from ``old`` to ``new`` (None: create / delete).

        Nothing moves yet: the unit of work publishes every queued move in one
        compare-and-swap transaction when it commits (:meth:`publish`). Raises
        :class:`RefConflict` when this unit of work already moved the ref elsewhere.
        """
        if self.pending is None:
            raise GitStoreError("Refs move only inside a unit of work (qms.uow).")
        if ref in self.pending:
            read_at, current = self.pending[ref]
            if current != old:
                raise RefConflict(f"{ref} moved since it was read")
        else:
            read_at = old
        self.pending[ref] = (read_at, new)

    def commit_on(
        self,
        ref: str,
        changes: dict[str, str | None],
        message: str,
        author: Person,
        expected: str | None,
        extra_parents: tuple[str, ...] = (),
        start: str | None = None,
        when: datetime | None = None,
        sign: bool = False,
        whole_tree: bool = False,
    ) -> str:
        """Commit ``changes`` on top of ``ref`` if it still points at ``expected``.

        ``start`` is the first parent when the ref does not exist yet (a new draft branches
        off main). With ``whole_tree``, ``changes`` is the commit's whole tree rather than
        changes to the parent's. Raises :class:`RefConflict` when someone else moved the ref
        first.
        """
        parent = expected or start
        tree = self._write_tree(None if whole_tree else parent, changes)
        parents = [p for p in (parent, *extra_parents) if p]
        commit = self._commit_tree(tree, parents, message, author, when, sign=sign)
        self.update_ref(ref, commit, expected)
        return commit

    def commit_on_main(
        self,
        changes: dict[str, str | None],
        message: str,
        author: Person,
        extra_parents: tuple[str, ...] = (),
        when: datetime | None = None,
    ) -> str:
        """Commit ``changes`` on main as this unit of work sees it.

        If another process publishes a release first, the unit of work's publication
        fails and the whole unit is run again on the newer main (:mod:`qms.uow`).
        """
        old = self.head(MAIN)
        changes = {**self.main_file_changes(old), **changes}
        return self.commit_on(
            MAIN, changes, message, author, old, extra_parents, when=when, sign=True
        )

    def main_file_changes(self, commit: str | None) -> dict[str, str]:
        """Return the blobs of :attr:`main_files` that ``commit`` holds otherwise."""
        changes = {}
        for path, content in self.main_files.items():
            blob = self.write_blob(content)
            if commit is None or self.blob_id(commit, path) != blob:
                changes[path] = blob
        return changes

    def create_tag(self, name: str, commit: str, message: str, tagger: Person) -> str:
        """Queue the annotated tag ``name`` on ``commit``; tags are immutable, so it must be new.

        The tag object is written with plumbing; the ref moves with the unit of work.
        """
        tag = self.build_tag(name, commit, message, tagger)
        self.update_ref(f"refs/tags/{name}", tag, None)
        return tag

    def delete_ref(self, ref: str) -> None:
        """Queue deleting ``ref`` if it exists."""
        old = (
            self.ref_value(ref)
            if self.pending is None or ref not in self.pending
            else (self.pending[ref][1])
        )
        if old is not None:
            self.update_ref(ref, None, old)

    # -- batches, backups and mirrors ----------------------------------------------------

    def build_commit(
        self,
        base: str | None,
        changes: dict[str, str | None],
        message: str,
        author: Person,
        when: datetime | None = None,
    ) -> str:
        """Write a commit of ``changes`` on top of ``base`` without moving any ref.

        The caller moves refs later with :meth:`update_refs`, so a batch can be prepared
        in full and published in one step, or dropped with nothing to undo.
        """
        tree = self._write_tree(base, changes)
        return self._commit_tree(tree, [base] if base else [], message, author, when)

    def build_tag(self, name: str, commit: str, message: str, tagger: Person) -> str:
        """Write an annotated tag object for ``commit`` and return its id; no ref is made."""
        stamp = int(time.time())
        content = (
            f"object {commit}\ntype commit\ntag {name}\n"
            f"tagger {tagger.name} <{tagger.email}> {stamp} +0000\n\n{message.strip()}\n"
        ).encode()
        if self.signing_key:
            # git verify-tag reads a signature appended to the message (what tag -s writes).
            content += self.ssh_sign(content)
        return self._store(b"tag", content)

    def publish_refs(self, updates: list[tuple[str, str | None, str | None]]) -> None:
        """Move several refs in one all-or-nothing transaction: ``(ref, new, old)`` each.

        ``old`` None means the ref must not exist yet; ``new`` None deletes it. Raises
        :class:`RefConflict` when any ref is not where the caller expects, and then no
        ref has moved.
        """
        # "delete REF" without an old value: deleting what is already gone is no conflict
        # (git refuses an empty old value as a "zero <oldvalue>").
        lines = "".join(
            (f"delete {ref} {old}\n" if old else f"delete {ref}\n")
            if new is None
            else f"update {ref} {new} {old or ZERO}\n"
            for ref, new, old in updates
        )
        if not lines:
            return
        with tempfile.TemporaryFile() as stdin:
            stdin.write(("start\n" + lines + "prepare\ncommit\n").encode("utf-8"))
            stdin.seek(0)
            try:
                self.git.update_ref("--stdin", istream=stdin)
            except GitCommandError as exc:
                raise RefConflict(exc.stderr or str(exc)) from exc

    def create_bundle(self, path: str | os.PathLike) -> None:
        """Write every ref and everything they reach into the git bundle ``path``."""
        try:
            self.git.bundle("create", str(path), "--all")
        except GitCommandError as exc:
            raise GitStoreError(exc.stderr or str(exc)) from exc

    @classmethod
    def from_bundle(cls, bundle: str | os.PathLike, path: str | os.PathLike) -> GitStore:
        """Create a new bare repository at ``path`` holding every ref of ``bundle``.

        Refuses when ``path`` exists and is not empty: a restore never merges into a
        repository that already has history.
        """
        path = Path(path)
        if path.exists() and any(path.iterdir()):
            raise GitStoreError(f"{path} is not empty; a bundle is restored into a new place.")
        path.mkdir(parents=True, exist_ok=True)
        git.Repo.init(path, bare=True, initial_branch="main")
        store = cls(path)
        try:
            store.git.bundle("verify", str(bundle))
            store.git.fetch(str(bundle), "+refs/*:refs/*")
        except GitCommandError as exc:
            raise GitStoreError(exc.stderr or str(exc)) from exc
        return store

    def push(self, url: str, timeout: int = 120) -> None:
        """Push main and every tag to the remote ``url`` (a URL or a path).

        Main is pushed without force: a mirror that went its own way is reported, never
        overwritten. Raises :class:`GitStoreError` with git's message when the push fails.
        """
        env = {"GIT_TERMINAL_PROMPT": "0", "GIT_SSH_COMMAND": "ssh -o BatchMode=yes"}
        try:
            self.git.push(
                "--porcelain",
                url,
                f"{MAIN}:{MAIN}",
                "refs/tags/*:refs/tags/*",
                "refs/qms/*:refs/qms/*",
                env=env,
                kill_after_timeout=timeout,
            )
        except GitCommandError as exc:
            raise GitStoreError((exc.stderr or str(exc)).strip()) from exc


# -- upstream repositories (adopting another installation's documents) ---------------------


def upstream_ref(name: str, ref: str) -> str:
    """Return where an upstream's ``heads/main`` or ``tags/<tag>`` is kept locally."""
    return f"refs/upstream/{name}/{ref}"


def fetch_upstream(store: GitStore, name: str, url: str, timeout: int = 300) -> str | None:
    """Fetch an upstream repository's main and tags under ``refs/upstream/<name>/``.

    Returns the upstream main's commit. Tags are fetched as refs, not into
    ``refs/tags``, so an upstream ``QP-07/B`` never collides with a local one.
    Raises :class:`GitStoreError` with git's message when the fetch fails.
    """
    refspecs = [
        f"+refs/heads/main:{upstream_ref(name, 'heads/main')}",
        f"+refs/tags/*:{upstream_ref(name, 'tags/*')}",
    ]
    # Never wait for a password prompt: a subscription is fetched from a page or cron.
    env = {"GIT_TERMINAL_PROMPT": "0", "GIT_SSH_COMMAND": "ssh -o BatchMode=yes"}
    try:
        # "--" ends the options, so a URL can never be read as one.
        store.git.fetch(
            "--no-tags", "--quiet", "--", url, *refspecs, env=env, kill_after_timeout=timeout
        )
    except GitCommandError as exc:
        raise GitStoreError((exc.stderr or str(exc)).strip()) from exc
    return store.head(upstream_ref(name, "heads/main"))


def upstream_tags(store: GitStore, name: str) -> dict[str, str]:
    """Return an upstream's tags (``QP-07/B``) with the commits they point at."""
    prefix = upstream_ref(name, "tags/")
    return {ref[len(prefix) :]: commit for ref, commit in store.refs(prefix).items()}
