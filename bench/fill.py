"""Fill an instance quickly at ten times a real bureau's size, for bench/run.py.

Run: ``.venv/bin/python bench/fill.py INSTANCE [--scale 1] [--database-url URL]``

Loads the demo through the real ``qms init --demo`` (users, departments, forms in force,
documents in git), then adds the bulk by multi-row inserts in one transaction per table:
at scale 1, 6,800 documents with 8 revisions each, 200,000 records on the demo's forms,
10,000 NCs, 20,000 actions, 500 audits, 1,000 users; English and Chinese text. The bulk
documents' content is not written to git (register, hierarchy and lists read the
database); the document page, history and redline are measured on demo documents.
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

from qms import create_app  # noqa: E402
from qms.auth.models import Department, User, UserRole  # noqa: E402
from qms.documents.models import Document, Revision  # noqa: E402
from qms.extensions import db  # noqa: E402
from qms.improvement.models import Action, Nonconformity  # noqa: E402
from qms.records.models import Record  # noqa: E402

CHUNK = 2000
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


def fill(instance: Path, scale: float, url: str | None) -> dict:
    """Load the demo, then the bulk rows; return how long each part took."""
    timings = {}
    instance.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    subprocess.run(
        [str(ROOT / ".venv/bin/flask"), "--app", "wsgi", "qms", "init", "--demo"],
        cwd=ROOT,
        env=env_for(instance, url),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    timings["demo"] = time.perf_counter() - start
    os.environ.update(env_for(instance, url))
    app = create_app()
    rng = random.Random(12)
    now = datetime.now(UTC)
    today = date.today()
    with app.app_context():
        start = time.perf_counter()
        depts = list(db.session.scalars(select(Department.id)))
        staff = db.session.scalar(select(User).where(User.username == "staff"))
        n_users = int(1000 * scale)
        bulk(
            User,
            [
                dict(
                    username=f"bench{n:05d}",
                    full_name=f"Bench User {n} 用户{n}",
                    password_hash=staff.password_hash,
                    department_id=depts[n % len(depts)],
                    active=True,
                )
                for n in range(n_users)
            ],
        )
        user_ids = list(db.session.scalars(select(User.id).where(User.username.like("bench%"))))
        bulk(UserRole, [dict(user_id=u, role="staff") for u in user_ids])
        people = user_ids or [staff.id]

        # Documents in the bureau's shape: procedures, work instructions under them, forms.
        n_docs = int(6800 * scale)
        n_proc = max(1, n_docs // 20)
        manual = db.session.scalar(select(Document.id).where(Document.doc_type == "manual"))
        docs = []
        for n in range(n_docs):
            kind = "procedure" if n < n_proc else ("work_instruction" if n % 2 else "record_form")
            docs.append(
                dict(
                    code=f"B{kind[0].upper()}-{n:05d}",
                    title=f"{kind.replace('_', ' ').title()} {n}: {phrase(rng)}",
                    doc_type=kind,
                    parent_id=manual if kind == "procedure" else None,
                    department_id=depts[n % len(depts)],
                    status="effective",
                    current_revision="H",
                    effective_date=today - timedelta(days=30),
                    next_review_due=today + timedelta(days=rng.randint(1, 700)),
                )
            )
        bulk(Document, docs)
        ids = dict(
            db.session.execute(
                select(Document.code, Document.id).where(Document.code.like("B%"))
            ).all()
        )
        procs = [ids[d["code"]] for d in docs[:n_proc]]
        # One UPDATE per parent instead of one per child: children spread over procedures.
        for k, parent in enumerate(procs):
            db.session.execute(
                text(
                    "UPDATE document SET parent_id = :p WHERE code LIKE 'B%' AND doc_type <> "
                    "'procedure' AND id % :n = :k"
                ),
                {"p": parent, "n": len(procs), "k": k},
            )
        author = people[0]
        revs = []
        for doc_id in ids.values():
            for k, label in enumerate("ABCDEFGH"):
                revs.append(
                    dict(
                        document_id=doc_id,
                        label=label,
                        status="effective" if label == "H" else "superseded",
                        summary=f"Revision {label}",
                        author_id=author,
                        created_at=now - timedelta(days=400 - 50 * k),
                    )
                )
        bulk(Revision, revs)
        timings["documents"] = time.perf_counter() - start

        start = time.perf_counter()
        forms = list(
            db.session.execute(
                select(
                    Record.form_code, Record.form_title, Record.form_revision, Record.form_commit
                ).distinct()
            )
        )
        n_records = int(200_000 * scale)
        year = today.year
        rows = []
        per_form = {}
        for n in range(n_records):
            code, title, rev, commit = forms[n % len(forms)]
            seq = per_form[code] = per_form.get(code, 10_000) + 1
            rows.append(
                dict(
                    number=f"{code}/{year}/{seq:06d}",
                    form_code=code,
                    form_title=title,
                    form_revision=rev,
                    form_commit=commit,
                    status="submitted",
                    version=1,
                    values={"note": phrase(rng)},
                    department_id=depts[n % len(depts)],
                    submitted_by_id=people[n % len(people)],
                    submitted_at=now - timedelta(minutes=n),
                )
            )
        bulk(Record, rows)
        timings["records"] = time.perf_counter() - start

        start = time.perf_counter()
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
                    department_id=depts[n % len(depts)],
                    raised_by_id=people[n % len(people)],
                    responsible_id=people[(n * 7) % len(people)],
                    state=states[n % len(states)],
                    due_date=today + timedelta(days=n % 60 - 20),
                    raised_at=now - timedelta(hours=n),
                )
                for n in range(n_ncs)
            ],
        )
        nc_ids = list(
            db.session.scalars(select(Nonconformity.id).where(Nonconformity.number.like("NC-%-B%")))
        )
        bulk(
            Action,
            [
                dict(
                    number=f"CA-{year}-B{n:05d}",
                    nonconformity_id=nc_ids[n % len(nc_ids)] if nc_ids else None,
                    action_type="corrective",
                    title=f"Action {n}: {phrase(rng)}",
                    owner_id=people[(n * 3) % len(people)],
                    due_date=today + timedelta(days=n % 90 - 30),
                    created_by_id=people[n % len(people)],
                )
                for n in range(int(20_000 * scale))
            ],
        )
        timings["improvement"] = time.perf_counter() - start
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
        else:
            db.session.execute(text("ANALYZE"))
            db.session.commit()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("instance", type=Path)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    print(fill(args.instance, args.scale, args.database_url))


if __name__ == "__main__":
    main()
