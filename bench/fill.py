"""Fill an instance quickly at ten times a real bureau's size, for bench/run.py.

Run: ``.venv/bin/python bench/fill.py INSTANCE [--scale 1] [--database-url URL]``

Loads the demo through the real ``qms init --demo`` (users, departments, forms in force,
documents in git, a management review, audits), then adds the bulk by multi-row inserts,
in one transaction: at scale 1, 1,000 users; 6,800 documents with 8 revisions each, whose
content, draft commits, release commits on main and release tags are written to git by
one ``git fast-import`` (bench/git_history.py); 200,000 records on the demo's forms with
their versions and indexed values; 10,000 NCs and 20,000 actions; 500 audits over five
years with their checklists; 100 objectives with five years of monthly measurements. Text
is English and Chinese. Then the real reindex builds the search index, type by type.
"""

import argparse
import os
import random
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, select, text  # noqa: E402

from bench import git_history  # noqa: E402
from qms import create_app  # noqa: E402
from qms.audits.models import (  # noqa: E402
    Audit,
    AuditClause,
    AuditDepartment,
    AuditMember,
    AuditQuestion,
)
from qms.auth.models import Department, User, UserRole  # noqa: E402
from qms.documents.models import (  # noqa: E402
    TYPE_FOLDERS,
    Document,
    DocumentClause,
    Revision,
    Signature,
)
from qms.extensions import db  # noqa: E402
from qms.gitstore import MAIN, format_message  # noqa: E402
from qms.improvement.models import Action, Nonconformity  # noqa: E402
from qms.records.models import Record, RecordValue, RecordVersion  # noqa: E402
from qms.reviews.models import Measurement, Objective  # noqa: E402

CHUNK = 2000
LABELS = "ABCDEFGH"
WORDS_EN = [
    "window",
    "applicant",
    "licence",
    "inspection",
    "sample",
    "register",
    "counter",
    "seal",
    "archive",
]
WORDS_ZH = ["窗口", "申请人", "许可", "检验", "样品", "登记", "柜台", "印章", "档案", "受理"]
STEPS_EN = [
    "The officer at the window checks the application against the service guide.",
    "Records are kept for three years and then destroyed under supervision.",
    "Complaints are answered within five working days.",
    "The quality office issues, withdraws and archives controlled copies.",
    "Nonconforming services are identified and controlled to prevent misuse.",
]
STEPS_ZH = [
    "窗口工作人员应当核对申请材料是否齐全。",
    "质量办公室负责文件的编号、发放和回收。",
    "受控文件加盖受控章后方可发放使用。",
    "办理时限自受理之日起计算。",
    "申请人对办理结果有异议的，可以提出复核。",
]
CLAUSES = ["7.5", "8.2.1", "8.5.1", "8.6", "8.7", "9.1.2", "9.2", "10.2"]


def phrase(rng: random.Random, n: int = 4) -> str:
    return (
        " ".join(rng.choice(WORDS_EN) for _ in range(n))
        + " "
        + "".join(rng.choice(WORDS_ZH) for _ in range(2))
    )


def bulk(model, rows) -> None:
    """Insert ``rows`` (dicts) in chunks of multi-row INSERTs."""
    for i in range(0, len(rows), CHUNK):
        db.session.execute(insert(model), rows[i : i + CHUNK])


def env_for(instance: Path, url: str | None) -> dict:
    env = dict(os.environ, QMS_INSTANCE=str(instance), QMS_SECRET_KEY="bench-secret")
    if url:
        env["QMS_DATABASE_URL"] = url
    return env


# -- users -------------------------------------------------------------------------------


def fill_users(scale: float, depts: list[int]) -> list[int]:
    """Add 1,000 users (at scale 1): staff, 5% auditors, 2% authors."""
    staff = db.session.scalar(select(User).where(User.username == "staff"))
    n_users = max(10, int(1000 * scale))
    bulk(
        User,
        [
            dict(
                username=f"bench{n:05d}",
                full_name=f"Bench User {n} 用户{n}",
                email=f"bench{n:05d}@bench.qms.invalid",
                password_hash=staff.password_hash,
                department_id=depts[n % len(depts)],
                active=True,
            )
            for n in range(n_users)
        ],
    )
    ids = list(
        db.session.scalars(
            select(User.id).where(User.username.like("bench%")).order_by(User.username)
        )
    )
    roles = [dict(user_id=u, role="staff") for u in ids]
    roles += [dict(user_id=u, role="auditor") for u in ids[::20]]
    roles += [dict(user_id=u, role="author") for u in ids[1::50]]
    bulk(UserRole, roles)
    return ids


# -- documents ---------------------------------------------------------------------------


def _front_matter(meta: dict) -> str:
    lines = ["---"]
    for key, value in meta.items():
        if key == "fields":
            lines.append("fields:")
            lines += [f"  - {field}" for field in value]
        elif isinstance(value, list):
            lines.append(f"{key}: [{', '.join(repr(str(v)) for v in value)}]")
        else:
            lines.append(f'{key}: "{value}"' if isinstance(value, str) else f"{key}: {value}")
    lines.append("---")
    return "\n".join(lines)


def document_content(meta: dict, k: int, rng: random.Random) -> bytes:
    """Return revision ``k`` of a document: ~20 steps in English and Chinese, some reworded."""
    parts = [_front_matter(meta), "", f"# {meta['title']}", ""]
    for step in range(1, 21):
        # Each revision rewords a few steps, so a redline between two shows changes.
        variant = (step * 7 + (k if step % 5 == k % 5 else 0)) % len(STEPS_EN)
        parts += [
            f"## {step}. {WORDS_EN[step % len(WORDS_EN)].title()} {WORDS_ZH[step % 10]}",
            "",
            f"{STEPS_EN[variant]} {STEPS_ZH[(variant + step) % len(STEPS_ZH)]} "
            f"({meta['code']} {LABELS[k]}.{step})",
            "",
        ]
    if k:
        parts += [f"Revised in revision {LABELS[k]}: {phrase(rng, 6)}", ""]
    return "\n".join(parts).encode("utf-8")


def acknowledge_refs(repo: Path) -> None:
    """Record main and the new tags in ``git_ref``, as a unit of work would.

    The database acknowledges every managed ref it moved (:mod:`qms.uow`); a ref git holds
    elsewhere is taken for the leftover of work that never committed and is put back, so
    without this the next release would move main back to the demo's head.
    """
    from sqlalchemy import update

    from qms.models import GitRef

    out = subprocess.run(
        ["git", "for-each-ref", "--format=%(refname) %(objectname)", MAIN, "refs/tags/B"],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    refs = dict(line.split(" ", 1) for line in out.splitlines())
    db.session.execute(update(GitRef).where(GitRef.name == MAIN).values(commit=refs.pop(MAIN)))
    bulk(GitRef, [dict(name=name, commit=value) for name, value in refs.items()])


def fill_documents(scale: float, instance: Path, depts: dict[int, str]) -> dict:
    """Add the bulk register with eight released revisions each, content in git."""
    timings = {}
    start = time.perf_counter()
    rng = random.Random(12)
    today = date.today()
    author = db.session.scalar(select(User).where(User.username == "author"))
    mrep = db.session.scalar(select(User).where(User.username == "mrep"))
    manual = db.session.scalar(select(Document).where(Document.doc_type == "manual"))
    dept_ids = list(depts)
    n_docs = max(20, int(6800 * scale))
    n_proc = max(1, n_docs // 20)
    docs = []
    for n in range(n_docs):
        kind = "procedure" if n < n_proc else ("work_instruction" if n % 2 else "record_form")
        prefix = {"procedure": "BP", "work_instruction": "BW", "record_form": "BR"}[kind]
        code = f"{prefix}-{n:05d}"
        docs.append(
            dict(
                code=code,
                kind=kind,
                title=f"{kind.replace('_', ' ').title()} {n}: {phrase(rng)}",
                parent=manual.code if kind == "procedure" else f"BP-{n % n_proc:05d}",
                department_id=dept_ids[n % len(dept_ids)],
                clause=CLAUSES[n % len(CLAUSES)],
                # The newest revision took effect 20 to 220 days ago, each before it ~100 earlier.
                last=today - timedelta(days=20 + n % 200),
            )
        )
    releases = []
    for d in docs:
        for k, label in enumerate(LABELS):
            meta = {
                "code": d["code"],
                "title": d["title"],
                "type": d["kind"],
                "parent": d["parent"],
                "department": depts[d["department_id"]],
                "clauses": [d["clause"]],
                "review_interval_months": 12,
                "summary": f"Revision {label}: {phrase(rng, 3)}",
            }
            if d["kind"] == "record_form":
                meta["retention_years"] = 3
                meta["fields"] = [
                    "{key: date, label: Date, type: date, required: true}",
                    "{key: window, label: Window 窗口, type: text, max_length: 20}",
                    "{key: note, label: Note 备注, type: textarea, max_length: 2000}",
                ]
            effective = d["last"] - timedelta(days=100 * (7 - k))
            path = f"{TYPE_FOLDERS[d['kind']]}/{d['code']}.md"
            content = document_content(meta, k, rng)
            rel = git_history.Release(
                code=d["code"],
                label=label,
                path=path,
                content=content,
                effective=effective,
                subject="",
                message="",
                tag_message="",
                author=(author.display_name, author.email or "author@demo.qms.invalid"),
                releaser=(mrep.display_name, mrep.email or "mrep@demo.qms.invalid"),
                extra={"summary": meta["summary"]},
            )
            rel.blob = git_history.blob_id(content)
            signed = datetime.combine(effective - timedelta(days=3), datetime.min.time(), UTC)
            rel.extra["signed"] = signed
            trailers = [
                ("Document", d["code"]),
                ("Revision", label),
                ("Previous-Revision", LABELS[k - 1] if k else None),
                ("Title", d["title"]),
                ("Type", d["kind"]),
                ("Effective-Date", effective.isoformat()),
                ("Authored-by", f"{rel.author[0]} <{rel.author[1]}>"),
                (
                    "Approved-by",
                    f"{rel.releaser[0]} <{rel.releaser[1]}> {signed:%Y-%m-%dT%H:%M:%SZ}",
                ),
                ("Content-Blob", rel.blob),
            ]
            rel.message = format_message(
                f"Release {d['code']} revision {label}: {d['title']}", meta["summary"], trailers
            )
            rel.tag_message = format_message(
                f"{d['code']} revision {label}",
                trailers=[
                    ("Document", d["code"]),
                    ("Revision", label),
                    ("Path", path),
                    ("Content-Blob", rel.blob),
                ],
            )
            releases.append(rel)
    timings["documents: content"] = time.perf_counter() - start

    repo = instance / "documents.git"
    main_head = subprocess.run(
        ["git", "rev-parse", MAIN], cwd=repo, check=True, capture_output=True, text=True
    ).stdout.strip()
    start = time.perf_counter()
    git_history.write(repo, releases, main_head)
    timings["documents: git fast-import"] = time.perf_counter() - start
    acknowledge_refs(repo)

    start = time.perf_counter()
    by_code = {}
    for rel in releases:
        by_code.setdefault(rel.code, []).append(rel)

    def doc_row(d, parent_id):
        last = by_code[d["code"]][-1]
        return dict(
            code=d["code"],
            title=d["title"],
            doc_type=d["kind"],
            parent_id=parent_id,
            department_id=d["department_id"],
            status="effective",
            current_revision="H",
            effective_date=last.effective,
            review_interval_months=12,
            next_review_due=last.effective + timedelta(days=365),
        )

    procs = [d for d in docs if d["kind"] == "procedure"]
    bulk(Document, [doc_row(d, manual.id) for d in procs])
    ids = dict(
        db.session.execute(
            select(Document.code, Document.id).where(Document.code.like("BP-%"))
        ).all()
    )
    bulk(Document, [doc_row(d, ids[d["parent"]]) for d in docs if d["kind"] != "procedure"])
    ids = dict(
        db.session.execute(
            select(Document.code, Document.id).where(Document.code.like("B_-%"))
        ).all()
    )
    bulk(DocumentClause, [dict(document_id=ids[d["code"]], clause=d["clause"]) for d in docs])
    revs = []
    for code, rels in by_code.items():
        for k, rel in enumerate(rels):
            released = datetime.combine(rel.effective, datetime.min.time(), UTC) - timedelta(days=1)
            revs.append(
                dict(
                    document_id=ids[code],
                    label=rel.label,
                    status="effective" if k == len(rels) - 1 else "superseded",
                    summary=rel.extra["summary"],
                    author_id=author.id,
                    head_commit=rel.draft_commit,
                    blob_id=rel.blob,
                    release_commit=rel.release_commit,
                    effective_date=rel.effective,
                    created_at=released - timedelta(days=10),
                    submitted_at=released - timedelta(days=5),
                    released_at=released,
                    released_by_id=mrep.id,
                )
            )
    bulk(Revision, revs)
    rev_ids = {
        (doc_id, label): rid
        for rid, doc_id, label in db.session.execute(
            select(Revision.id, Revision.document_id, Revision.label).where(
                Revision.document_id.in_(select(Document.id).where(Document.code.like("B_-%")))
            )
        )
    }
    sigs = []
    for code, rels in by_code.items():
        for rel in rels:
            rid = rev_ids[(ids[code], rel.label)]
            signed = rel.extra["signed"]
            sigs.append(
                dict(
                    revision_id=rid,
                    user_id=author.id,
                    meaning="authored",
                    signed_at=signed - timedelta(days=2),
                    blob_id=rel.blob,
                )
            )
            sigs.append(
                dict(
                    revision_id=rid,
                    user_id=mrep.id,
                    meaning="approved",
                    signed_at=signed,
                    blob_id=rel.blob,
                )
            )
    bulk(Signature, sigs)
    timings["documents: database"] = time.perf_counter() - start
    return timings


# -- records -----------------------------------------------------------------------------


def _flat_values(values: dict):
    for key, value in values.items():
        if isinstance(value, list):
            for row in value:
                if isinstance(row, dict):
                    for column, cell in row.items():
                        if cell not in (None, ""):
                            yield f"{key}.{column}", str(cell)[:500]
        elif value not in (None, ""):
            yield key, str(value)[:500]


def fill_records(scale: float, people: list[int], depts: list[int]) -> None:
    """Add records on the demo's forms, each a copy of a demo record with its own values."""
    rng = random.Random(13)
    now = datetime.now(UTC)
    year = date.today().year
    templates = {}
    for record in db.session.scalars(select(Record).order_by(Record.id)):
        templates.setdefault(record.form_code, []).append(
            (record.form_title, record.form_revision, record.form_commit, record.values)
        )
    forms = sorted(templates)
    n_records = int(200_000 * scale)
    rows, per_form = [], {}
    for n in range(n_records):
        code = forms[n % len(forms)]
        title, rev, commit, values = templates[code][n % len(templates[code])]
        values = dict(values)
        # Vary the text values: a case number, a window, a name in English or Chinese.
        for key, value in values.items():
            if isinstance(value, str) and key.endswith(("_no", "number")):
                values[key] = f"{year}{n:08d}"
            elif key in ("window_no", "window"):
                values[key] = str(1 + n % 250)
            elif key.endswith("name"):
                values[key] = rng.choice(["Li Wei", "王芳", "Zhang Min", "陈静", "Hengtai 贸易"])
        seq = per_form[code] = per_form.get(code, 100_000) + 1
        rows.append(
            dict(
                number=f"{code}/{year}/{seq:06d}",
                form_code=code,
                form_title=title,
                form_revision=rev,
                form_commit=commit,
                status="submitted",
                version=1,
                values=values,
                department_id=depts[n % len(depts)],
                submitted_by_id=people[n % len(people)],
                submitted_at=now - timedelta(minutes=3 * n),
            )
        )
    for i in range(0, len(rows), CHUNK * 5):
        part = rows[i : i + CHUNK * 5]
        bulk(Record, part)
        ids = dict(
            db.session.execute(
                select(Record.number, Record.id).where(
                    Record.number.in_([r["number"] for r in part])
                )
            ).all()
        )
        bulk(
            RecordVersion,
            [
                dict(
                    record_id=ids[r["number"]],
                    version=1,
                    values=r["values"],
                    created_by_id=r["submitted_by_id"],
                    created_at=r["submitted_at"],
                )
                for r in part
            ],
        )
        bulk(
            RecordValue,
            [
                dict(record_id=ids[r["number"]], key=key, value=value)
                for r in part
                for key, value in _flat_values(r["values"])
            ],
        )


# -- improvement -------------------------------------------------------------------------


def fill_improvement(scale: float, people: list[int], depts: list[int]) -> None:
    rng = random.Random(14)
    now = datetime.now(UTC)
    today = date.today()
    year = today.year
    n_ncs = int(10_000 * scale)
    states = [
        "reported",
        "containment",
        "analysis",
        "action_plan",
        "implementation",
        "effectiveness_check",
        "closed",
    ]
    bulk(
        Nonconformity,
        [
            dict(
                number=f"NC-{year - n % 5}-B{n:05d}",
                title=f"Nonconformity {n}: {phrase(rng)}",
                description=phrase(rng, 12),
                source="staff_report",
                clause=CLAUSES[n % len(CLAUSES)],
                department_id=depts[n % len(depts)],
                raised_by_id=people[n % len(people)],
                responsible_id=people[(n * 7) % len(people)],
                state=states[n % len(states)],
                due_date=today + timedelta(days=n % 60 - 20),
                raised_at=now - timedelta(hours=n),
                closed_at=now - timedelta(hours=n) + timedelta(days=20)
                if states[n % len(states)] == "closed"
                else None,
            )
            for n in range(n_ncs)
        ],
    )
    nc_ids = list(
        db.session.scalars(
            select(Nonconformity.id)
            .where(Nonconformity.number.like("NC-%-B%"))
            .order_by(Nonconformity.id)
        )
    )
    action_states = ["planned", "in_progress", "done", "verified_effective"]
    bulk(
        Action,
        [
            dict(
                number=f"CA-{year}-B{n:05d}",
                nonconformity_id=nc_ids[n % len(nc_ids)] if nc_ids else None,
                action_type="corrective" if n % 3 else "correction",
                title=f"Action {n}: {phrase(rng)}",
                owner_id=people[(n * 3) % len(people)],
                due_date=today + timedelta(days=n % 90 - 30),
                state=action_states[n % len(action_states)],
                created_by_id=people[n % len(people)],
            )
            for n in range(int(20_000 * scale))
        ],
    )


# -- audits ------------------------------------------------------------------------------


def fill_audits(scale: float, people: list[int], depts: list[int]) -> None:
    """Add 500 audits over five years (at scale 1), each with a 30-question checklist."""
    rng = random.Random(15)
    today = date.today()
    auditors = list(db.session.scalars(select(UserRole.user_id).where(UserRole.role == "auditor")))
    n_audits = max(5, int(500 * scale))
    rows = []
    for n in range(n_audits):
        year = today.year - n % 5
        start = date(year, 1 + n % 12, 1 + n % 27)
        past = start < today - timedelta(days=30)
        rows.append(
            dict(
                ref=f"IA-{year}-B{n:04d}",
                year=year,
                title=f"Internal audit {n}: {phrase(rng, 3)}",
                audit_type="internal",
                state="closed" if past else ("planned" if start > today else "in_progress"),
                objectives="Conformity of the service process 服务过程的符合性",
                scope=f"Department {n % len(depts)}",
                lead_auditor_id=auditors[n % len(auditors)],
                planned_start=start,
                planned_end=start + timedelta(days=2),
                created_by_id=auditors[n % len(auditors)],
                closed_at=datetime.combine(start, datetime.min.time(), UTC) + timedelta(days=20)
                if past
                else None,
            )
        )
    bulk(Audit, rows)
    ids = dict(
        db.session.execute(select(Audit.ref, Audit.id).where(Audit.ref.like("IA-%-B%"))).all()
    )
    members, departments, clauses, questions = [], [], [], []
    results = ["conforming"] * 8 + ["observation", "minor_nc"]
    for n, row in enumerate(rows):
        audit_id = ids[row["ref"]]
        members.append(dict(audit_id=audit_id, user_id=row["lead_auditor_id"], role="lead"))
        members.append(dict(audit_id=audit_id, user_id=people[n % len(people)], role="auditee"))
        departments.append(dict(audit_id=audit_id, department_id=depts[n % len(depts)]))
        for c in {CLAUSES[n % len(CLAUSES)], CLAUSES[(n + 3) % len(CLAUSES)]}:
            clauses.append(dict(audit_id=audit_id, clause=c))
        closed = row["state"] == "closed"
        for seq in range(1, 31):
            questions.append(
                dict(
                    audit_id=audit_id,
                    seq=seq,
                    source="checklist",
                    source_ref=f"{CLAUSES[seq % len(CLAUSES)]}-{seq}",
                    clause=CLAUSES[seq % len(CLAUSES)],
                    text=f"Is {WORDS_EN[seq % 9]} controlled? {WORDS_ZH[seq % 10]}是否受控？",
                    result=results[(n + seq) % len(results)] if closed else None,
                    evidence=phrase(rng, 6) if closed else "",
                    records=[],
                    answered_by_id=row["lead_auditor_id"] if closed else None,
                )
            )
    bulk(AuditMember, members)
    bulk(AuditDepartment, departments)
    bulk(AuditClause, clauses)
    bulk(AuditQuestion, questions)


# -- objectives --------------------------------------------------------------------------


def fill_objectives(scale: float, people: list[int]) -> None:
    """Add 100 objectives (at scale 1), each measured monthly for the last five years."""
    rng = random.Random(16)
    today = date.today()
    n_obj = max(2, int(100 * scale))
    bulk(
        Objective,
        [
            dict(
                name=f"Objective {n}: {phrase(rng, 3)}",
                unit="%",
                target=90.0 + n % 9,
                direction="higher",
                frequency="monthly",
                source="manual",
                method="Cases on time / cases, from the case system. 按月统计。",
                owner_id=people[n % len(people)],
                active=True,
            )
            for n in range(n_obj)
        ],
    )
    ids = list(db.session.scalars(select(Objective.id).where(Objective.name.like("Objective %"))))
    periods = []
    y, m = today.year, today.month
    for _ in range(60):
        m -= 1
        if m == 0:
            y, m = y - 1, 12
        periods.append(f"{y}-{m:02d}")
    bulk(
        Measurement,
        [
            dict(
                objective_id=oid,
                period=period,
                value=round(85 + rng.random() * 15, 1),
                note="",
                origin="browser",
                entered_by_id=people[oid % len(people)],
            )
            for oid in ids
            for period in periods
        ],
    )


def build_index() -> dict:
    """Build the search index through the real reindex, one type at a time.

    For records, two lookups are answered from memory instead of the database: the form
    definition, once per form revision, and the display names of the users and providers
    a record's values name. Reindex asks the database five times a record for them (about
    3 ms a record on this machine, so ten minutes at 200,000 records, most of the fill);
    the entries it writes are the same.
    """
    from qms.records import services as records
    from qms.search import services as search
    from qms.suppliers import services as suppliers
    from qms.suppliers.models import Supplier

    timings = {}
    plain_definition, plain_names = records.record_definition, records.names
    memo: dict = {}
    users = {u.username: u.display_name for u in db.session.scalars(select(User))}
    providers = suppliers.names_of(list(db.session.scalars(select(Supplier.number))))

    def record_definition(record):
        key = (record.form_code, record.form_revision)
        if key not in memo:
            memo[key] = plain_definition(record)
        return memo[key]

    def names(values: dict) -> dict:
        strings = set()
        for value in values.values():
            cells = value if isinstance(value, list) else [value]
            for cell in cells:
                if isinstance(cell, dict):
                    strings.update(v for v in cell.values() if isinstance(v, str))
                elif isinstance(cell, int) and not isinstance(cell, bool):
                    return plain_names(values)  # an attachment: as reindex does
                elif isinstance(cell, str):
                    strings.add(cell)
        out = {("user", s): users[s] for s in strings if s in users}
        out.update({("supplier", s): providers[s] for s in strings if s in providers})
        return out

    records.record_definition, records.names = record_definition, names
    try:
        for type in list(search.PROVIDERS):
            start = time.perf_counter()
            search.reindex([type])
            timings[f"search index: {type}"] = time.perf_counter() - start
    finally:
        records.record_definition, records.names = plain_definition, plain_names
    return timings


def fill(instance: Path, scale: float, url: str | None) -> dict:
    """Load the demo, then the bulk rows and history; return how long each part took."""
    timings = {}
    instance.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    flask = [str(ROOT / ".venv/bin/flask"), "--app", "wsgi", "qms"]
    subprocess.run(
        [*flask, "init", "--demo"],
        cwd=ROOT,
        env=env_for(instance, url),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    timings["demo"] = time.perf_counter() - start
    os.environ.update(env_for(instance, url))
    app = create_app()
    with app.app_context():
        depts = dict(db.session.execute(select(Department.id, Department.name)).all())
        dept_ids = list(depts)
        start = time.perf_counter()
        people = fill_users(scale, dept_ids)
        timings["users"] = time.perf_counter() - start
        timings.update(fill_documents(scale, instance, depts))
        steps = [
            ("records", lambda: fill_records(scale, people, dept_ids)),
            ("improvement", lambda: fill_improvement(scale, people, dept_ids)),
            ("audits", lambda: fill_audits(scale, people, dept_ids)),
            ("objectives", lambda: fill_objectives(scale, people)),
        ]
        for name, step in steps:
            start = time.perf_counter()
            step()
            timings[name] = time.perf_counter() - start
        start = time.perf_counter()
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
        else:
            db.session.execute(text("ANALYZE"))
            db.session.commit()
        timings["commit and analyse"] = time.perf_counter() - start
        timings.update(build_index())
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("instance", type=Path)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    for name, seconds in fill(args.instance, args.scale, args.database_url).items():
        print(f"{name:30} {seconds:7.1f} s")


if __name__ == "__main__":
    main()
