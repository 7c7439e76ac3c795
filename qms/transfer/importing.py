"""Turn a folder or zip of an existing system's files into one import batch.

Each file gets its code, title and type from the mapping CSV (columns ``file, code,
title, type`` and optionally ``parent, department``) or else from its name by a pattern
(``QP-07 Document control.docx``); parents follow from the code structure. Files are
converted by pandoc in worker threads. :func:`prepare` is the dry run: it lists what
would be created and every problem by file name; :func:`run` imports the batch through
:func:`qms.documents.services.import_documents`, all or nothing.
"""

from __future__ import annotations

import csv
import io
import os
import re
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path, PurePosixPath

from flask import current_app
from flask_babel import gettext as _

from qms import render
from qms.documents import services as documents
from qms.errors import ValidationFailed
from qms.extensions import db
from qms.text import clean as clean_text

# "QP-07 Document control", "WI-07-03 Filing", "DOC-001 - Terms and Definitions".
DEFAULT_PATTERN = (
    r"^(?P<code>[A-Za-z]{1,5}-\d{1,4}(?:[-.]\d{1,4}){0,3})(?:\s*[-–—_]\s*|\s+)(?P<title>.+)$"
)
# Code prefix -> type. QM/QP/WI/RF is the usual Chinese bureau numbering; SOP/DOC/REC is
# the common English one (DOC- documents support the procedures, like work instructions).
# Anything else is an external document. QMS_IMPORT_TYPES in the config overrides.
DEFAULT_TYPES = {
    "QM": "manual",
    "QP": "procedure",
    "WI": "work_instruction",
    "RF": "record_form",
    "SOP": "procedure",
    "DOC": "work_instruction",
    "REC": "record_form",
}
MAX_FILE_BYTES = 50 * 1024 * 1024
_SKIP = re.compile(r"(^|/)(\.|~\$|__MACOSX/)")

Progress = Callable[[str, int, int], None]


@dataclass
class PlanItem:
    """What one file will become, and what stops it."""

    source: str
    code: str = ""
    title: str = ""
    doc_type: str = ""
    parent: str | None = None
    department: str | None = None
    images: int = 0
    problems: list[str] = field(default_factory=list)


@dataclass
class Plan:
    """The dry run: one entry per importable file, and the files left aside."""

    items: list[PlanItem] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def problem_count(self) -> int:
        return len(self.problems) + sum(1 for item in self.items if item.problems)

    @property
    def ok(self) -> bool:
        return bool(self.items) and self.problem_count == 0

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Plan:
        return cls(
            items=[PlanItem(**item) for item in data.get("items", [])],
            skipped=list(data.get("skipped", [])),
            problems=list(data.get("problems", [])),
        )


# -- reading the source ------------------------------------------------------------------


def source_files(path: str | os.PathLike) -> Iterator[tuple[str, Callable[[], bytes]]]:
    """Yield (name relative to the source, reader) for each file of a folder or zip."""
    path = Path(path)
    if path.is_dir():
        for file in sorted(p for p in path.rglob("*") if p.is_file()):
            name = file.relative_to(path).as_posix()
            if not _SKIP.search(name):
                yield name, file.read_bytes
    elif zipfile.is_zipfile(path):
        archive = zipfile.ZipFile(path)
        for info in sorted(archive.infolist(), key=lambda i: i.filename):
            # Names in a zip made on Windows may use backslashes; never trust them as paths.
            name = PurePosixPath(info.filename.replace("\\", "/")).as_posix().lstrip("/")
            if info.is_dir() or _SKIP.search(name):
                continue
            if info.file_size > MAX_FILE_BYTES:
                yield name, _too_big(name)
            else:
                yield name, (lambda info=info: archive.read(info))
    else:
        raise ValidationFailed(
            _("%(path)s is neither a folder nor a zip file.", path=str(path)), field="source"
        )


def _too_big(name: str) -> Callable[[], bytes]:
    def reader() -> bytes:
        raise render.RenderError(
            _("%(name)s is larger than %(mb)s MB.", name=name, mb=MAX_FILE_BYTES // 2**20)
        )

    return reader


def read_mapping(data: bytes) -> tuple[dict[str, dict[str, str]], list[str]]:
    """Read a mapping CSV into {file name: row}; return it with the problems found."""
    problems: list[str] = []
    try:
        text = clean_text(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        return {}, [_("The mapping file is not UTF-8 text.")]
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    columns = {(c or "").strip().lower() for c in reader.fieldnames or ()}
    missing = [c for c in ("file", "code") if c not in columns]
    if missing:
        return {}, [
            _("The mapping file needs the columns %(columns)s.", columns=", ".join(missing))
        ]
    rows: dict[str, dict[str, str]] = {}
    for number, raw in enumerate(reader, start=2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items()}
        name = row.get("file", "")
        if not name:
            problems.append(_("Line %(line)s of the mapping names no file.", line=number))
        elif name in rows:
            problems.append(
                _("Line %(line)s of the mapping names %(file)s again.", line=number, file=name)
            )
        else:
            rows[name] = row
    return rows, problems


def type_map() -> dict[str, str]:
    """Return the code prefix -> type map: the defaults, overridden by QMS_IMPORT_TYPES."""
    return {**DEFAULT_TYPES, **(current_app.config.get("QMS_IMPORT_TYPES") or {})}


def type_for(code: str, types: dict[str, str]) -> str:
    prefix = re.match(r"[A-Za-z]*", code).group().upper()
    return types.get(prefix, "external")


# -- parents from the code structure -----------------------------------------------------


def _numbers(code: str) -> tuple[str, ...]:
    """Return the numeric part of a code: WI-07-03 -> ("07", "03")."""
    rest = code.split("-", 1)[1] if "-" in code else ""
    return tuple(part for part in re.split(r"[-.]", rest) if part)


def derive_parents(items: list[PlanItem], existing: dict[str, str]) -> None:
    """Fill in the parent of each item that has none, from its code.

    WI-07-03 sits under the procedure numbered 07 (QP-07), RF-07-03-01 under the work
    instruction 07-03 or else the procedure 07; a procedure sits under the manual when
    there is exactly one. ``existing`` is {code: type} of the register, which counts too.
    """
    known = dict(existing)
    known.update({item.code: item.doc_type for item in items if item.code})
    by_numbers: dict[tuple[str, ...], list[tuple[str, str]]] = {}
    for code, doc_type in known.items():
        by_numbers.setdefault(_numbers(code), []).append((code, doc_type))
    manuals = [code for code, doc_type in known.items() if doc_type == "manual"]
    for item in items:
        allowed = documents.PARENT_TYPES.get(item.doc_type)
        if item.parent or not item.code or allowed is None:
            continue
        numbers = _numbers(item.code)
        for length in range(len(numbers) - 1, 0, -1):
            candidates = [
                code
                for code, doc_type in by_numbers.get(numbers[:length], [])
                if doc_type in allowed and code != item.code
            ]
            if len(candidates) == 1:
                item.parent = candidates[0]
                break
        if item.parent is None and "manual" in allowed and len(manuals) == 1:
            item.parent = manuals[0] if manuals[0] != item.code else None


# -- the dry run and the import ----------------------------------------------------------


@dataclass
class Prepared:
    plan: Plan
    items: list[documents.ImportItem]


def prepare(
    source: str | os.PathLike,
    mapping: bytes | None = None,
    pattern: str | None = None,
    types: dict[str, str] | None = None,
    progress: Progress | None = None,
    check: bool = True,
) -> Prepared:
    """Read and convert every file of ``source``; return the plan and the batch.

    With ``check`` the rules of document control are applied too (the dry run); without,
    :func:`run` leaves that to the import itself. Never writes anything.
    """
    report = progress or (lambda stage, done, total: None)
    plan = Plan()
    types = {**type_map(), **(types or {})}
    try:
        regex = re.compile(pattern or DEFAULT_PATTERN)
    except re.error as exc:
        raise ValidationFailed(
            _("The file-name pattern is not a valid regular expression: %(error)s", error=exc),
            field="pattern",
        ) from exc
    if "code" not in regex.groupindex:
        raise ValidationFailed(
            _("The file-name pattern needs a group named code: (?P<code>…)."), field="pattern"
        )
    rows, mapping_problems = read_mapping(mapping) if mapping is not None else ({}, [])
    plan.problems.extend(mapping_problems)

    files: list[tuple[PlanItem, Callable[[], bytes]]] = []
    for name, reader in source_files(source):
        if PurePosixPath(name).suffix.lower() not in render.IMPORT_FORMATS:
            plan.skipped.append(name)
            continue
        item = PlanItem(source=name)
        stem = PurePosixPath(name).stem
        row = rows.pop(name, None) or rows.pop(PurePosixPath(name).name, None)
        if row is not None:
            item.code = row.get("code", "")
            item.title = row.get("title", "")
            item.doc_type = row.get("type", "") or type_for(item.code, types)
            item.parent = row.get("parent") or None
            item.department = row.get("department") or None
        elif mapping is not None:
            item.problems.append(_("The mapping file does not name this file."))
        else:
            match = regex.match(stem)
            if match is None:
                item.problems.append(
                    _("The file name does not match the pattern, so it gives no code.")
                )
            else:
                item.code = match.group("code").strip()
                if "title" in regex.groupindex and match.group("title"):
                    item.title = match.group("title").strip()
                item.doc_type = type_for(item.code, types)
        files.append((item, reader))
    for name in rows:
        plan.problems.append(_("The mapping names %(file)s, which is not there.", file=name))
    plan.items = [item for item, _reader in files]

    existing = {doc.code: doc.doc_type for doc in db.session.scalars(documents.list_documents())}
    derive_parents(plan.items, existing)

    def convert(pair: tuple[PlanItem, Callable[[], bytes]]):
        item, reader = pair
        try:
            data = reader()
            prefix = f"{item.code or 'document'}/media"
            # A record form's table is read back for its proposed fields: a pipe table
            # comes back cell by cell, a multiline one does not always.
            form = item.doc_type == "record_form"
            result = render.convert_to_markdown(data, item.source, prefix, pipe_tables=form)
            # A NUL or lone surrogate would be stored by SQLite only (see qms.text).
            cleaned = {"body": result.body, "title": result.title, "meta": result.meta}
            return data, replace(result, **clean_text(cleaned))
        except (render.RenderError, OSError, zipfile.BadZipFile) as exc:
            return None, exc

    batch: list[documents.ImportItem] = []
    with ThreadPoolExecutor(max_workers=min(8, (os.cpu_count() or 2) * 2)) as pool:
        for done, ((item, _reader), (data, result)) in enumerate(
            zip(files, pool.map(convert, files), strict=True), start=1
        ):
            report("converting", done, len(files))
            if data is None:
                item.problems.append(_("The file cannot be read: %(error)s", error=str(result)))
                continue
            item.title = item.title or result.title or PurePosixPath(item.source).stem
            item.images = len(result.images)
            prefix = f"{item.code or 'document'}/"
            files_in_folder = {
                key.removeprefix(prefix): blob for key, blob in result.images.items()
            }
            # The original is kept in the repository beside the document, not under the
            # instance: it then travels with every clone, mirror and backup bundle, and
            # the import commit (tagged, signed for) covers exactly those bytes.
            files_in_folder[f"original/{PurePosixPath(item.source).name}"] = data
            batch.append(
                documents.ImportItem(
                    code=item.code,
                    title=item.title,
                    doc_type=item.doc_type,
                    body=result.body,
                    files=files_in_folder,
                    parent=item.parent,
                    department=item.department,
                    meta=result.meta,
                    source=item.source,
                )
            )
    if check:
        readable = [item for item in plan.items if item.code and not item.problems]
        by_source = {item.source: item for item in readable}
        checked = [b for b in batch if b.source in by_source]
        found = documents.check_import(checked, lambda done, total: report("checking", done, total))
        for entry, problems in zip(checked, found, strict=True):
            by_source[entry.source].problems.extend(problems)
    if not plan.items:
        plan.problems.append(_("There is no DOCX, ODT, HTML or Markdown file to import."))
    return Prepared(plan, batch)


def run(
    actor,
    source: str | os.PathLike,
    mapping: bytes | None = None,
    pattern: str | None = None,
    types: dict[str, str] | None = None,
    progress: Progress | None = None,
) -> tuple[str, Prepared]:
    """Import every file of ``source`` in one batch; return the commit and what was done.

    :raises ValidationFailed: any file has a problem (``detail`` names them by file);
        nothing is imported then.
    """
    prepared = prepare(source, mapping, pattern, types, progress, check=False)
    failed = {item.source: item.problems for item in prepared.plan.items if item.problems}
    if prepared.plan.problems or failed or not prepared.items:
        raise ValidationFailed(
            _(
                "Nothing was imported: %(count)s problems stop the import.",
                count=prepared.plan.problem_count,
            ),
            field="files",
            detail={**failed, **({"": prepared.plan.problems} if prepared.plan.problems else {})},
        )
    commit = documents.import_documents(actor, prepared.items, progress)
    return commit, prepared
